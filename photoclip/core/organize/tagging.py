"""Zero-shot tagging that knows when not to tag.

A label's class vector is the mean of its prompts' normalised text embeddings
(prompt ensembling, as in the CLIP paper: CLIP is sensitive to wording). Photos
are scored from their stored image vectors, so tagging or re-tagging a whole
library decodes no image and runs no image model.

Decisions are made on probabilities, not raw cosines: cosines times the model's
learned logit scale are the logits CLIP was trained on, so a threshold means
the same for every model.

- Single-label sets: a softmax over the labels and the set's fallback entries
  ("none of these"). The best label is applied only if it is not a fallback,
  clears its threshold and leads the runner-up by the set's margin. CLIP
  forced to choose among an incomplete set misclassifies; the fallback and the
  margin are how a photo that fits nothing stays untagged.
- Multi-label sets: each label against the fallback entries alone ("this, or
  something else?"), with per-label thresholds.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..clip.encoder import Encoder
from ..files.atomic import write_bytes_atomically
from .labelsets import Label, LabelSet

log = logging.getLogger(__name__)

TEXT_BATCH = 64  # prompts per text-encoder call: bounded memory on big sets
CACHE_KEYS = ("labels", "competitors", "logit_scale")  # what a cache entry holds


@dataclass(frozen=True)
class Classifier:
    """A label set's class vectors for one model."""

    label_set: LabelSet
    model_id: str
    labels: np.ndarray  # (L, dim), unit rows
    competitors: np.ndarray  # (F, dim): the fallback entries, maybe (0, dim)
    logit_scale: float


def _ensembles(encoder: Encoder, prompt_lists: Sequence[Sequence[str]]) -> np.ndarray:
    flat = [p for prompts in prompt_lists for p in prompts]
    encoded = np.concatenate([encoder.encode_texts(flat[i:i + TEXT_BATCH])
                              for i in range(0, len(flat), TEXT_BATCH)])
    means, start = [], 0
    for prompts in prompt_lists:
        mean = encoded[start:start + len(prompts)].mean(axis=0)
        means.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        start += len(prompts)
    return np.stack(means).astype(np.float32)


def build_classifier(label_set: LabelSet, encoder: Encoder,
                     cache_dir: Path | None = None, dim: int | None = None) -> Classifier:
    """Class vectors for ``label_set``, from the disk cache when this model has made
    them before (then no model is loaded at all). ``dim``: the model's vector size
    where known without loading it (the catalog's vectors); a cache entry of another
    size, or damaged in any way, is recomputed and rewritten."""
    cache = _cache_file(cache_dir, label_set, encoder.model_id) if cache_dir else None
    if cache is not None:
        cached = _load_cached(cache, label_set, encoder.model_id, dim or getattr(encoder, "dim", 0))
        if cached is not None:
            return cached
    encoder.load()
    entries: list[Label] = [*label_set.labels, *label_set.competitors]
    vectors = _ensembles(encoder, [e.texts(label_set.templates) for e in entries])
    count = len(label_set.labels)
    classifier = Classifier(label_set, encoder.model_id, vectors[:count], vectors[count:],
                            float(getattr(encoder, "logit_scale", 100.0)))
    if cache is not None:
        _save(cache, classifier)
    return classifier


def _cache_file(cache_dir: Path, label_set: LabelSet, model_id: str) -> Path:
    model = hashlib.blake2b(model_id.encode(), digest_size=6).hexdigest()
    return cache_dir / f"{model}-{label_set.digest}.npz"


def _load_cached(path: Path, label_set: LabelSet, model_id: str, dim: int) -> Classifier | None:
    """The cached classifier, or None when there is none or it cannot be trusted (a crash
    or a full disk mid-write, bit rot, another version's file): then it is remade."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in CACHE_KEYS}
    except FileNotFoundError:
        return None
    except Exception as exc:  # zip, zlib, npy header, memory: all just damage to a cache
        log.warning("class vector cache %s unreadable (%s); recomputing", path, _why(exc))
        return None
    problem = _cache_problem(arrays, label_set, dim)
    if problem:
        log.warning("class vector cache %s unusable (%s); recomputing", path, problem)
        return None
    return Classifier(label_set, model_id, arrays["labels"], arrays["competitors"],
                      float(arrays["logit_scale"]))


def _cache_problem(arrays: dict[str, np.ndarray], label_set: LabelSet, dim: int) -> str | None:
    """What makes a readable entry wrong for this set and model, if anything."""
    labels, competitors, scale = (arrays[key] for key in CACHE_KEYS)
    width = dim or (labels.shape[1] if labels.ndim == 2 else 0)
    expected = {"labels": (len(label_set.labels), width),
                "competitors": (len(label_set.competitors), width), "logit_scale": ()}
    for key, shape in expected.items():
        if arrays[key].dtype != np.float32 or arrays[key].shape != shape or not width:
            return f"{key}: {arrays[key].dtype} {arrays[key].shape}, expected float32 {shape}"
    if not (np.isfinite(labels).all() and np.isfinite(competitors).all() and 0 < scale < 1e6):
        return "values out of range"
    norms = np.linalg.norm(np.concatenate([labels, competitors]), axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):  # every class vector is a unit vector
        return "not unit vectors"
    return None


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _save(path: Path, classifier: Classifier) -> None:
    """Atomic and durable: a crash or a full disk leaves the old entry or none, and no
    temp file (a damaged entry would only be recomputed, but costs a model load)."""
    buffer = io.BytesIO()
    np.savez(buffer, labels=np.asarray(classifier.labels, np.float32),
             competitors=np.asarray(classifier.competitors, np.float32),
             logit_scale=np.float32(classifier.logit_scale))
    try:
        write_bytes_atomically(path, buffer.getvalue())
    except OSError as exc:  # only a cache: tagging goes on without it
        log.warning("cannot cache class vectors in %s: %s", path, exc)


def label_probabilities(classifier: Classifier, vectors: np.ndarray) -> np.ndarray:
    """(N, L): each label's probability for each photo, as the set's mode defines it
    (single-label: share of the softmax over labels and fallback; multi-label:
    the label against the fallback entries only)."""
    if not classifier.label_set.multi_label:
        return _candidates(classifier, vectors)[:, : len(classifier.labels)]
    scale = classifier.logit_scale
    labels = scale * (vectors @ classifier.labels.T)
    others = scale * (vectors @ classifier.competitors.T)
    if others.shape[1] == 0:
        return np.ones_like(labels)
    rest = _logsumexp(others)[:, None]
    return 1.0 / (1.0 + np.exp(rest - labels))  # e^l / (e^l + sum e^f)


def _candidates(classifier: Classifier, vectors: np.ndarray) -> np.ndarray:
    """Softmax over every label and fallback entry (single-label sets)."""
    both = np.concatenate([classifier.labels, classifier.competitors])
    return _softmax(classifier.logit_scale * (vectors @ both.T))


def decide(classifier: Classifier, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
    """For each photo (row of ``vectors``): the (label, probability) pairs to apply."""
    label_set = classifier.label_set
    if len(vectors) == 0:
        return []
    thresholds = np.array([label_set.threshold_for(x) for x in label_set.labels])
    names = [x.name for x in label_set.labels]
    if label_set.multi_label:
        probabilities = label_probabilities(classifier, vectors)
        chosen = probabilities >= thresholds
        return [[(names[j], float(row[j])) for j in np.flatnonzero(keep)]
                for row, keep in zip(probabilities, chosen, strict=True)]
    everything = _candidates(classifier, vectors)
    ranked = np.sort(everything, axis=1)
    runner_up = ranked[:, -2] if everything.shape[1] > 1 else np.zeros(len(vectors))
    best = everything.argmax(axis=1)
    decided: list[list[tuple[str, float]]] = []
    for row, top, second in zip(everything, best, runner_up, strict=True):
        is_label = top < len(names)
        keep = (is_label and row[top] >= thresholds[top]
                and row[top] - second >= label_set.margin)
        decided.append([(names[top], float(row[top]))] if keep else [])
    return decided


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1)
    return top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
