"""Tags, label sets, concepts and albums over a ``Library``: what the CLI's
``tag``/``tags``/``albums``/``concept`` commands and the app's sidebar call.

Scores come from stored vectors; writes go through the library's writer lock;
sidecars are written only when the user turned them on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import albums as album_rules
from .catalog_tags import concept_set
from .concepts import NAME_TEMPLATE, Concept, ConceptError, learn_concept
from .labelsets import LabelSet, LabelSetError, available_label_sets, install_label_set
from .models import Album, SmartAlbum, Tag
from .query import parse_query
from .settings import save_settings
from .tagging import Classifier, build_classifier, decide
from .xmp_sync import SidecarSync

if TYPE_CHECKING:
    from .catalog import Catalog
    from .library import Library

log = logging.getLogger(__name__)

CHUNK = 4096  # photos scored at once: bounded memory on big libraries
CONCEPT_SAMPLE = 2000  # non-examples a concept is told apart from


@dataclass
class TagRun:
    """What tagging the library with one label set (or concept) did."""

    label_set: str
    photos: int = 0
    tags: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class Organizer:
    def __init__(self, library: Library) -> None:
        self._library = library
        self._classifiers: dict[tuple[str, str], Classifier] = {}
        self._concepts: dict[tuple[str, str, tuple[int, ...]], Concept] = {}
        # The album list, with the state it was computed from: listing 100,000 photos'
        # albums takes ~1 s, and the app asks again every few seconds while indexing.
        self._albums: tuple[tuple[object, ...], list[Album]] | None = None
        self._album_failed = False
        self.sidecars = SidecarSync(library.catalog, lambda: library.settings, self.owned_names)

    @property
    def _catalog(self) -> Catalog:
        return self._library.catalog

    # -- label sets ------------------------------------------------------------------
    def label_sets(self) -> dict[str, LabelSet]:
        return available_label_sets(self._library.paths.label_sets)

    def resolve_label_set(self, name_or_file: str) -> LabelSet:
        """A built-in or user set by name, or a TOML file (installed for later runs)."""
        path = Path(name_or_file).expanduser()
        if path.suffix.lower() == ".toml" or path.is_file():
            return install_label_set(path, self._library.paths.label_sets)
        found = self.label_sets().get(name_or_file)
        if found is None:
            known = ", ".join(sorted(self.label_sets())) or "none"
            raise LabelSetError(f"no label set named {name_or_file!r} (known: {known}; "
                                "or give a .toml file)")
        return found

    def enabled_label_sets(self) -> list[LabelSet]:
        known = self.label_sets()
        missing = [n for n in self._library.settings.label_sets if n not in known]
        if missing:
            log.warning("enabled label sets not found, skipped: %s", ", ".join(missing))
        return [known[n] for n in self._library.settings.label_sets if n in known]

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a set on or off for new photos (saved in settings.toml); turning it
        off also removes its auto tags."""
        settings = self._library.settings
        names = [n for n in settings.label_sets if n != name] + ([name] if enabled else [])
        if names != settings.label_sets:
            settings.label_sets = names
            save_settings(settings, self._library.paths.settings)
        if not enabled:
            with self._library.writing("tag"):
                removed = self._catalog.forget_label_set(name)
            self.sidecars.write(sorted({pid for pid, _ in removed}),
                                remove={tag for _, tag in removed})

    def owned_names(self) -> set[str]:
        """Tag names PhotoClip decides on (its sets' labels and concepts): the ones
        it may take out of a sidecar again when it no longer applies them."""
        names = {label.name for s in self.enabled_label_sets() for label in s.labels}
        return names | set(self._catalog.concepts())

    # -- tagging ---------------------------------------------------------------------
    def classifier(self, label_set: LabelSet) -> Classifier:
        encoder = self._library.encoder
        key = (encoder.model_id, label_set.digest)
        if key not in self._classifiers:
            self._classifiers[key] = build_classifier(
                label_set, encoder, self._library.paths.class_vectors)
        return self._classifiers[key]

    def tag_library(self, label_set: LabelSet, *, enable: bool = True) -> TagRun:
        """Tag every indexed photo with ``label_set`` (replacing its earlier auto
        tags, never user decisions) and, by default, keep it on for new photos."""
        classifier = self.classifier(label_set)
        with self._library.writing("tag"):
            ids, vectors = self._catalog.all_vectors(self._library.encoder.model_id)
            run = self._write_decisions(classifier, ids, vectors)
        if enable:
            self.set_enabled(label_set.name, True)
        self.sidecars.write(ids.tolist())
        return run

    def _write_decisions(self, classifier: Classifier, ids: np.ndarray,
                         vectors: np.ndarray) -> TagRun:
        label_set = classifier.label_set
        run = TagRun(label_set.name, photos=len(ids))
        decided: list[tuple[int, str, float]] = []
        for start in range(0, len(ids), CHUNK):
            rows = decide(classifier, vectors[start:start + CHUNK])
            for pid, tags in zip(ids[start:start + CHUNK].tolist(), rows, strict=True):
                decided += [(pid, name, score) for name, score in tags]
        for _, name, _ in decided:
            run.counts[name] = run.counts.get(name, 0) + 1
        run.tags = self._catalog.replace_auto_tags(
            label_set.name, label_set.version_tag, classifier.model_id, ids.tolist(), decided)
        return run

    def tag_new_photos(self, photo_ids: Sequence[int]) -> None:
        """Keywords, enabled sets and concepts for photos just indexed (call while
        writing). Never fails indexing: a problem is logged and the photos stay untagged."""
        if not photo_ids:
            return
        if self._library.settings.read_keywords:
            self.sidecars.import_keywords(photo_ids)
        ids, vectors = self._catalog.vectors_of(list(photo_ids), self._library.encoder.model_id)
        if not len(ids):
            return
        try:
            for label_set in self.enabled_label_sets():
                self._write_decisions(self.classifier(label_set), ids, vectors)
            for concept in self.concepts().values():
                self._write_concept(concept, ids, vectors)
        except Exception:  # tagging is extra: the photos are indexed whatever happens here
            log.exception("tagging new photos failed; `photoclip tag` retries")
        self.sidecars.write(ids.tolist())

    # -- one photo's tags ------------------------------------------------------------
    def photo_tags(self, path: Path) -> list[Tag]:
        return self._catalog.tags(self._library.photo_at(path).id)

    def add_tags(self, path: Path, names: list[str]) -> None:
        self._decide(path, names, "user")

    def confirm(self, path: Path, names: list[str]) -> None:
        """The auto tags are right: they become user tags (no run removes them)."""
        self._decide(path, names, "user")

    def reject(self, path: Path, names: list[str]) -> None:
        """The auto tags are wrong: hidden, and no later run adds them again."""
        self._decide(path, names, "rejected")

    def remove_tags(self, path: Path, names: list[str]) -> None:
        photo = self._library.photo_at(path)
        with self._library.writing("tag"):
            self._catalog.remove_tags(photo.id, names)
        self.sidecars.write([photo.id])

    def _decide(self, path: Path, names: list[str], source: str) -> None:
        photo = self._library.photo_at(path)
        with self._library.writing("tag"):
            for name in names:
                self._catalog.set_tag_source(photo.id, name.strip(), source)
        self.sidecars.write([photo.id])

    def tag_counts(self) -> list[tuple[str, int]]:
        return self._catalog.tag_counts()

    # -- concepts --------------------------------------------------------------------
    def add_concept(self, name: str, examples: Sequence[Path]) -> Concept:
        """Learn ``name`` from example photos of the library and tag the library with it."""
        name = name.strip()
        if not name:
            raise ConceptError("a concept needs a name")
        ids = tuple(dict.fromkeys(self._library.photo_at(p).id for p in examples))
        concept = self._learn(name, ids)
        with self._library.writing("concept"):
            self._catalog.save_concept(name, ids)
            for pid in ids:  # the user said these are it
                self._catalog.set_tag_source(pid, name, "user")
            all_ids, vectors = self._catalog.all_vectors(self._library.encoder.model_id)
            self._write_concept(concept, all_ids, vectors)
        self.sidecars.write(all_ids.tolist())
        return concept

    def remove_concept(self, name: str) -> bool:
        with self._library.writing("concept"):
            return self._catalog.delete_concept(name)

    def concepts(self) -> dict[str, Concept]:
        """Every concept, learned for the current model (cached until examples change)."""
        learned = {}
        for name, ids in self._catalog.concepts().items():
            try:
                learned[name] = self._learn(name, tuple(ids))
            except ConceptError as exc:  # examples deleted or not yet re-encoded
                log.warning("concept %r unavailable: %s", name, exc)
        return learned

    def _learn(self, name: str, ids: tuple[int, ...]) -> Concept:
        model_id = self._library.encoder.model_id
        key = (model_id, name, ids)
        if key not in self._concepts:
            found, examples = self._catalog.vectors_of(list(ids), model_id)
            if len(found) < len(ids):
                raise ConceptError(f"{len(ids) - len(found)} of the examples are not indexed")
            self._concepts[key] = learn_concept(
                name, ids, examples, self._others(set(ids), model_id), self._name_vector(name))
        return self._concepts[key]

    def _others(self, exclude: set[int], model_id: str) -> np.ndarray:
        every = [pid for pid, _ in self._catalog.photo_times() if pid not in exclude]
        sample = random.Random(0).sample(every, min(CONCEPT_SAMPLE, len(every)))
        ids, vectors = self._catalog.vectors_of(sample, model_id)
        return vectors if len(ids) else np.empty((0, 0), np.float32)

    def _name_vector(self, name: str) -> np.ndarray | None:
        from .encoder import ModelUnavailable

        try:
            return self._library.encoder.encode_texts([NAME_TEMPLATE.format(name)])[0]
        except ModelUnavailable:  # learned from the pictures alone
            return None

    def _write_concept(self, concept: Concept, ids: np.ndarray, vectors: np.ndarray) -> None:
        scores = vectors @ concept.vector if len(ids) else np.empty(0)
        decided = [(pid, concept.name, float(s)) for pid, s in zip(ids.tolist(), scores, strict=True)
                   if s >= concept.threshold]
        version = f"{len(concept.example_ids)}:{hash(concept.example_ids) & 0xFFFFFF:06x}"
        self._catalog.replace_auto_tags(concept_set(concept.name), version,
                                        self._library.encoder.model_id, ids.tolist(), decided)

    # -- albums ----------------------------------------------------------------------
    def albums(self) -> list[Album]:
        """Smart albums, then events (newest first), then one per tag (biggest first).
        Recomputed only when photos, tags or the album settings changed."""
        settings = self._library.settings
        state = (self._catalog.vector_epoch(), self._catalog.tags_epoch(),
                 self._library.encoder.model_id, settings.album_min_photos,
                 settings.event_gap_hours)
        cached = self._albums
        if cached is not None and cached[0] == state:
            return list(cached[1])
        self._album_failed = False
        listed = self._list_albums()
        # A smart album that could not be filled (no model yet) is tried again next time.
        self._albums = None if self._album_failed else (state, listed)
        return list(listed)

    def _list_albums(self) -> list[Album]:
        settings = self._library.settings
        counts = self.tag_counts()
        big = [name for name, count in counts if count >= settings.album_min_photos]
        members = {name: self._catalog.photo_ids_with_tag(name) for name in big}
        times = self._catalog.photo_times()
        tags = self._catalog.tags_of([pid for pid, _ in times])
        return [
            *(self._smart_album_or_empty(a) for a in self._catalog.smart_albums()),
            *album_rules.event_albums(times, tags, gap_hours=settings.event_gap_hours,
                                      min_photos=settings.album_min_photos),
            *album_rules.tag_albums(counts, members, settings.album_min_photos),
        ]

    def save_smart_album(self, name: str, query: str, min_score: float,
                         cwd: Path | None = None) -> SmartAlbum:
        """Save a search; its photos are found again every time it is listed."""
        name = name.strip()
        if not name:
            raise ValueError("a smart album needs a name")
        parse_query(query, cwd)  # refuse a query that can't run, now rather than later
        album = SmartAlbum(name, query, float(min_score))
        with self._library.writing("album"):
            self._catalog.save_smart_album(album)
        return album

    def remove_smart_album(self, name: str) -> bool:
        with self._library.writing("album"):
            return self._catalog.delete_smart_album(name)

    def _smart_album_or_empty(self, saved: SmartAlbum) -> Album:
        from .encoder import ModelUnavailable
        from .query import QueryError

        try:
            return self.smart_album(saved)
        except (ModelUnavailable, QueryError, OSError) as exc:  # listed, shown empty, said why
            log.warning("smart album %r cannot be filled: %s", saved.name, exc)
            self._album_failed = True
            return Album(saved.name, "smart", (), key=saved.name)

    def smart_album(self, saved: SmartAlbum) -> Album:
        """Every photo scoring at least the album's cutoff, best first."""
        searcher = self._library.searcher
        if self._catalog.vector_dim(self._library.encoder.model_id) is None:
            return Album(saved.name, "smart", (), key=saved.name)
        vector = searcher.query_vector(parse_query(saved.query))
        top = 256
        while True:  # the index answers the best k; ask for more until the cutoff is passed
            hits = searcher.nearest(vector, top, saved.min_score)
            if len(hits) < top:
                break
            top *= 4
        return Album(saved.name, "smart", tuple(h.photo.id for h in hits), key=saved.name)
