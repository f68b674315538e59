"""What touches photo files, and only reads them: PhotoClip never writes a photo.

``scanner`` walks folders; ``imaging`` decodes safely under ``decode_budget`` (bounded
memory whatever a file claims); ``thumbnails`` caches small previews; ``xmp`` reads and
writes sidecars; ``atomic`` is the one way PhotoClip writes any file (temp, fsync, rename).

May import: ``models``, ``paths``. Never ``catalog``, ``live``, ``organize`` or ``search``.
"""
