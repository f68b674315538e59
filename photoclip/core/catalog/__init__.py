"""The catalog: PhotoClip's source of truth, one SQLite file in WAL mode.

All SQL lives here, and rows come out as typed records. ``store`` opens the file and
holds ``Catalog``, the one entry point; its parts are ``connections`` (the writer, the
readers, ``meta``: the base every part builds on), ``reads`` (photos, vectors, counts),
``moves`` (moves, renames and the trash), ``tags`` (tags, albums and concepts),
``meta``/``meta_filters``/``meta_facets`` (what each photo knows, the filters and their
counts), ``text``/``text_search`` (text read in photos, FTS5) and ``migrations`` (named,
ordered, backed up first). ``records`` holds the rows and
converters the parts share, ``errors`` the catalog's errors and their one-line wording,
``damage`` remembers a catalog found unreadable. No part imports ``store``.

May import: ``models``, ``files.atomic``, ``files.places`` (``fold``).
Never ``live``, ``organize`` or ``search``.
"""
