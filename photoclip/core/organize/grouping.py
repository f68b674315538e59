"""Grouping photos into copies, near-identical pictures and similar shots. Pure numpy.

Three nested tiers, each a partition of the photos:

- **copies**: the same content (content hash);
- **near-identical**: the same picture in another file (resized, recompressed,
  converted, lightly cropped or edited, metadata stripped): perceptual hashes a few bits
  apart *and* CLIP vectors close *and* not captured at different times (a burst's frames
  hash alike but are different shots); without hashes (no `dupes` extra), CLIP alone at
  a stricter bar;
- **similar shots**: near-identical, or CLIP vectors close and captured within seconds
  of each other by the headers' clock (bursts and sequences).

Candidates come from the vector index: each photo's k nearest neighbours (the caller
asks the index). Groups are then joined pair by pair, closest first, with a guard
against chaining: two groups join only if their *anchors* (each group's first photo)
are themselves close enough and, for similar shots, the joined group's capture times
span no more than ``span_seconds``. So a slow pan of fifty frames, each a small step
from the last, does not become one group of very different pictures.

A group's id is its anchor's photo id. An incremental update seeds the groups already
known (with their anchors) and adds only the new photos' pairs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from ..catalog.looks import StackRows

TIERS = ("copies", "near", "similar")


@dataclass(frozen=True)
class Thresholds:
    """Where the tiers start (chosen on benchmarks/bench_duplicates.py's corpus)."""

    near_hash_bits: int = 10  # pHash bits that may differ for near-identical...
    near_cosine: float = 0.80  # ...with CLIP vectors at least this close
    clip_only_near_cosine: float = 0.985  # near-identical when a photo has no hash
    similar_cosine: float = 0.85  # similar shots: this close...
    burst_seconds: float = 30.0  # ...and captured at most this far apart
    # Two photos whose headers say they were taken this far apart or more are two shots,
    # however alike: a copy keeps its original's capture time (a stripped one has none).
    same_shot_seconds: float = 1.0
    span_seconds: float = 600.0  # a similar group's capture times span at most this
    guard_slack: float = 0.05  # anchors may be this much less close than a pair
    neighbours: int = 16  # candidates per photo from the vector index

    def key(self) -> str:
        """What the stored groups were made with (with the model id): another key regroups."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class GroupingInputs:
    """Photos in one order: ids, unit CLIP vectors, hashes, capture times, content hashes."""

    ids: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d), unit length
    phash: np.ndarray  # int64 (n,)
    has_hash: np.ndarray  # bool (n,)
    taken_at: np.ndarray  # float64 (n,), NaN unknown
    content_hash: list[str]

    def index_of(self) -> dict[int, int]:
        return {int(pid): i for i, pid in enumerate(self.ids)}


def hash_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between int64 hashes, elementwise (as unsigned: numpy counts the
    bits of a negative int64's magnitude, not of its two's complement)."""
    xor = np.bitwise_xor(np.asarray(a, np.int64), np.asarray(b, np.int64))
    return np.bitwise_count(xor.view(np.uint64)).astype(np.int64)


class _Partition:
    """Union-find with an anchor per group and, for similar shots, the time span."""

    def __init__(self, n: int, taken_at: np.ndarray) -> None:
        self.parent = np.arange(n)
        self.size = np.ones(n, np.int64)
        self.anchor = np.arange(n)
        self.first = taken_at.copy()
        self.last = taken_at.copy()

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def join(self, a: int, b: int) -> None:
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.first[a] = np.fmin(self.first[a], self.first[b])
        self.last[a] = np.fmax(self.last[a], self.last[b])

    def span_if_joined(self, a: int, b: int) -> float:
        first, last = np.fmin(self.first[a], self.first[b]), np.fmax(self.last[a], self.last[b])
        return 0.0 if np.isnan(first) else float(last - first)

    def labels(self) -> np.ndarray:
        return np.array([self.anchor[self.find(i)] for i in range(len(self.parent))])


def pairs_from_neighbours(query_rows: np.ndarray, neighbour_rows: np.ndarray, neighbour_cos: np.ndarray,
                          lowest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, cosine) for each neighbour pair at or above ``lowest``, each unordered pair
    once, closest first. ``neighbour_rows[r]``: the rows (-1: none) of the nearest photos
    to row ``query_rows[r]``, ``neighbour_cos[r]`` their cosines."""
    i = np.repeat(query_rows, neighbour_rows.shape[1])
    j = neighbour_rows.reshape(-1)
    cos = neighbour_cos.reshape(-1).astype(np.float64)
    keep = (j >= 0) & (j != i) & (cos >= lowest)
    i, j, cos = i[keep], j[keep], cos[keep]
    low, high = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((high, low, -cos))
    low, high, cos = low[order], high[order], cos[order]
    pair = low * (int(high.max(initial=0)) + 1) + high
    _, first = np.unique(pair, return_index=True)
    first.sort()
    return low[first], high[first], cos[first]


def group(inputs: GroupingInputs, pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
          thresholds: Thresholds, *, apart: Iterable[int] = (),
          known: StackRows | None = None) -> dict[int, tuple[int | None, int | None, int | None]]:
    """Each photo's (copies, near, similar) group ids (None: alone at that tier), from
    ``pairs`` (``pairs_from_neighbours``). ``apart``: photo ids never grouped. ``known``:
    the groups already stored for some of these photos (an incremental update starts
    from them)."""
    t = thresholds
    n = len(inputs.ids)
    left_out = np.isin(inputs.ids, np.fromiter(apart, np.int64))
    i, j, cos = pairs
    ok = ~(left_out[i] | left_out[j])
    i, j, cos = i[ok], j[ok], cos[ok]
    same_content = np.array([inputs.content_hash[a] != "" and inputs.content_hash[a] == inputs.content_hash[b]
                             for a, b in zip(i, j, strict=True)], bool)
    hashed = inputs.has_hash[i] & inputs.has_hash[j]
    bits = hash_bits(inputs.phash[i], inputs.phash[j])
    gap = np.abs(inputs.taken_at[i] - inputs.taken_at[j])
    one_shot = ~(gap >= t.same_shot_seconds)  # NaN (a time unknown): could be one shot
    near = same_content | (one_shot & np.where(hashed, (bits <= t.near_hash_bits) & (cos >= t.near_cosine),
                                               cos >= t.clip_only_near_cosine))
    similar = near | ((cos >= t.similar_cosine) & (gap <= t.burst_seconds))  # NaN gap: False

    copies = _copies(inputs, left_out)
    near_parts = _Partition(n, inputs.taken_at)
    similar_parts = _Partition(n, inputs.taken_at)
    if known:
        _seed(inputs, known, near_parts, similar_parts)
    for row in np.flatnonzero(copies != np.arange(n)):  # copies are near-identical, neighbours or not
        _join_plain(near_parts, int(row), int(copies[row]))
    for a, b in zip(i[near], j[near], strict=True):
        _join_guarded(inputs, near_parts, int(a), int(b), t, "near")
    for row in range(n):  # every near-identical group lies inside one group of similar shots
        root = near_parts.find(row)
        if root != row:
            _join_plain(similar_parts, row, root)
    for a, b in zip(i[similar], j[similar], strict=True):
        _join_guarded(inputs, similar_parts, int(a), int(b), t, "similar")
    return _rows(inputs, copies, near_parts.labels(), similar_parts.labels())


def _copies(inputs: GroupingInputs, left_out: np.ndarray) -> np.ndarray:
    """Each row's copies group (the row of the first photo with its content hash)."""
    first: dict[str, int] = {}
    labels = np.arange(len(inputs.ids))
    for row, digest in enumerate(inputs.content_hash):
        if digest and not left_out[row]:
            labels[row] = first.setdefault(digest, row)
    return labels


def _seed(inputs: GroupingInputs, known: StackRows, near: _Partition, similar: _Partition) -> None:
    """Start from the stored groups: members joined, the stored anchor kept as anchor."""
    rows = inputs.index_of()
    for parts, column in ((near, 1), (similar, 2)):
        members: dict[int, list[int]] = {}
        for pid, ids in known.items():
            if ids[column] is not None and pid in rows:
                members.setdefault(ids[column], []).append(rows[pid])
        for anchor_id, found in members.items():
            anchor = rows.get(anchor_id, found[0])
            for row in found:
                _join_plain(parts, row, anchor)
            parts.anchor[parts.find(anchor)] = anchor


def _join_plain(parts: _Partition, a: int, b: int) -> None:
    ra, rb = parts.find(a), parts.find(b)
    if ra != rb:
        anchor = parts.anchor[ra] if parts.size[ra] >= parts.size[rb] else parts.anchor[rb]
        parts.join(ra, rb)
        parts.anchor[parts.find(ra)] = anchor


def _join_guarded(inputs: GroupingInputs, parts: _Partition, a: int, b: int, t: Thresholds,
                  tier: str) -> None:
    ra, rb = parts.find(a), parts.find(b)
    if ra == rb:
        return
    x, y = int(parts.anchor[ra]), int(parts.anchor[rb])
    anchors_cos = float(inputs.vectors[x] @ inputs.vectors[y])
    if tier == "near":
        if parts.span_if_joined(ra, rb) >= t.same_shot_seconds:
            return  # it would hold two shots (a stripped copy bridging a burst's frames)
        if inputs.content_hash[x] == inputs.content_hash[y] != "":
            pass  # the anchors are copies of each other
        elif inputs.has_hash[x] and inputs.has_hash[y]:
            if (int(hash_bits(inputs.phash[x:x + 1], inputs.phash[y:y + 1])[0]) > 2 * t.near_hash_bits
                    or anchors_cos < t.near_cosine - t.guard_slack):
                return
        elif anchors_cos < t.clip_only_near_cosine - t.guard_slack / 5:
            return
    elif anchors_cos < t.similar_cosine - t.guard_slack or parts.span_if_joined(ra, rb) > t.span_seconds:
        return
    _join_plain(parts, ra, rb)


def _rows(inputs: GroupingInputs, copies: np.ndarray, near: np.ndarray,
          similar: np.ndarray) -> dict[int, tuple[int | None, int | None, int | None]]:
    """Group ids by photo id; a group of one is no group (None)."""
    ids = inputs.ids

    def named(labels: np.ndarray) -> list[int | None]:
        counts = np.bincount(labels, minlength=len(ids))
        return [int(ids[label]) if counts[label] > 1 else None for label in labels]

    return {int(pid): triple for pid, triple in zip(ids, zip(named(copies), named(near), named(similar),
                                                              strict=True), strict=True)}


def tier_groups(rows: Mapping[int, tuple[int | None, int | None, int | None]], tier: str) -> list[list[int]]:
    """The groups of ``tier`` in ``rows`` (each sorted; groups by their first id)."""
    column = TIERS.index(tier)
    found: dict[int, list[int]] = {}
    for pid, ids in rows.items():
        if ids[column] is not None:
            found.setdefault(ids[column], []).append(pid)
    return sorted((sorted(m) for m in found.values() if len(m) > 1), key=lambda m: m[0])
