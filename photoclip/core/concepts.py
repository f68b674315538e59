"""Personal concepts: "our dog Rex" learned from a few example photos.

A concept's vector is the mean of its examples' image vectors, plus the
embedding of its name when that helps: "grandma's kitchen" says something
CLIP knows, "Rex" does not. Which it is, and the score at which a photo counts
as the concept, are chosen by leave-one-out over the examples against the rest
of the library, so nothing is guessed per model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MIN_EXAMPLES = 2  # leave-one-out needs two; the app suggests 3-10
TEXT_WEIGHTS = (0.0, 0.25, 0.5, 1.0)  # the name's share tried against image-only
NAME_TEMPLATE = "a photo of {}"


class ConceptError(ValueError):
    """A concept that cannot be learned (too few examples, examples not indexed...)."""


@dataclass(frozen=True)
class Concept:
    name: str
    vector: np.ndarray  # unit
    threshold: float  # cosine from which a photo is tagged with the concept
    text_weight: float  # how much of the name went in (0: it didn't help)
    example_ids: tuple[int, ...]


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def _centre(examples: np.ndarray, name_vector: np.ndarray | None, weight: float) -> np.ndarray:
    centre = _unit(examples.mean(axis=0))
    if name_vector is not None and weight:
        centre = _unit(centre + weight * name_vector)
    return centre


def _held_out_scores(
    examples: np.ndarray, others: np.ndarray, name_vector: np.ndarray | None, weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each example's score against a concept learned from the others, and the
    non-examples' scores against those same concepts."""
    held, rest = [], []
    for i in range(len(examples)):
        centre = _centre(np.delete(examples, i, axis=0), name_vector, weight)
        held.append(float(examples[i] @ centre))
        rest.append(others @ centre)
    return np.array(held), np.concatenate(rest) if rest else np.empty(0)


def _separation(held: np.ndarray, rest: np.ndarray) -> float:
    """How often a held-out example outscores a non-example (ROC AUC)."""
    if rest.size == 0:
        return 1.0
    return float((held[:, None] > rest[None, :]).mean())


def learn_concept(
    name: str, example_ids: tuple[int, ...], examples: np.ndarray, others: np.ndarray,
    name_vector: np.ndarray | None = None,
) -> Concept:
    """Learn ``name`` from ``examples`` (their vectors), told apart from ``others``
    (a sample of the rest of the library); ``name_vector``: the name's text vector."""
    if len(examples) < MIN_EXAMPLES:
        raise ConceptError(f"a concept needs at least {MIN_EXAMPLES} indexed example photos")
    weights = TEXT_WEIGHTS if name_vector is not None else (0.0,)
    scored = []
    for weight in weights:
        held, rest = _held_out_scores(examples, others, name_vector, weight)
        scored.append((_separation(held, rest), -weight, held, rest))
    _, negative_weight, held, rest = max(scored, key=lambda s: (s[0], s[1]))
    weight = -negative_weight
    # Halfway between the weakest held-out example and the strongest 1% of the rest:
    # new photos of the concept look like held-out examples, not like the examples.
    ceiling = float(np.quantile(rest, 0.99)) if rest.size else float(held.min()) - 0.1
    threshold = (float(held.min()) + ceiling) / 2
    return Concept(name, _centre(examples, name_vector, weight), threshold, weight, example_ids)


def find_concepts(text: str, names: list[str]) -> list[tuple[str, str]]:
    """The concepts named in a query term, and the words left once the names are
    taken out: "Rex on the beach" -> [("Rex", "on the beach")]."""
    found = []
    rest = text
    for name in sorted(names, key=len, reverse=True):  # "Rex junior" before "Rex"
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
        if pattern.search(rest):
            found.append(name)
            rest = pattern.sub(" ", rest)
    rest = " ".join(rest.split())
    return [(name, rest) for name in found]
