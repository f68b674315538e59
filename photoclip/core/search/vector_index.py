"""HNSW nearest-neighbour index over CLIP image embeddings.

The SQLite catalog is the source of truth; this index is a *cache* that can
always be rebuilt from the catalog's vectors.  Therefore every failure mode on
load (missing, truncated, corrupt, stale, wrong dimension) yields ``None``
(``load``) or ``IndexUnusable`` with the reason (``open``), and the caller
rebuilds.  hnswlib trusts its file (a bad neighbour id or entry point crashes
the next search), so index_files checks it before hnswlib reads it
(index_persistence saves and loads the two files).

hnswlib 0.8.0 behaviours this module relies on (checked by experiment; the
ones we depend on are exercised by tests/core/test_vector_index.py):

* ``add_items`` with an existing label replaces that label's vector in place
  (the element count does not change).
* ``add_items`` with a label that was ``mark_deleted`` un-deletes it
  automatically; calling ``unmark_deleted`` afterwards raises "not deleted".
* ``get_current_count`` and ``get_ids_list`` include deleted labels, and there
  is no API to list deleted labels, so we track them ourselves and persist
  them in the manifest.
* ``mark_deleted`` raises for unknown or already-deleted labels.
* ``ef`` is *not* stored in the index file: a loaded index comes back with
  ef=10, so we always ``set_ef`` after loading.
* ``load_index`` with the wrong ``dim`` silently "succeeds" and would return
  garbage, so we check the dimension from the file header ourselves.
* ``knn_query`` raises "Cannot return the results in a contiguous 2D array"
  whenever it finds fewer than ``k`` live elements (k > live count, or live
  elements unreachable from the entry point in a disconnected graph, e.g.
  after heavy deletion).  Raising ``ef`` does not help there: with fewer
  than k results the search already exhausts the reachable component.
  So we clip k to the live count and, if it still fails, search for the
  largest k that works.
* ``allow_replace_deleted`` is not used: with it, re-adding a deleted label
  raises ("Can't use addPoint to update deleted elements..."), and
  ``replace_deleted=True`` recycles an arbitrary deleted slot without saying
  whose, while upserting a live label that way leaves its old vector
  searchable under the same label.  Deleted slots are instead kept as
  tombstones (reused when the same id comes back); a rebuild from the
  catalog compacts them (see ``tombstones``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .index_files import IndexUnusable, inspect_saved, unless_replaced
from .index_format import FORMAT_VERSION, SPACE
from .index_persistence import load_checked, publish_index_files
from .rwlock import ReadWriteLock
from .vector_rows import Hit, IdTest, Rows, VectorRows, as_int_list, hnsw_hits, prepare_rows

if TYPE_CHECKING:  # hnswlib is imported lazily so read_manifest stays cheap.
    import hnswlib

_CONTIGUOUS_ERROR = "contiguous"


class VectorIndex:
    """Cosine-similarity HNSW index keyed by catalog photo id.

    Locking: hnswlib's add_items/resize/mark_deleted are not safe to run
    concurrently with knn_query (they mutate link lists and the label map
    that queries read without locks), while knn_query itself is safe for
    concurrent readers.  So every hnswlib call happens under ``_lock``:
    queries (and save, which only reads) under read(), mutations under
    write().  knn_query and add_items release the GIL, so readers really
    do run in parallel.
    """

    # Parameters chosen with benchmarks/bench_vector_index.py on clustered
    # 512-d unit vectors (1000 centres, cos-to-centre ~0.8, photo-like), 2 cores:
    # M=16: recall@10 0.984 (10k) / 1.000 (100k) at ef=64.  M=24 bought only
    #   +0.005 recall for ~1.7x build CPU and more link memory; M=12 (with
    #   ef_construction 64) fell to 0.961 at ef=32, too little margin for
    #   real embeddings, which are messier than the synthetic set.
    # EF_CONSTRUCTION=100: ef_construction=200 cost ~1.8x build CPU for no
    #   measurable recall gain; 100k builds in ~86 CPU-s (~45 s on 2 cores).
    # EF_SEARCH=64: >= 0.98 recall@10 at ~0.4-0.5 ms p50 per query; ef=32 is
    #   already >= 0.97.  hnswlib searches with max(ef, k), so large k works.
    #   That holds for queries near stored photos (images); text queries, far from
    #   every photo, need ef=512: Searcher.nearest passes it (filtered_knn.nearest_top_k).
    M = 16
    EF_CONSTRUCTION = 100
    EF_SEARCH = 64
    # Grow capacity geometrically so N single-id adds cost O(log N) resizes
    # (each resize reallocates and copies the whole level-0 array).
    GROWTH = 1.5
    MIN_CAPACITY = 1024
    _rows: VectorRows | None = None  # a copy of the vectors, made by the first vectors_of/sample/search_exact

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        import hnswlib

        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = int(dim)
        self._lock = ReadWriteLock()
        # Serialises save() calls so two saves can't interleave their
        # index/manifest renames and publish a mismatched pair.
        self._save_lock = threading.Lock()
        self._live: set[int] = set()
        self._deleted: set[int] = set()  # tombstoned labels still in hnswlib
        self._index: hnswlib.Index = hnswlib.Index(space=SPACE, dim=self.dim)
        self._index.init_index(
            max_elements=max(int(capacity), 1),
            M=self.M,
            ef_construction=self.EF_CONSTRUCTION,
        )
        self._index.set_ef(self.EF_SEARCH)
        self._index.set_num_threads(os.cpu_count() or 1)

    # ------------------------------------------------------------------ build

    @classmethod
    def build(cls, dim: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """Bulk build with a single add_items call using every core."""
        labels, data = prepare_rows(ids, vectors, dim)
        index = cls(dim, capacity=max(len(labels), 1))
        with index._lock.write():
            if len(labels):
                index._index.add_items(data, labels, num_threads=os.cpu_count() or 1)
            index._live.update(int(i) for i in labels)
        return index

    # -------------------------------------------------------------- mutation

    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Upsert: existing ids get their vector replaced, removed ids come back."""
        labels, data = prepare_rows(ids, vectors, self.dim)
        if not len(labels):
            return
        with self._lock.write():
            new = sum(1 for i in labels.tolist() if i not in self._live and i not in self._deleted)
            self._reserve_locked(self._index.get_current_count() + new)
            # hnswlib un-deletes a tombstoned label on add (verified for 0.8.0).
            self._index.add_items(data, labels, num_threads=os.cpu_count() or 1)
            if self._rows is not None:
                self._rows.put(labels, data)
            for i in labels.tolist():
                self._deleted.discard(i)
                self._live.add(i)

    def remove(self, ids: Iterable[int] | np.ndarray) -> None:
        """Hide ids from search; unknown or already-removed ids are ignored."""
        with self._lock.write():
            for i in as_int_list(ids):
                if i in self._live:
                    self._index.mark_deleted(i)
                    self._live.discard(i)
                    self._deleted.add(i)
            if self._rows is not None:
                self._rows.drop(as_int_list(ids))  # it skips ids it does not hold

    def _reserve_locked(self, needed: int) -> None:
        capacity = self._index.get_max_elements()
        if needed > capacity:
            grown = max(needed, int(capacity * self.GROWTH), self.MIN_CAPACITY)
            self._index.resize_index(grown)

    # ---------------------------------------------------------------- search

    def search(self, query: np.ndarray, k: int, *, ef: int | None = None) -> list[Hit]:
        """(id, cosine similarity) pairs, best first; at most min(k, len(self)).
        ``ef``: search as wide as that for this query (default: the index's ef)."""
        return self.search_many(self._query_row(query)[None, :], k, ef=ef)[0]

    def search_many(self, queries: np.ndarray, k: int, *, ef: int | None = None) -> list[list[Hit]]:
        """Batch version of search(): one result list per query row."""
        qs = np.ascontiguousarray(queries, dtype=np.float32)
        if qs.ndim != 2 or qs.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim}), got {qs.shape}")
        with self._lock.read():
            k = min(int(k), len(self._live))
            # Asking hnswlib for ef results searches with that ef (it uses max(ef, k)) without
            # set_ef, which needs write(); only the best k are kept.
            wide = min(max(k, int(ef or 0)), len(self._live))
            if k <= 0 or len(qs) == 0:
                return [[] for _ in range(len(qs))]
            try:
                labels, dists = self._index.knn_query(qs, k=wide)
                return [hnsw_hits(lab[:k], dist[:k]) for lab, dist in zip(labels, dists, strict=True)]
            except RuntimeError as exc:
                if _CONTIGUOUS_ERROR not in str(exc):
                    raise
            # Some query reached fewer than k live elements; answer each
            # query on its own with the largest k that works.
            return [self._search_shrinking_locked(q, k) for q in qs]

    def neighbours(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """search_many as (n, k) arrays of ids (-1: fewer) and cosines, no object per hit."""
        qs = np.ascontiguousarray(queries, dtype=np.float32)
        labels, cosines = np.full((len(qs), k), -1, np.int64), np.zeros((len(qs), k), np.float32)
        with self._lock.read():
            found = min(int(k), len(self._live))
            if found > 0 and len(qs):
                try:
                    raw, dists = self._index.knn_query(qs, k=found)
                    labels[:, :found], cosines[:, :found] = raw.astype(np.int64), 1.0 - dists
                    return labels, cosines
                except RuntimeError as exc:  # some query reached fewer than k: one by one
                    if _CONTIGUOUS_ERROR not in str(exc):
                        raise
        for row, hits in enumerate(self.search_many(qs, k) if found > 0 else []):
            if hits:
                labels[row, :len(hits)], cosines[row, :len(hits)] = zip(*hits, strict=True)
        return labels, cosines

    def search_exact(self, query: np.ndarray, k: int) -> list[Hit]:
        """Like search(), scored exactly: every live vector (the copy ``vectors_of`` uses,
        made on first use) times the query; ties by id."""
        q = self._query_row(query)
        q = q / np.float32(max(float(np.linalg.norm(q)), 1e-30))
        return self._with_rows(lambda rows: rows.top_k(q, int(k)))

    def _query_row(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        if q.ndim == 2 and q.shape[0] == 1:
            q = q[0]
        if q.shape != (self.dim,):
            raise ValueError(f"query must have shape ({self.dim},), got {q.shape}")
        return np.ascontiguousarray(q)

    def _search_shrinking_locked(self, query: np.ndarray, k: int) -> list[Hit]:
        """Binary search for the largest k' <= k that hnswlib can satisfy."""
        best: list[Hit] = []
        lo, hi = 0, k  # invariant: k'=lo works (trivially for 0)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                labels, dists = self._index.knn_query(query[None, :], k=mid)
            except RuntimeError as exc:
                if _CONTIGUOUS_ERROR not in str(exc):
                    raise
                hi = mid - 1
                continue
            best, lo = hnsw_hits(labels[0], dists[0]), mid
        return best

    def search_filtered(self, query: np.ndarray, k: int, allowed: IdTest, ef: int) -> list[Hit] | None:
        """Best k ids passing ``allowed(id)``, searched with ef: asking hnswlib for ef results is
        ef without set_ef (which needs write()). None: fewer were reachable; score exactly."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        with self._lock.read():
            if k <= 0 or (wide := min(max(int(ef), int(k)), len(self._live))) <= 0:
                return []
            try:
                labels, dists = self._index.knn_query(q, k=wide, filter=allowed)
            except RuntimeError as exc:
                if _CONTIGUOUS_ERROR not in str(exc):
                    raise
                return None
        return hnsw_hits(labels[0][:k], dists[0][:k])

    def vectors_of(self, ids: np.ndarray) -> Rows:  # the ids that are live (in order) and their vectors
        return self._with_rows(lambda rows: rows.lookup(ids))

    def sample_vectors(self, count: int) -> Rows:  # up to count live ids at random, and vectors
        return self._with_rows(lambda rows: rows.sample(count))

    def _with_rows(self, read: Callable[[VectorRows], Rows]) -> Rows:
        with self._lock.read():
            if self._rows is not None:
                return read(self._rows)
        with self._lock.write():  # first use: copy the vectors out of hnswlib once
            if self._rows is None:
                self._rows = VectorRows.from_hnsw(self._index, self._live)
            return read(self._rows)

    # ----------------------------------------------------------- inspection

    def __len__(self) -> int:
        with self._lock.read():
            return len(self._live)

    def __contains__(self, id: object) -> bool:
        try:
            key = int(id)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False
        with self._lock.read():
            return key in self._live

    def ids(self) -> np.ndarray:
        """Live ids, sorted ascending, as int64."""
        with self._lock.read():
            return np.array(sorted(self._live), dtype=np.int64)

    @property
    def tombstones(self) -> int:
        """Removed ids still occupying slots; rebuild when this gets large."""
        with self._lock.read():
            return len(self._deleted)

    @property
    def ef(self) -> int:
        with self._lock.read():
            return int(self._index.ef)

    @ef.setter
    def ef(self, value: int) -> None:
        # set_ef writes a field that concurrent queries read: take write().
        with self._lock.write():
            self._index.set_ef(int(value))

    # ------------------------------------------------------------ persistence

    def save(self, path: Path, manifest: dict[str, Any]) -> None:
        """Atomically write the index and its JSON manifest next to it.

        Only the read lock is held while hnswlib writes the file: saveIndex
        only reads the graph, so concurrent searches continue and only
        mutations wait.  The manifest is removed before the index is replaced
        and rewritten after, so a crash in between leaves "no manifest"
        (load -> None -> rebuild), never a new index with a stale manifest.
        The manifest records the file's size and SHA-256 (read back from the
        fsynced temp file) and its own SHA-256, which ``open`` verifies.
        """
        def write_index(tmp_index: Path) -> dict[str, Any]:
            with self._lock.read():
                self._index.save_index(str(tmp_index))
                return self._manifest_locked(manifest)

        with self._save_lock:
            publish_index_files(Path(path), write_index)

    def _manifest_locked(self, manifest: dict[str, Any]) -> dict[str, Any]:
        # Our keys override same-named caller keys, so a manifest returned by
        # load() can be passed straight back to save().
        meta = dict(manifest)
        meta.update(
            format_version=FORMAT_VERSION,
            dim=self.dim,
            count=len(self._live),
            capacity=int(self._index.get_max_elements()),
            hnsw={
                "space": SPACE,
                "M": int(self._index.M),
                "ef_construction": int(self._index.ef_construction),
                "ef": int(self._index.ef),
            },
            deleted_ids=sorted(self._deleted),
        )
        return meta

    @classmethod
    def load(cls, path: Path, dim: int) -> tuple[VectorIndex, dict[str, Any]] | None:
        """Load a saved index, or None if anything about it is off (never raises)."""
        try:
            return cls.open(path, dim)
        except Exception:  # a cache: any failure just means "rebuild"
            return None

    @classmethod
    def open(cls, path: Path, dim: int) -> tuple[VectorIndex, dict[str, Any]]:
        """Load a saved index, or raise IndexUnusable saying why it must be rebuilt.

        hnswlib trusts its file, so the file is checked (checksum and structure,
        see index_files) before hnswlib sees it, and hnswlib then reads the very
        file that was checked (by descriptor where the OS allows).
        """
        return load_checked(Path(path), int(dim), cls._adopt)

    @classmethod
    def _adopt(cls, raw: hnswlib.Index, dim: int, live: set[int], deleted: set[int]) -> VectorIndex:
        """A bare instance (from __new__) around a loaded hnswlib index."""
        index = cls.__new__(cls)
        index.dim = dim
        index._lock = ReadWriteLock()
        index._save_lock = threading.Lock()
        index._live = live
        index._deleted = deleted
        index._index = raw
        raw.set_ef(cls.EF_SEARCH)  # ef is not persisted by hnswlib
        raw.set_num_threads(os.cpu_count() or 1)
        return index

    @staticmethod
    def read_manifest(path: Path, *, thorough: bool = True) -> dict[str, Any] | None:
        """The manifest saved next to ``path`` if it and the index file it describes
        pass every check of ``open`` short of loading; else None. Never imports hnswlib.

        ``thorough=False``: the manifest, the file's size and header only (no hash), cheap
        for a status line; deeper damage is found, and rebuilt, by the next ``open``.
        """
        try:
            return VectorIndex.inspect(path, thorough=thorough)
        except IndexUnusable:
            return None

    @staticmethod
    def inspect(path: Path, *, thorough: bool = True) -> dict[str, Any]:
        """Like read_manifest, but raise IndexUnusable saying what is wrong."""
        path = Path(path)
        return unless_replaced(lambda: inspect_saved(path, thorough=thorough), path)
