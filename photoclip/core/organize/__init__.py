"""Organizing photos with zero-shot CLIP: label sets, tags, albums, concepts.

``labelsets`` reads and saves user label sets; ``tagging`` scores photos against them
(prompt ensembles, abstaining below a margin); ``albums``/``album_book`` and
``concepts``/``concept_book`` keep smart albums and saved concepts; ``organizer`` runs the
tagging passes; ``xmp_sync`` mirrors tags into sidecars.

Receives the catalog, encoder and searcher it works on (``parts``: what ``library.py``
hands in), never the whole ``Library``.
May import: ``catalog``, ``clip``, ``files``, ``search.query``, the top-level records.
"""
