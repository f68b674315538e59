"""What touches photo files, and only reads them: PhotoClip never writes a photo.

``scanner`` walks folders; ``formats`` knows the file types and opens them;
``imaging`` decodes for the model under ``decode_budget`` (``decode_estimate`` predicts a
decode's peak memory, ``pixels`` converts in bounded bands, ``exif`` reads orientation and
dates): bounded memory whatever a file claims; ``photo_meta`` reads what a photo's headers
say (dates, camera, GPS; no decode) and ``places`` names a GPS position offline;
``thumbnails`` caches small previews; ``xmp`` reads and writes sidecars; ``atomic`` is the
one way PhotoClip writes any file (temp, fsync, rename).

May import: ``models``, ``paths``. Never ``catalog``, ``live``, ``organize`` or ``search``.
"""
