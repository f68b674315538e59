"""Text, image, similar and combined queries -> ``SearchHit`` lists.

A query becomes one unit vector (a weighted sum of its terms' vectors); the
HNSW index returns candidates; the catalog turns ids into photos; photos whose
files are gone are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..catalog.store import Catalog
from ..clip.encoder import Encoder
from ..files.imaging import ImageRejected, decode_for_model
from ..files.scanner import file_is_gone
from ..models import Photo, SearchHit
from ..organize.concepts import Concept, find_concepts
from .filtered_knn import adaptive_cutoff, filtered_top_k, nearest_top_k, unit_query
from .index_store import IndexStore
from .query import QueryError, QueryTerm, parse_query

DEFAULT_TOP = 20
# How long a search waits for its file checks: a hung network mount must not hang
# search. A check that has not answered by then keeps its hit (unreachable is not gone).
FILE_CHECK_S = 0.5
FILE_CHECK_THREADS = 4  # per search; one hung path holds up only one of them
# sort:date: the query's typical score comes from this many library photos picked at
# random; the pool of candidates grows (x4) from DATE_POOL until it reaches scores under
# the cutoff, up to MAX_DATE_POOL (the newest matches are then those of the best 20k).
BACKGROUND_SAMPLE = 1000
DATE_POOL = 500
MAX_DATE_POOL = 20_000
# Threads still stuck in a hung stat() (they can't be killed); past this many, searches
# skip the checks and keep every hit rather than pile up more.
MAX_STUCK_CHECKS = 16


class Searcher:
    def __init__(
        self, catalog: Catalog, encoder: Encoder, index: IndexStore,
        concepts: Callable[[], dict[str, Concept]] | None = None,
    ) -> None:
        self._catalog = catalog
        self._encoder = encoder
        self._index = index
        # Personal concepts ("Rex"), looked up by name in text terms.
        self._concepts = concepts or dict
        self._file_checks = FileChecks()

    # -- turning queries into vectors ---------------------------------------------
    def image_vector(self, path: Path) -> np.ndarray:
        """A library photo's stored vector, else the image decoded and encoded now."""
        photo = self._catalog.photo_by_path(path)
        if photo is not None:
            stored = self._catalog.vector(photo.id, self._encoder.model_id)
            if stored is not None:
                return stored
        self._encoder.load()
        try:
            with open(path, "rb") as source:  # decoded from the file: its bytes never all held
                decoded = decode_for_model(source, self._encoder.input_size)
        except ImageRejected as exc:
            raise QueryError(f"cannot use {path} as a query image: {exc}") from None
        return self._encoder.encode_images([self._encoder.preprocess(decoded.image)])[0]

    def query_vector(self, terms: list[QueryTerm]) -> np.ndarray:
        text_vectors = self._text_vectors([t.text for t in terms if t.image is None])
        total = np.zeros(0, dtype=np.float32)
        for term in terms:
            vector = self.image_vector(term.image) if term.image else text_vectors[term.text]
            total = term.weight * vector if total.size == 0 else total + term.weight * vector
        norm = float(np.linalg.norm(total))
        if norm < 1e-6:
            raise QueryError("the query's terms cancel each other out")
        return (total / norm).astype(np.float32)

    def _text_vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Each text term's vector; a term naming a concept is the concept's vector
        plus the rest of its words ("Rex on the beach": Rex + "on the beach")."""
        concepts = self._concepts() if texts else {}
        named = {text: find_concepts(text, list(concepts)) for text in texts}
        words = [found[0][1] if found else text for text, found in named.items()]
        words = list(dict.fromkeys(w for w in words if w))
        encoded = dict(zip(words, self._encoder.encode_texts(words), strict=True)) if words else {}
        vectors = {}
        for text, found in named.items():
            if not found:
                vectors[text] = encoded[text]
                continue
            total = sum(concepts[name].vector for name, _ in found)
            rest = found[0][1]
            total = total + encoded[rest] if rest else total
            vectors[text] = total / max(float(np.linalg.norm(total)), 1e-12)
        return vectors

    # -- searching -------------------------------------------------------------
    def search(
        self, query: str, top: int = DEFAULT_TOP, min_score: float | None = None,
        cwd: Path | None = None,
    ) -> list[SearchHit]:
        terms = parse_query(query, cwd)
        exclude = {p.id for t in terms if t.image and (p := self._catalog.photo_by_path(t.image))}
        return self.nearest(self.query_vector(terms), top, min_score, exclude)

    def similar(self, path: Path, top: int = DEFAULT_TOP) -> list[SearchHit]:
        own = self._catalog.photo_by_path(path)
        exclude = {own.id} if own else set()
        return self.nearest(self.image_vector(path), top, None, exclude)

    def nearest(
        self, vector: np.ndarray, top: int, min_score: float | None = None,
        exclude: set[int] | None = None,
    ) -> list[SearchHit]:
        """Best ``top`` live photos; asks the index for more when some must be dropped.
        Exact for small libraries, HNSW searched wide above (filtered_knn.nearest_top_k)."""
        index = self._index.get(int(vector.shape[0]))
        skip = exclude or set()
        want = top + len(skip)
        while True:
            found = nearest_top_k(index, vector, want)
            hits = self._hits(found, skip, min_score)
            exhausted = len(found) < want or (min_score is not None and found[-1][1] < min_score)
            if len(hits) >= top or exhausted:
                return hits[:top]
            want *= 2

    def nearest_filtered(
        self, vector: np.ndarray, allowed: np.ndarray, top: int, min_score: float | None = None,
        exclude: set[int] | None = None,
    ) -> list[SearchHit]:
        """The true best ``top`` live photos among ``allowed`` (ids); like ``nearest``, asks
        for more when some must be dropped (a file gone, a row trashed since)."""
        index = self._index.get(int(vector.shape[0]))
        allowed = np.asarray(allowed, dtype=np.int64).reshape(-1)
        if exclude:
            allowed = allowed[~np.isin(allowed, np.fromiter(exclude, dtype=np.int64))]
        want = top
        while top > 0:
            found = filtered_top_k(index, vector, allowed, want)
            hits = self._hits(found, set(), min_score)
            exhausted = len(found) < want or (min_score is not None and found[-1][1] < min_score)
            if len(hits) >= top or exhausted:
                return hits[:top]
            want *= 2
        return []

    def by_date(
        self, vector: np.ndarray, allowed: np.ndarray | None, limit: int
    ) -> tuple[list[SearchHit], int]:
        """The matches (scores at or above ``adaptive_cutoff``) among ``allowed`` (None: the
        whole library), newest first (taken, else file time), at most ``limit``; and how
        many of the best ``limit`` by relevance the cutoff hid as too weak."""
        if limit <= 0:
            return [], 0
        index = self._index.get(int(vector.shape[0]))
        _, sample = index.sample_vectors(BACKGROUND_SAMPLE)
        background = sample @ unit_query(vector, index.dim)
        k = max(limit, DATE_POOL)
        while True:
            found = (index.search(vector, k) if allowed is None
                     else filtered_top_k(index, vector, allowed, k))
            cutoff = adaptive_cutoff(np.array([s for _, s in found[:1]]), background)
            if len(found) < k or found[-1][1] < cutoff or k >= MAX_DATE_POOL:
                break
            k = min(4 * k, MAX_DATE_POOL)
        hidden = sum(1 for _, score in found[:limit] if score < cutoff)
        return self._newest_first([(i, s) for i, s in found if s >= cutoff], limit), hidden

    def _newest_first(self, found: list[tuple[int, float]], limit: int) -> list[SearchHit]:
        photos = self._catalog.photos_by_ids([i for i, _ in found])
        dated = sorted(((photos[i], score) for i, score in found if i in photos),
                       key=lambda hit: (_taken(hit[0]), hit[0].id), reverse=True)
        hits: list[SearchHit] = []
        for start in range(0, len(dated), limit):  # files checked a page at a time
            page = dated[start:start + limit]
            gone = self._file_checks.not_photo_files([photo.path for photo, _ in page])
            hits += [SearchHit(photo, float(score)) for photo, score in page if photo.path not in gone]
            if len(hits) >= limit:
                break
        return hits[:limit]

    def _hits(
        self, found: list[tuple[int, float]], skip: set[int], min_score: float | None
    ) -> list[SearchHit]:
        photos = self._catalog.photos_by_ids([i for i, _ in found if i not in skip])
        wanted = [(photos[i], score) for i, score in found
                  if i in photos and (min_score is None or score >= min_score)]
        # Moved, deleted or replaced (by a folder of the same name) since it was indexed.
        gone = self._file_checks.not_photo_files([photo.path for photo, _ in wanted])
        return [SearchHit(photo, float(score)) for photo, score in wanted if photo.path not in gone]


def _taken(photo: Photo) -> float:
    """When the photo was taken (POSIX seconds): its capture time, else the file's."""
    return photo.taken_at if photo.taken_at is not None else photo.mtime_ns / 1e9


class FileChecks:
    """Which paths hold no photo file any more (``scanner.file_is_gone``: missing, or a
    folder now has the name), checked in a few short-lived daemon threads and waited
    for ``deadline_s`` at most. A path whose check has not answered by then (a hung
    network mount) counts as there: unreachable is not gone. Daemon threads rather
    than a pool: a stat() stuck in the kernel can't be cancelled, and must neither
    hold up later searches nor keep the process from exiting."""

    def __init__(self, deadline_s: float = FILE_CHECK_S) -> None:
        self.deadline_s = deadline_s
        self.stuck = 0  # checks still running past their search's deadline
        self._lock = threading.Lock()

    def not_photo_files(self, paths: Sequence[Path]) -> set[Path]:
        if not paths:
            return set()
        with self._lock:
            if self.stuck >= MAX_STUCK_CHECKS:
                return set()  # the mount is still hung: don't pile up more threads
        run = _CheckRun(iter(list(paths)))
        threads = [threading.Thread(target=self._work, args=(run,), name="file-check", daemon=True)
                   for _ in range(min(FILE_CHECK_THREADS, len(paths)))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.deadline_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with run.lock:
            run.closed = True  # what the stragglers find from now on is ignored
            with self._lock:
                self.stuck += run.active
            return set(run.gone)

    def _work(self, run: _CheckRun) -> None:
        while True:
            with run.lock:
                path = None if run.closed else next(run.todo, None)
                if path is None:
                    return
                run.active += 1
            gone = file_is_gone(path)
            with run.lock:
                run.active -= 1
                if run.closed:  # counted as stuck when the search gave up on it
                    with self._lock:
                        self.stuck -= 1
                    return
                if gone:
                    run.gone.add(path)


@dataclass
class _CheckRun:
    todo: Iterator[Path]
    gone: set[Path] = field(default_factory=set)
    active: int = 0
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
