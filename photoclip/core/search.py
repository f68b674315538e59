"""Text, image, similar and combined queries -> ``SearchHit`` lists.

A query becomes one unit vector (a weighted sum of its terms' vectors); the
HNSW index returns candidates; the catalog turns ids into photos; photos whose
files are gone are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .catalog import Catalog
from .concepts import Concept, find_concepts
from .encoder import Encoder
from .imaging import ImageRejected, decode_for_model
from .index_store import IndexStore
from .models import SearchHit
from .query import QueryError, QueryTerm, parse_query

DEFAULT_TOP = 20


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

    # -- turning queries into vectors ---------------------------------------------
    def image_vector(self, path: Path) -> np.ndarray:
        """A library photo's stored vector, else the image decoded and encoded now."""
        photo = self._catalog.photo_by_path(path)
        if photo is not None:
            stored = self._catalog.vector(photo.id, self._encoder.model_id)
            if stored is not None:
                return stored
        data = path.read_bytes()
        self._encoder.load()
        try:
            decoded = decode_for_model(data, self._encoder.input_size)
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
        """Best ``top`` live photos; asks the index for more when some must be dropped."""
        index = self._index.get(int(vector.shape[0]))
        skip = exclude or set()
        want = top + len(skip)
        while True:
            found = index.search(vector, want)
            hits = self._hits(found, skip, min_score)
            exhausted = len(found) < want or (min_score is not None and found[-1][1] < min_score)
            if len(hits) >= top or exhausted:
                return hits[:top]
            want *= 2

    def _hits(
        self, found: list[tuple[int, float]], skip: set[int], min_score: float | None
    ) -> list[SearchHit]:
        photos = self._catalog.photos_by_ids([i for i, _ in found if i not in skip])
        hits = []
        for photo_id, score in found:
            photo = photos.get(photo_id)
            if photo is None or (min_score is not None and score < min_score):
                continue
            if os.path.exists(photo.path):  # moved or deleted outside the app since indexing
                hits.append(SearchHit(photo, float(score)))
        return hits
