"""Answering a query: parse it, encode it, look it up, return typed hits.

``query`` parses what the user typed; ``searcher`` runs text, image and concept searches;
``vector_index`` wraps hnswlib under ``rwlock`` (add and query are not safe together);
``index_store`` keeps the index in step with the catalog and rebuilds it from there;
``index_persistence`` saves and loads the two index files atomically; ``index_files``,
``index_format`` and ``index_manifest`` check them before anything trusts them.

May import: ``catalog``, ``clip``, ``files``, ``organize.concepts``, the top-level records.
"""
