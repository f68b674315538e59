"""Search results with their stacks folded: each duplicate group (organize/grouping.py)
shows as its best-ranked photo, carrying the group's id and size, so the first screen
shows different photos rather than eight frames of one burst."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ..models import SearchHit

# photo ids -> {photo id: (its group's id, the group's size)} for those in a group
StacksOf = Callable[[Iterable[int]], dict[int, tuple[int, int]]]
STACKS_ENV = "PHOTOCLIP_STACKS"  # overrides the ``stacks`` setting for one run (tests, scripts)


def stacks_tier(setting: str) -> str | None:
    """The tier search folds ("near", "similar"), None when folding is off."""
    chosen = os.environ.get(STACKS_ENV) or setting
    return None if chosen == "off" else chosen


def fold_stacks(hits: Sequence[SearchHit], stacks_of: StacksOf) -> tuple[list[SearchHit], int]:
    """The hits with every stack's later hits left out, and how many were left out."""
    stacks = stacks_of(h.photo.id for h in hits)
    seen: set[int] = set()
    kept = []
    for hit in hits:
        found = stacks.get(hit.photo.id)
        if found is None:
            kept.append(hit)
            continue
        stack_id, size = found
        if stack_id not in seen:
            seen.add(stack_id)
            kept.append(replace(hit, stack_id=stack_id, stack_size=size))
    return kept, len(hits) - len(kept)


def mark_stacks(hits: Sequence[SearchHit], stacks_of: StacksOf) -> list[SearchHit]:
    """The hits, each in a stack marked with it (nothing left out: a page of the library
    in date order keeps its count and paging)."""
    stacks = stacks_of(h.photo.id for h in hits)
    return [replace(h, stack_id=stacks[h.photo.id][0], stack_size=stacks[h.photo.id][1])
            if h.photo.id in stacks else h for h in hits]
