"""PhotoClip's core: no Qt, no printing; torch and open_clip are imported lazily.

The rooms (each subpackage's docstring says what lives there and what it may import):

- ``catalog/``  the SQLite catalog, the source of truth: all SQL, migrations, moves, tags
- ``clip/``     the model: loading, download, precision choice, fast layers, ONNX towers
- ``files/``    what touches photo files: scanning, safe decoding, thumbnails, XMP, atomic writes
- ``live/``     keeping up with the disk: watcher, change queue, applying changes, the worker
- ``organize/`` label sets, tagging, albums, concepts, sidecar sync
- ``search/``   queries, the searcher, the HNSW index and its files

At the top: ``library`` (the facade, the one place the core is assembled), ``indexer``
(the single writer's pipeline), ``models`` (plain records passed between rooms),
``paths``, ``settings``, ``lock`` and ``persisted`` (every file PhotoClip writes).
"""
