"""Answering a query: parse it, encode it, look it up, return typed hits.

``filters`` reads the filters typed beside the words (``place:Lisbon``, ``-tag:x``,
``sort:date``) and ``date_phrases`` the dates written in words ("last summer");
``query`` parses the rest (``beach + sunset``, weights, image paths); ``finder`` answers
text, filters or both (``Library.find``); ``searcher`` runs text, image and concept
searches, ``filtered_knn`` the true top-k of a filtered set and the adaptive cutoff of
``sort:date``; ``vector_rows`` keeps a float32 copy of the vectors for exact scoring;
``vector_index`` wraps hnswlib under ``rwlock`` (add and query are not safe together);
``index_store`` keeps the index in step with the catalog and rebuilds it from there;
``index_persistence`` saves and loads the two index files atomically; ``index_files``,
``index_format`` and ``index_manifest`` check them before anything trusts them.

May import: ``catalog``, ``clip``, ``files``, ``organize.concepts``, the top-level records.
"""
