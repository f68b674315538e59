"""Personal concepts of a library: learned from its example photos, kept per model.

The catalog keeps each concept's example photo ids; the concept itself is
learned again for whatever model the library uses (``concepts.learn_concept``)
and cached until its examples or the model change.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..catalog.tags import concept_set
from .concepts import MIN_EXAMPLES, NAME_TEMPLATE, Concept, ConceptError, learn_concept

if TYPE_CHECKING:
    from ..catalog.store import Catalog
    from ..clip.encoder import Encoder
    from ..models import Photo
    from .parts import Writing

log = logging.getLogger(__name__)

CONCEPT_SAMPLE = 2000  # non-examples a concept is told apart from
SidecarWrite = Callable[[Sequence[int], set[str]], object]


class ConceptBook:
    def __init__(self, catalog: Catalog, encoder: Encoder, writing: Writing,
                 photo_at: Callable[[Path], Photo], write_sidecars: SidecarWrite) -> None:
        self._catalog = catalog
        self._encoder = encoder
        self._writing = writing
        self._photo_at = photo_at
        self._write_sidecars = write_sidecars
        # Learned concepts, and failures (None), by (model, name, example ids): a search
        # asks for every concept, and must not learn or fail again each time.
        self._learned: dict[tuple[str, str, tuple[int, ...]], Concept | None] = {}
        self.problems: dict[str, str] = {}  # concept -> why it can't be used now

    def add(self, name: str, examples: Sequence[Path]) -> Concept:
        """Learn ``name`` from example photos of the library and tag the library with it."""
        name = name.strip()
        if not name:
            raise ConceptError("a concept needs a name")
        ids = tuple(dict.fromkeys(self._photo_at(p).id for p in examples))
        concept = self._learn(name, ids)
        with self._writing("concept"):
            self._catalog.save_concept(name, ids)
            for pid in ids:  # the user said these are it
                self._catalog.set_tag_source(pid, name, "user")
            all_ids, vectors = self._catalog.all_vectors(self._encoder.model_id)
            changed = self.write_tags(concept, all_ids, vectors, everything=True)
        self._write_sidecars(sorted(changed | set(ids)), set())
        return concept

    def remove(self, name: str) -> bool:
        with self._writing("concept"):
            removed = self._catalog.delete_concept(name)
        if removed is None:
            return False
        self._write_sidecars(sorted({pid for pid, _ in removed}), {name})
        return True

    def all(self) -> dict[str, Concept]:
        """Every usable concept, learned for the current model. One whose examples are
        gone (fewer than two left) is skipped, and why is in ``problems``."""
        learned = {}
        self.problems = {}
        for name, ids in self._catalog.concepts().items():
            try:
                learned[name] = self._learn(name, tuple(ids))
            except ConceptError as exc:
                self.problems[name] = str(exc)
        return learned

    def _learn(self, name: str, ids: tuple[int, ...]) -> Concept:
        model_id = self._encoder.model_id
        key = (model_id, name, ids)
        if key not in self._learned:
            self._learned[key] = None
            found, examples = self._catalog.vectors_of(list(ids), model_id)
            if len(found) < MIN_EXAMPLES:  # deleted, or not re-encoded for this model yet
                raise ConceptError(
                    f"only {len(found)} of its {len(ids)} example photos are indexed "
                    f"with {model_id}; it needs {MIN_EXAMPLES}")
            if len(found) < len(ids):
                log.info("concept %r learned from %d of its %d examples", name, len(found),
                         len(ids))
            self._learned[key] = learn_concept(
                name, tuple(found.tolist()), examples, self._others(set(ids), model_id),
                self._name_vector(name))
        concept = self._learned[key]
        if concept is None:
            raise ConceptError(f"its example photos are not indexed with {model_id}")
        return concept

    def _others(self, exclude: set[int], model_id: str) -> np.ndarray:
        every = [pid for pid, _ in self._catalog.photo_times() if pid not in exclude]
        sample = random.Random(0).sample(every, min(CONCEPT_SAMPLE, len(every)))
        ids, vectors = self._catalog.vectors_of(sample, model_id)
        return vectors if len(ids) else np.empty((0, 0), np.float32)

    def _name_vector(self, name: str) -> np.ndarray | None:
        from ..clip.encoder import ModelUnavailable

        try:
            return self._encoder.encode_texts([NAME_TEMPLATE.format(name)])[0]
        except ModelUnavailable:  # learned from the pictures alone
            return None

    def write_tags(self, concept: Concept, ids: np.ndarray, vectors: np.ndarray, *,
                   everything: bool = False) -> set[int]:
        """Tag the photos that score at least the concept's threshold (call while
        writing); returns the photos whose tags changed."""
        scores = vectors @ concept.vector if len(ids) else np.empty(0)
        decided = [(pid, concept.name, float(s)) for pid, s in zip(ids.tolist(), scores, strict=True)
                   if s >= concept.threshold]
        version = f"{len(concept.example_ids)}:{hash(concept.example_ids) & 0xFFFFFF:06x}"
        _, removed = self._catalog.replace_auto_tags(
            concept_set(concept.name), version, self._encoder.model_id, ids.tolist(),
            decided, everything=everything)
        return {pid for pid, _, _ in decided} | {pid for pid, _ in removed}
