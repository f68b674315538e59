"""The grouping rules on hand-made photos: exact tiers, the time rule, the chaining guard."""

from __future__ import annotations

import numpy as np

from photoclip.core.organize.grouping import (
    GroupingInputs,
    Thresholds,
    group,
    pairs_from_neighbours,
    tier_groups,
)


def unit(*angles_deg: float) -> np.ndarray:
    """Unit vectors in a plane at these angles (cosine between two: cos of the angle gap)."""
    radians = np.radians(angles_deg)
    return np.stack([np.cos(radians), np.sin(radians), np.zeros_like(radians)], axis=1).astype(np.float32)


def inputs(angles: list[float], hashes: list[int | None], times: list[float | None],
           contents: list[str] | None = None) -> GroupingInputs:
    n = len(angles)
    return GroupingInputs(
        ids=np.arange(1, n + 1, dtype=np.int64), vectors=unit(*angles),
        phash=np.array([h or 0 for h in hashes], np.int64),
        has_hash=np.array([h is not None for h in hashes], bool),
        taken_at=np.array([np.nan if t is None else t for t in times], np.float64),
        content_hash=contents or [f"c{i}" for i in range(n)])


def all_pairs(data: GroupingInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every photo a neighbour of every other (what the index gives on a small library)."""
    n = len(data.ids)
    rows = np.tile(np.arange(n), (n, 1))
    cos = data.vectors @ data.vectors.T
    return pairs_from_neighbours(np.arange(n), rows, cos, -1.0)


def tiers(data: GroupingInputs, thresholds: Thresholds | None = None, **kw) -> dict[str, list[list[int]]]:
    rows = group(data, all_pairs(data), thresholds or Thresholds(), **kw)
    return {tier: tier_groups(rows, tier) for tier in ("copies", "near", "similar")}


def test_copies_near_and_similar_shots_nest() -> None:
    # 1, 2: one content twice; 3: the same picture resized (hash 2 bits off, same time);
    # 4: a burst frame a second later (hash close, yet another shot); 5: another day.
    data = inputs([0, 0, 1, 5, 40], [0b1111, 0b1111, 0b1100, 0b1101, 0b0], [100, 100, 100, 101, 90_000],
                  ["a", "a", "b", "c", "d"])
    assert tiers(data) == {"copies": [[1, 2]], "near": [[1, 2, 3]], "similar": [[1, 2, 3, 4]]}


def test_photos_taken_seconds_apart_are_never_near_identical_but_unknown_times_may_be() -> None:
    data = inputs([0, 3, 0.5], [0, 0, 0], [100, 103, None])
    found = tiers(data)
    assert found["near"] == [[1, 3]]  # 3 has no capture time: its hash and vector decide
    assert found["similar"] == [[1, 2, 3]]


def test_a_chain_of_small_steps_does_not_join_very_different_photos() -> None:
    # A slow pan: each frame 10 degrees (cos 0.985) from the last, a second apart; the first
    # and the last are 90 degrees apart. Similar pairs join only while the group's anchor
    # stays within reach, so the pan breaks into several groups.
    angles = [10.0 * k for k in range(10)]
    data = inputs(angles, [None] * 10, [float(k) for k in range(10)])
    similar = tiers(data, Thresholds(similar_cosine=0.98))["similar"]
    assert len(similar) >= 3 and all(len(g) <= 4 for g in similar)
    flat = sorted(pid for g in similar for pid in g)
    assert flat == sorted(set(flat))  # each photo in one group at most


def test_without_hashes_clip_alone_decides_at_its_stricter_bar() -> None:
    data = inputs([0, 1, 12], [None, None, None], [None, None, None])  # cos(1°)=0.9998, cos(12°)=0.978
    assert tiers(data)["near"] == [[1, 2]]


def test_photos_kept_apart_join_no_group() -> None:
    data = inputs([0, 0, 0], [0, 0, 0], [5, 5, 5], ["a", "a", "b"])
    assert tiers(data, apart=[1]) == {"copies": [], "near": [[2, 3]], "similar": [[2, 3]]}


def test_known_groups_are_kept_with_their_anchor_and_grow() -> None:
    data = inputs([0, 0.5, 1], [0, 0, 0], [7, 7, 7])
    pairs = pairs_from_neighbours(np.array([2]), np.array([[0, 1]]), np.array([[0.9998, 0.9999]]), 0.0)
    rows = group(data, pairs, Thresholds(), known={1: (None, 2, 2), 2: (None, 2, 2)})
    assert rows == {1: (None, 2, 2), 2: (None, 2, 2), 3: (None, 2, 2)}  # 2 stays the anchor


def test_each_pair_is_listed_once_closest_first() -> None:
    rows = np.array([[1, 2], [0, 2]])
    cos = np.array([[0.9, 0.5], [0.9, 0.7]])
    i, j, c = pairs_from_neighbours(np.array([0, 1]), rows, cos, 0.6)
    assert list(zip(i.tolist(), j.tolist(), c.tolist(), strict=True)) == [(0, 1, 0.9), (1, 2, 0.7)]


def test_hash_bits_count_the_sign_bit_like_any_other() -> None:
    from photoclip.core.files.looks import hash_distance
    from photoclip.core.organize.grouping import hash_bits

    a = np.array([-1, -(2**63), 5, -6], np.int64)
    b = np.array([0, 0, -3, -6], np.int64)
    assert hash_bits(a, b).tolist() == [hash_distance(int(x), int(y)) for x, y in zip(a, b, strict=True)]
    assert hash_bits(a, b).tolist() == [64, 1, 61, 0]  # 5 ^ -3 = ...11111000
