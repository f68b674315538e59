"""Keeps the HNSW file (a cache) in step with the catalog (the truth).

The manifest saved beside the index names the model and the catalog's
``vector_epoch`` it reflects; a missing, corrupt or stale file is rebuilt from
the catalog's vectors, without decoding a single image. A damaged one (any
check of ``VectorIndex.open`` failing) is logged once, as a warning with the
reason; the rebuild is saved by the next writer, so the next load is clean.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..catalog.store import Catalog
from ..files.atomic import remove_stale_temps
from .index_files import IndexUnusable
from .vector_index import VectorIndex

log = logging.getLogger(__name__)


class IndexStore:
    def __init__(self, catalog: Catalog, path: Path, model_id: str) -> None:
        self._catalog = catalog
        self.path = path
        self.model_id = model_id
        self._index: VectorIndex | None = None
        self._dim: int | None = None
        # Guards loading/rebuilding (not searching: VectorIndex has its own lock).
        self._lock = threading.Lock()
        self.rebuilt = False
        self._dirty = False  # changed since loaded or saved: saving 100k vectors costs ~0.4 s
        self._rebuilt_epoch: int | None = None
        self._file_epoch: int | None = None  # the epoch the file on disk was saved with

    def get(self, dim: int) -> VectorIndex:
        """The index for ``dim``-d vectors, loaded or rebuilt on first use."""
        with self._lock:
            if self._index is None or self._dim != dim:
                self._index = self._load(dim) or self._rebuild(dim)
                self._dim = dim
            return self._index

    def _load(self, dim: int) -> VectorIndex | None:
        try:
            index, manifest = VectorIndex.open(self.path, dim)
        except IndexUnusable as exc:
            if exc.damaged:  # once per process: the rebuild is saved and the next load is clean
                log.warning("the search index on disk is unusable (%s); rebuilding it from the catalog", exc)
            else:
                log.info("%s; building the index from the catalog", exc)
            return None
        if manifest.get("model_id") != self.model_id:
            log.info("index file is for another model; rebuilding")
            return None
        if manifest.get("vector_epoch") != self._catalog.vector_epoch():
            log.info("index file is older than the catalog; rebuilding")
            return None
        self._file_epoch = manifest["vector_epoch"]
        return index

    def _rebuild(self, dim: int) -> VectorIndex:
        # Read before the vectors: if a commit lands in between, this epoch is
        # older than what was read, and save_rebuilt() refuses to label it current.
        self._rebuilt_epoch = self._catalog.vector_epoch()
        ids, vectors = self._catalog.all_vectors(self.model_id)
        if len(ids) and vectors.shape[1] != dim:
            log.warning("catalog vectors are %d-d, expected %d-d", vectors.shape[1], dim)
            ids, vectors = ids[:0], np.empty((0, dim), dtype=np.float32)
        self.rebuilt = True
        self._dirty = True
        log.info("rebuilding the index from %d catalog vectors", len(ids))
        return VectorIndex.build(dim, ids, vectors.reshape(len(ids), dim))

    def rebuild(self, dim: int | None = None) -> VectorIndex | None:
        """Force a rebuild (``--reindex``); dim from the catalog when not given.

        With no vectors and no known dim there is nothing to index: the saved
        files are removed so no stale index outlives its photos.
        """
        dim = dim or self._catalog.vector_dim(self.model_id) or self._dim
        if dim is None:
            with self._lock:
                self._index = None
                self.path.unlink(missing_ok=True)
                self._file_epoch = None
                self.path.with_suffix(".json").unlink(missing_ok=True)
            return None
        with self._lock:
            self._index, self._dim = self._rebuild(dim), dim
            return self._index

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if len(ids):
            self.get(int(vectors.shape[1])).add(np.asarray(ids, dtype=np.int64), vectors)
            self._dirty = True

    def remove(self, ids: Sequence[int]) -> None:
        if ids and self._index is not None:
            self._index.remove(ids)
            self._dirty = True

    def save(self) -> None:
        """Write the index with a manifest tying it to the catalog state and model.

        Skipped when nothing changed, unless the catalog moved on without the
        index (then the file on disk is stale and is brought up to date).
        """
        for leftover in (self.path, self.path.with_suffix(".json")):
            remove_stale_temps(leftover)  # from a save killed half-way (we are the one writer)
        if self._index is None:
            return
        epoch = self._catalog.vector_epoch()
        if not self._dirty and self._file_epoch == epoch:
            return
        self._index.save(self.path, {"model_id": self.model_id, "vector_epoch": epoch})
        self._dirty = False
        self._file_epoch = epoch

    @property
    def rebuild_to_keep(self) -> bool:
        """A rebuild this process made that is not on disk yet and still could be: the
        catalog has not moved on since it was read. Searches check this before taking
        the writer lock to save it, so only the first search after a rebuild pays."""
        return (self.rebuilt and self._dirty
                and self._rebuilt_epoch == self._catalog.vector_epoch())

    def save_rebuilt(self) -> bool:
        """Keep a rebuild a reader had to do (say, after an indexer was killed), so the
        next process doesn't redo it. Only under the writer lock, and only if no
        write happened since the rebuild read the catalog."""
        if not self.rebuild_to_keep:
            return False
        self.save()
        return True

    @property
    def loaded(self) -> VectorIndex | None:
        return self._index
