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
UPPER_QUANTILE = 0.9  # the part of the library's scores the threshold is looked for in
MAX_HELD_OUT = 40  # examples left out one at a time when choosing the name's weight


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
    """How often a held-out example outscores a non-example (ROC AUC), from ranks:
    n log m, not an n-by-m comparison (a concept may have hundreds of examples)."""
    if rest.size == 0:
        return 1.0
    below = np.searchsorted(np.sort(rest), held, side="left")
    return float(below.mean() / rest.size)


def learn_concept(
    name: str, example_ids: tuple[int, ...], examples: np.ndarray, others: np.ndarray,
    name_vector: np.ndarray | None = None,
) -> Concept:
    """Learn ``name`` from ``examples`` (their vectors), told apart from ``others``
    (a sample of the rest of the library); ``name_vector``: the name's text vector."""
    if len(examples) < MIN_EXAMPLES:
        raise ConceptError(f"a concept needs at least {MIN_EXAMPLES} indexed example photos")
    weights = TEXT_WEIGHTS if name_vector is not None else (0.0,)
    others = others if len(others) else np.empty((0, examples.shape[1]), np.float32)
    # Leave-one-out is one concept per example: past a few dozen examples, a sample of
    # them says as much (the concept itself is still the mean of all of them).
    rng = np.random.default_rng(0)
    probe = examples if len(examples) <= MAX_HELD_OUT else examples[
        rng.choice(len(examples), MAX_HELD_OUT, replace=False)]
    scored = []
    for weight in weights:
        held, rest = _held_out_scores(probe, others, name_vector, weight)
        scored.append((_separation(held, rest), -weight, held, rest))
    _, negative_weight, held, _ = max(scored, key=lambda s: (s[0], s[1]))
    weight = -negative_weight
    centre = _centre(examples, name_vector, weight)
    threshold = _threshold(held, others @ centre if len(others) else np.empty(0))
    return Concept(name, centre, threshold, weight, example_ids)


def _threshold(held: np.ndarray, rest: np.ndarray) -> float:
    """The middle of the widest gap in the scores of the library's top tenth, up to
    the weakest held-out example. The library holds unlabelled photos of the
    concept too (finding them is the point), so a high quantile of its scores
    would sit among them; a gap between photos like the examples and the rest
    is what separates them."""
    weakest = float(held.min())
    upper = np.sort(rest[rest >= np.quantile(rest, UPPER_QUANTILE)]) if rest.size else rest
    points = np.append(upper[upper < weakest], weakest)
    if len(points) < 2:
        return weakest - 0.05
    gaps = np.diff(points)
    widest = int(gaps.argmax())
    return float(points[widest] + points[widest + 1]) / 2


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
