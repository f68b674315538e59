"""The catalog: PhotoClip's source of truth, one SQLite file in WAL mode.

All SQL lives here, and rows come out as typed records. ``store`` opens the file and
holds the entry points; ``moves`` (moves, renames and the trash), ``tags`` (tags,
albums and concepts) and ``migrations`` (named, ordered, backed up first) are its parts;
``damage`` remembers a catalog found unreadable; ``records`` holds the rows the parts share.

May import: ``models``, ``files.atomic``. Never ``live``, ``organize`` or ``search``.
"""
