"""A float32 copy of the index's live vectors, for scoring chosen ids exactly.

hnswlib 0.8.0's ``get_items`` builds a Python list per vector before numpy sees it
(~35 us a vector: 35 ms for 1,000 ids at 512-d, measured), far too slow to score an
allow-list of a few thousand photos per query.  So ``VectorIndex`` keeps this copy,
made on first use and kept in step with its adds and removes under its write lock.
The same copy answers unfiltered searches of small libraries exactly (``top_k``: a
scan of every row, see filtered_knn.nearest_top_k).
Memory: 4 * dim bytes a photo (100 MB at 50k 512-d vectors, 200 MB at 100k), paid by
libraries that run filtered or date-sorted searches, and by every library small
enough for exact unfiltered search (its first search makes it).

Rows [0, count) are live; a removed row is filled with the last one, so the live
rows stay dense.  Vectors are unit length, as hnswlib's cosine space stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

import numpy as np

Hit = tuple[int, float]  # (photo id, cosine similarity)
Rows = tuple[np.ndarray, np.ndarray]  # (ids, unit vectors), row for row
IdTest = Callable[[int], object]  # hnswlib's filter: truthy for an id a search may return
# Exact scoring reads this many vectors at a time: a 512 x 512 product stays on one thread
# in OpenBLAS. Larger ones go multi-threaded, and on a busy machine (the indexer encoding,
# other programs) its worker threads wait for a scheduler slice: 8-40 ms stalls measured
# for 2,500-20,000 rows at once on 2 loaded cores, vs 0.5-7 ms in chunks of 512 (and a
# full scan of 100k rows: p95 226 ms in chunks of 2,048, 20 ms in chunks of 512).
SCORE_CHUNK = 512


class VectorRows:
    """Unit vectors by id; not thread-safe (the owning index's lock guards it)."""

    GROWTH = 1.5

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.dim = int(vectors.shape[1])
        self.count = len(ids)
        self._ids = np.array(ids, dtype=np.int64)
        self._matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._row_of = {int(i): r for r, i in enumerate(self._ids.tolist())}
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None  # (ids ascending, their rows)

    @classmethod
    def from_hnsw(cls, raw: Any, live: Collection[int]) -> VectorRows:
        """The live vectors of an hnswlib index, copied out of its level-0 block.

        ``__getstate__`` (hnswlib's pickle support) hands the block over in one copy
        (~0.3 s at 100k) and names the offsets of each element's label and data.
        """
        state = raw.__getstate__()[0]
        dim, count = int(state["dim"]), int(state["cur_element_count"])
        size = int(state["size_data_per_element"])
        block = np.asarray(state["data_level0"]).view(np.uint8)[: count * size].reshape(count, size)
        label_at, data_at = int(state["label_offset"]), int(state["offset_data"])
        labels = np.ascontiguousarray(block[:, label_at:label_at + 8]).view(np.uint64).ravel()
        labels = labels.astype(np.int64)
        keep = np.isin(labels, np.fromiter(live, dtype=np.int64, count=len(live)))
        vectors = np.ascontiguousarray(block[keep, data_at:data_at + 4 * dim]).view(np.float32)
        return cls(labels[keep], vectors.reshape(-1, dim))

    # -- kept in step with the index ------------------------------------------------
    def put(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Upsert rows; vectors are normalized as hnswlib's cosine space does."""
        data = np.asarray(vectors, dtype=np.float32)
        data = data / (np.sqrt((data * data).sum(axis=1, keepdims=True)) + np.float32(1e-30))
        fresh = sum(1 for i in ids.tolist() if int(i) not in self._row_of)
        self._reserve(self.count + fresh)
        for label, vector in zip(ids.tolist(), data, strict=True):
            row = self._row_of.setdefault(int(label), self.count)
            if row == self.count:
                self._ids[row] = int(label)
                self.count += 1
            self._matrix[row] = vector
        self._sorted = None

    def drop(self, ids: Collection[int]) -> None:
        for label in ids:
            row = self._row_of.pop(int(label), None)
            if row is None:
                continue
            last = self.count - 1
            if row != last:  # keep the live rows dense: the last one fills the hole
                moved = int(self._ids[last])
                self._ids[row], self._matrix[row] = moved, self._matrix[last]
                self._row_of[moved] = row
            self.count = last
        self._sorted = None

    def _reserve(self, needed: int) -> None:
        if needed <= len(self._ids):
            return
        grown = max(needed, int(len(self._ids) * self.GROWTH), 1024)
        matrix = np.empty((grown, self.dim), dtype=np.float32)
        matrix[: self.count] = self._matrix[: self.count]
        ids = np.full(grown, -1, dtype=np.int64)
        ids[: self.count] = self._ids[: self.count]
        self._matrix, self._ids = matrix, ids

    # -- reading --------------------------------------------------------------------
    def lookup(self, ids: np.ndarray) -> Rows:
        """(the given ids that are here, in the given order; a copy of their vectors)."""
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        if self._sorted is None:  # rebuilt after a change: ~5 ms at 100k, vs 0.5 s for a dict walk
            order = np.argsort(self._ids[: self.count], kind="stable")
            self._sorted = (self._ids[: self.count][order], order)
        keys, rows = self._sorted
        if not len(keys) or not len(wanted):
            return wanted[:0], np.empty((0, self.dim), dtype=np.float32)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        found = keys[at] == wanted
        return wanted[found], self._matrix[rows[at[found]]]

    def top_k(self, query: np.ndarray, k: int) -> list[Hit]:
        """The best ``k`` rows for a unit ``query`` by a scan of every row, best first, ties
        by id: the exact answer (~9 ms at 50k 512-d rows, ~18 ms at 100k, 2 cores)."""
        rows = self._matrix[: self.count]
        scores = np.empty(self.count, dtype=np.float32)
        for start in range(0, self.count, SCORE_CHUNK):
            np.matmul(rows[start:start + SCORE_CHUNK], query, out=scores[start:start + SCORE_CHUNK])
        return best_of(self._ids[: self.count], scores, k)

    def sample(self, count: int, seed: int = 0) -> Rows:
        """Up to ``count`` rows picked at random (repeatable for the same rows)."""
        size = min(max(int(count), 0), self.count)
        picked = np.random.default_rng(seed).choice(self.count, size=size, replace=False)
        return self._ids[picked], self._matrix[picked]


def best_of(ids: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
    """The ``k`` best (id, score) pairs, best first, ties by id."""
    if not len(ids) or k <= 0:
        return []
    if len(ids) > k:  # argpartition first: sorting all of a 100k set would cost more
        keep = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))
    return [(int(i), float(s)) for i, s in zip(ids[order], scores[order], strict=True)]


def as_int_list(ids: Iterable[int] | np.ndarray) -> list[int]:
    return [int(i) for i in np.asarray(ids, dtype=np.int64).reshape(-1)]


def prepare_rows(ids: Iterable[int] | np.ndarray, vectors: np.ndarray,
                 dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate ids/vectors; returns (uint64 labels, float32 rows), last duplicate wins."""
    labels = np.asarray(ids, dtype=np.int64).reshape(-1)
    data = np.asarray(vectors, dtype=np.float32)
    if data.ndim == 1 and len(labels) == 1:
        data = data[None, :]
    if data.ndim != 2 or data.shape != (len(labels), dim):
        raise ValueError(f"vectors must have shape ({len(labels)}, {dim}), got {data.shape}")
    if len(labels) and labels.min() < 0:
        raise ValueError("ids must be non-negative")
    if not np.isfinite(data).all():
        raise ValueError("vectors contain NaN or infinity")
    # A label twice in one add_items call would race between hnswlib's worker
    # threads; keep only the last occurrence so the result is deterministic.
    _, last = np.unique(labels[::-1], return_index=True)
    if len(last) != len(labels):
        keep = np.sort(len(labels) - 1 - last)
        labels, data = labels[keep], data[keep]
    return labels.astype(np.uint64), np.ascontiguousarray(data)


def hnsw_hits(labels: np.ndarray, dists: np.ndarray) -> list[Hit]:
    # hnswlib's cosine distance is 1 - cos; results are already best first.
    return [(int(lab), 1.0 - float(d)) for lab, d in zip(labels, dists, strict=True)]
