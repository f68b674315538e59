"""Answering a query: parse it, encode it, look it up, return typed hits.

``query`` parses what the user typed; ``searcher`` runs text, image and concept searches;
``vector_index`` wraps hnswlib under ``rwlock`` (add and query are not safe together);
``index_store`` and ``index_files`` keep the index files and rebuild them from the catalog.

May import: ``catalog``, ``clip``, ``files``, ``organize.concepts``, the top-level records.
"""
