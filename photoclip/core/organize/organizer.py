"""Tags and label sets over a library's parts, with its concepts and albums: what the
CLI's ``tag``/``tags``/``albums``/``concept`` commands and the app call.

Scores come from stored vectors; writes go through the library's writer lock;
sidecars are written only when the user turned them on, and only for photos
whose tags changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models import Album, SmartAlbum, Tag
from ..search.query import QueryError
from ..settings import load_settings, save_settings
from .album_book import AlbumBook
from .concept_book import ConceptBook
from .concepts import Concept
from .labelsets import (
    LabelSet,
    LabelSetError,
    available_label_sets,
    builtin_dir,
    install_label_set,
    label_set_problems,
)
from .parts import LibraryParts
from .tagging import Classifier, build_classifier, decide
from .xmp_sync import SidecarSync

log = logging.getLogger(__name__)

CHUNK = 4096  # photos scored at once: bounded memory on big libraries


@dataclass
class TagRun:
    """What tagging the library with one label set did."""

    label_set: str
    photos: int = 0
    tags: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    changed: set[int] = field(default_factory=set, repr=False)  # photos whose tags changed
    removed_names: set[str] = field(default_factory=set, repr=False)  # auto tags that went


class Organizer:
    def __init__(self, parts: LibraryParts) -> None:
        self._catalog = parts.catalog
        self._encoder = parts.encoder
        self._paths = parts.paths
        self._settings = lambda: parts.settings  # read at every use: the app may swap them
        self._writing = parts.writing
        self._photo_at = parts.photo_at
        self._classifiers: dict[tuple[str, str], Classifier] = {}
        self._label_sets: tuple[tuple[tuple[str, int], ...], dict[str, LabelSet]] | None = None
        self.sidecars = SidecarSync(self._catalog, self._settings, self.owned_names)
        self.concept_book = ConceptBook(self._catalog, self._encoder, self._writing, self._photo_at,
                                        self.sidecars.write)
        # The searcher is assembled after the organizer (it asks for the concepts).
        self.album_book = AlbumBook(self._catalog, self._encoder, self._settings, self._writing,
                                    lambda: parts.searcher)

    # -- label sets ------------------------------------------------------------------
    def label_sets(self) -> dict[str, LabelSet]:
        """Every usable set; parsed again only when a set file changes (indexing asks
        for the enabled ones with every batch)."""
        user_dir = self._paths.label_sets
        state = tuple((p.name, _mtime(p)) for folder in (builtin_dir(), user_dir)
                      if folder.is_dir() for p in sorted(folder.glob("*.toml")))
        if self._label_sets is None or self._label_sets[0] != state:
            self._label_sets = (state, available_label_sets(user_dir))
        return dict(self._label_sets[1])

    def resolve_label_set(self, name_or_file: str) -> LabelSet:
        """A built-in or user set by name, or a TOML file (installed for later runs)."""
        path = Path(name_or_file).expanduser()
        if path.suffix.lower() == ".toml" or path.is_file():
            return install_label_set(path, self._paths.label_sets)
        found = self.label_sets().get(name_or_file)
        if found is None:
            known = ", ".join(sorted(self.label_sets())) or "none"
            raise LabelSetError(f"no label set named {name_or_file!r} (known: {known}; "
                                "or give a .toml file)")
        return found

    def label_set_problems(self) -> dict[Path, str]:
        return label_set_problems(self._paths.label_sets)

    def enabled_label_sets(self) -> list[LabelSet]:
        known = self.label_sets()
        missing = [n for n in self._settings().label_sets if n not in known]
        if missing:
            log.warning("enabled label sets not found, skipped: %s", ", ".join(missing))
        return [known[n] for n in self._settings().label_sets if n in known]

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a set on or off for new photos (saved in settings.toml); turning it
        off also removes its auto tags."""
        settings = self._settings()
        if enabled != (name in settings.label_sets):
            settings.label_sets = [n for n in settings.label_sets if n != name] + (
                [name] if enabled else [])
            # Only this list goes to the file: the library's settings may carry one-off
            # overrides (--model, --device, PHOTOCLIP_MODEL) that must not be saved.
            stored = load_settings(self._paths.settings)
            stored.label_sets = [n for n in stored.label_sets if n != name] + (
                [name] if enabled else [])
            save_settings(stored, self._paths.settings)
        if not enabled:
            with self._writing("tag"):
                removed = self._catalog.forget_label_set(name)
            self.sidecars.write(sorted({pid for pid, _ in removed}), {t for _, t in removed})

    def owned_names(self) -> set[str]:
        """Tag names PhotoClip decides on (its sets' labels and concepts): the ones
        it may take out of a sidecar again when it no longer applies them."""
        names = {label.name for s in self.enabled_label_sets() for label in s.labels}
        return names | set(self._catalog.concepts())

    # -- tagging ---------------------------------------------------------------------
    def classifier(self, label_set: LabelSet) -> Classifier:
        encoder = self._encoder
        key = (encoder.model_id, label_set.digest)
        if key not in self._classifiers:  # the catalog's vector size checks the disk cache
            self._classifiers[key] = build_classifier(
                label_set, encoder, self._paths.class_vectors,
                dim=self._catalog.vector_dim(encoder.model_id))
        return self._classifiers[key]

    def tag_library(self, label_set: LabelSet, *, enable: bool = True) -> TagRun:
        """Tag every indexed photo with ``label_set`` (replacing its earlier auto
        tags, never user decisions) and, by default, keep it on for new photos."""
        classifier = self.classifier(label_set)
        with self._writing("tag"):
            ids, vectors = self._catalog.all_vectors(self._encoder.model_id)
            run = self._write_decisions(classifier, ids, vectors, everything=True)
        if enable:
            self.set_enabled(label_set.name, True)
        self.sidecars.write(sorted(run.changed), run.removed_names)
        return run

    def _write_decisions(self, classifier: Classifier, ids: np.ndarray, vectors: np.ndarray,
                         *, everything: bool = False) -> TagRun:
        label_set = classifier.label_set
        run = TagRun(label_set.name, photos=len(ids))
        decided: list[tuple[int, str, float]] = []
        for start in range(0, len(ids), CHUNK):
            rows = decide(classifier, vectors[start:start + CHUNK])
            for pid, tags in zip(ids[start:start + CHUNK].tolist(), rows, strict=True):
                decided += [(pid, name, score) for name, score in tags]
        for _, name, _ in decided:
            run.counts[name] = run.counts.get(name, 0) + 1
        run.tags, removed = self._catalog.replace_auto_tags(
            label_set.name, label_set.version_tag, classifier.model_id, ids.tolist(), decided,
            everything=everything)
        run.changed = {pid for pid, _, _ in decided} | {pid for pid, _ in removed}
        run.removed_names = {name for _, name in removed}
        return run

    def tag_new_photos(self, photo_ids: Sequence[int]) -> bool:
        """Keywords, enabled sets and concepts for photos just indexed (call while
        writing). Never fails indexing: a problem is logged and the photos stay untagged,
        still owed their tags (``Catalog.tags_owed``) for the next index. True when done."""
        if not photo_ids:
            return True
        if self._settings().read_keywords:
            self.sidecars.import_keywords(photo_ids)
        ids, vectors = self._catalog.vectors_of(list(photo_ids), self._encoder.model_id)
        if not len(ids):
            return True  # nothing to tag with this model; a mark left waits for its vector
        removed, tagged = self._auto_tag(ids, vectors)
        self.sidecars.write(ids.tolist(), removed)  # a sidecar that can't be written waits
        # Settled last: a kill before this point tags them (and writes sidecars) again.
        return tagged and self._settle_owed(ids.tolist())

    def _auto_tag(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[set[str], bool]:
        """The enabled sets' and the concepts' tags; (auto tags that went, all written)."""
        removed: set[str] = set()
        try:
            for label_set in self.enabled_label_sets():
                removed |= self._write_decisions(self.classifier(label_set), ids, vectors).removed_names
            for concept in self.concepts().values():
                self.concept_book.write_tags(concept, ids, vectors)
        except Exception as exc:  # tagging is extra: the photos are indexed whatever happens here
            # One line for the user (a full disk is the usual cause); the trace with -v.
            log.warning("tagging new photos failed (%s); the next index retries", exc)
            log.debug("tagging new photos failed", exc_info=True)
            return removed, False
        return removed, True

    def _settle_owed(self, photo_ids: list[int]) -> bool:
        try:
            self._catalog.settle_tags_owed(photo_ids)
        except Exception as exc:  # the mark stays: the next index tags them once more
            log.warning("tagging new photos: could not record it (%s)", exc)
            return False
        return True

    # -- one photo's tags ------------------------------------------------------------
    def photo_tags(self, path: Path) -> list[Tag]:
        return self._catalog.tags(self._photo_at(path).id)

    def add_tags(self, path: Path, names: list[str]) -> None:
        self._decide(path, names, "user")

    def confirm(self, path: Path, names: list[str]) -> None:
        """The auto tags are right: they become user tags (no run removes them)."""
        self._decide(path, names, "user")

    def reject(self, path: Path, names: list[str]) -> None:
        """The auto tags are wrong: hidden, and no later run adds them again."""
        self._decide(path, names, "rejected")

    def remove_tags(self, path: Path, names: list[str]) -> None:
        photo = self._photo_at(path)
        with self._writing("tag"):
            self._catalog.remove_tags(photo.id, names)
        self.sidecars.write([photo.id], set(names))

    def _decide(self, path: Path, names: list[str], source: str) -> None:
        photo = self._photo_at(path)
        with self._writing("tag"):
            for name in names:
                self._catalog.set_tag_source(photo.id, name.strip(), source)
        self.sidecars.write([photo.id])

    def tag_counts(self) -> list[tuple[str, int]]:
        return self._catalog.tag_counts()

    def retag_concepts(self) -> dict[str, int]:
        """Every concept over the whole library again (`photoclip tag`: catches up photos
        a run cut short left untagged); returns photos tagged per concept."""
        tagged = {}
        for concept in self.concepts().values():
            with self._writing("tag"):
                ids, vectors = self._catalog.all_vectors(self._encoder.model_id)
                changed = self.concept_book.write_tags(concept, ids, vectors, everything=True)
            self.sidecars.write(sorted(changed))
            tagged[concept.name] = len(self._catalog.photo_ids_with_tag(concept.name))
        return tagged

    def write_sidecars(self, photo_ids: Sequence[int]) -> int:
        """These photos' tags and ratings to their XMP sidecars (when sidecars are on)."""
        return self.sidecars.write(list(photo_ids))

    # -- concepts and albums (kept in their own books) ------------------------------
    def add_concept(self, name: str, examples: Sequence[Path]) -> Concept:
        return self.concept_book.add(name, examples)

    def remove_concept(self, name: str) -> bool:
        return self.concept_book.remove(name)

    def concepts(self) -> dict[str, Concept]:
        return self.concept_book.all()

    def albums(self) -> list[Album]:
        return self.album_book.all()

    def album_members(self, names: Iterable[str]) -> set[int]:
        """The photos in every one of the named albums (names case-insensitive), for
        the ``album:`` filter; an unknown name is a QueryError, said in one line."""
        albums = {a.name.casefold(): a for a in self.albums()}
        members: set[int] | None = None
        for name in names:
            album = albums.get(name.casefold())
            if album is None:
                raise QueryError(f"no album named {name!r}")
            members = set(album.photo_ids) if members is None else members & set(album.photo_ids)
        return members or set()

    def save_smart_album(self, name: str, query: str, min_score: float,
                         cwd: Path | None = None) -> SmartAlbum:
        return self.album_book.save_smart(name, query, min_score, cwd)

    def remove_smart_album(self, name: str) -> bool:
        return self.album_book.remove_smart(name)

    def smart_album(self, saved: SmartAlbum) -> Album:
        return self.album_book.smart(saved)


def _mtime(path: Path) -> int:
    """For the parsed-sets cache; a file that vanished or dangles is skipped when parsed."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
