"""Duplicates and stacks over a library: grouping (``grouping``) fed from the catalog and
the vector index, kept up to date as photos arrive, and read back as groups with a
suggested photo to keep (``best_photo``).

The groups are stored in the catalog (``photo_stacks``) with what they were made with
(the model and the thresholds): a search collapses stacks at once, without regrouping.
A full regrouping runs when that changes or nothing is stored yet; new photos are added
incrementally (their neighbours only).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from ..catalog.looks import TIERS
from ..catalog.store import Catalog
from ..files.looks import hashing_available
from ..models import Photo
from ..search.index_store import IndexStore
from ..search.vector_index import VectorIndex
from .best_photo import Choice, choose_best
from .grouping import GroupingInputs, Thresholds, group, pairs_from_neighbours

log = logging.getLogger(__name__)

Writing = Callable[[str], AbstractContextManager[object]]
THROUGH_KEY = "stacks_through_id"  # catalog meta: the highest photo id the groups have seen


@dataclass(frozen=True)
class DuplicateGroup:
    """One group at a tier: its photos, the one suggested to keep and why."""

    tier: str
    photos: tuple[Photo, ...]
    keep: Photo
    reason: str

    @property
    def extras(self) -> tuple[Photo, ...]:
        return tuple(p for p in self.photos if p != self.keep)

    @property
    def extra_bytes(self) -> int:
        return sum(p.size for p in self.extras)


class Duplicates:
    def __init__(self, catalog: Catalog, index: IndexStore, model_id: str, writing: Writing,
                 thresholds: Thresholds | None = None) -> None:
        self._catalog, self._index, self._model_id = catalog, index, model_id
        self._writing = writing
        self.thresholds = thresholds or Thresholds()

    def made_with(self) -> str:
        """The model, the thresholds and whether hashes were there: a change regroups."""
        return f"{self._model_id}|{self.thresholds.key()}|hashes={hashing_available()}"

    # -- keeping the groups ------------------------------------------------------------
    def ensure_grouped(self) -> bool:
        """Regroup everything when the stored groups were made otherwise (or never);
        True when it regrouped."""
        if self._catalog.stacks_made_with() == self.made_with():
            return False
        self.regroup()
        return True

    def update(self) -> None:
        """Bring the groups up to date: all of them when they were made otherwise, else
        the photos indexed since the last update (ids above the one it reached)."""
        if self.ensure_grouped():
            return
        through = int(self._catalog.get_meta(THROUGH_KEY) or 0)
        ids = self._catalog.looks_rows().ids
        new = ids[ids > through]
        if len(new):
            self.add_photos(new.tolist())
            with self._writing("duplicates"):
                self._catalog.set_meta(THROUGH_KEY, str(int(ids.max())))

    def regroup(self) -> int:
        """Group every indexed photo from scratch; returns how many photos are grouped."""
        inputs = self._inputs(None)
        if inputs is None:
            rows: dict[int, tuple[int | None, int | None, int | None]] = {}
        else:
            rows = self._grouped(inputs, np.arange(len(inputs.ids)), None)
        with self._writing("duplicates"):
            self._catalog.replace_stacks(rows, self.made_with())
            self._catalog.set_meta(THROUGH_KEY, str(int(inputs.ids.max())) if inputs is not None else "0")
        return sum(1 for r in rows.values() if r != (None, None, None))

    def add_photos(self, photo_ids: Sequence[int]) -> None:
        """Group newly indexed photos with their neighbours and the groups those are in."""
        if not len(photo_ids) or self.ensure_grouped():
            return
        index = self._vector_index()
        if index is None:
            return
        new = np.array(sorted(set(photo_ids)), np.int64)
        live, vectors = index.vectors_of(new)
        if not len(live):
            return
        labels, _ = index.neighbours(vectors, self.thresholds.neighbours)
        stored = self._catalog.stack_rows()
        touched = set(live.tolist()) | {int(x) for x in labels.reshape(-1) if x >= 0}
        # Whole groups: a photo's group mates come along, so its group is rewritten whole.
        groups = {g for pid in touched for g in stored.get(pid, ()) if g is not None}
        touched |= {pid for pid, ids in stored.items() if groups & {g for g in ids if g is not None}}
        inputs = self._inputs(sorted(touched))
        if inputs is None:
            return
        rows_of = inputs.index_of()
        queries = np.array([rows_of[int(pid)] for pid in live if int(pid) in rows_of], np.int64)
        known = {pid: ids for pid, ids in stored.items() if pid in rows_of}
        rows = self._grouped(inputs, queries, known)
        with self._writing("duplicates"):
            self._catalog.update_stacks(rows)

    def _vector_index(self) -> VectorIndex | None:  # None: no vectors yet
        loaded = self._index.loaded
        if loaded is not None:
            return loaded
        dim = self._catalog.vector_dim(self._model_id)
        return None if dim is None else self._index.get(dim)

    def _inputs(self, photo_ids: Sequence[int] | None) -> GroupingInputs | None:
        index = self._vector_index()
        looks = self._catalog.looks_rows(photo_ids)
        if index is None or not len(looks.ids):
            return None
        live, vectors = index.vectors_of(looks.ids)  # in the order asked
        keep = np.isin(looks.ids, live)  # a photo with no vector for this model: not grouped
        return GroupingInputs(ids=looks.ids[keep], vectors=vectors, phash=looks.phash[keep],
                              has_hash=looks.has_hash[keep], taken_at=looks.taken_at[keep],
                              content_hash=[h for h, k in zip(looks.content_hash, keep, strict=True) if k])

    def _grouped(self, inputs: GroupingInputs, query_rows: np.ndarray,
                 known: dict[int, tuple[int | None, int | None, int | None]] | None,
                 ) -> dict[int, tuple[int | None, int | None, int | None]]:
        """Neighbours of ``query_rows`` from the index (ids outside ``inputs`` dropped),
        then the grouping."""
        t = self.thresholds
        index = self._vector_index()
        labels, cosines = index.neighbours(inputs.vectors[query_rows], t.neighbours + 1)
        # Photo ids to rows of ``inputs`` (its ids ascend); -1 for one not among them.
        at = np.minimum(np.searchsorted(inputs.ids, labels), max(len(inputs.ids) - 1, 0))
        as_rows = np.where((labels >= 0) & (inputs.ids[at] == labels), at, -1)
        lowest = min(t.near_cosine, t.similar_cosine, t.clip_only_near_cosine)
        pairs = pairs_from_neighbours(query_rows, as_rows, cosines, lowest)
        apart = [pid for pid, choice in self._catalog.duplicate_choices().items() if choice == "apart"]
        return group(inputs, pairs, t, apart=apart, known=known)

    # -- reading them --------------------------------------------------------------------
    def members(self, stack_id: int, tier: str = "similar") -> list[Photo]:
        """The live photos of one group (a stack shown as one hit), newest first."""
        ids = [pid for pid, g in self._catalog.stacks_of_group(stack_id, tier)]
        photos = self._catalog.photos_by_ids(ids)
        return sorted(photos.values(), key=lambda p: (-(p.taken_at or 0), p.id))

    def groups(self, tier: str = "near") -> list[DuplicateGroup]:
        """The groups at ``tier`` ("copies", "near", "similar"), largest space to free first."""
        if tier not in TIERS:
            raise ValueError(f"the tier is one of {', '.join(TIERS)}, not {tier!r}")
        self.ensure_grouped()
        found = self._catalog.groups(tier)
        photos = self._catalog.photos_by_ids([pid for members in found for pid in members])
        sharpness = self._catalog.sharpness_of(photos)
        choices = self._catalog.duplicate_choices()
        tags = Counter(pid for pid, _ in self._catalog.tag_rows() if pid in photos)  # one query
        concepts = {pid for examples in self._catalog.concepts().values() for pid in examples}
        metas = self._catalog.meta_of(photos)
        with_camera = {pid for pid, m in metas.items() if m.camera_make or m.taken_source != "file"}
        out = []
        for members in found:
            present = [photos[pid] for pid in members if pid in photos]
            if len(present) < 2:
                continue
            best: Choice = choose_best(present, sharpness=sharpness, tags=tags, in_concepts=concepts,
                                       chosen={pid for pid, c in choices.items() if c == "best"},
                                       with_camera=with_camera)
            out.append(DuplicateGroup(tier, tuple(present), best.photo, best.reason))
        return sorted(out, key=lambda g: (-g.extra_bytes, str(g.keep.path)))
