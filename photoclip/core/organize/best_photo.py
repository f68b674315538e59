"""Which photo of a duplicate group to keep, and why, in words the user can check.

Criteria, in order; the first that tells the group's two best apart is the reason given:
the user's own pick; the one carrying the user's work (tags, concept examples: merged
anyway, but the photo they were made on is the one they know); the most pixels; the
sharpest (measured at index time; a blurred burst frame loses); the one whose headers
still say which camera took it and when (exporters and messengers strip them); the
better format (what cameras write over exports and web re-saves); the oldest file (an
original predates its copies); the larger file (less compressed); a name that is not a
copy's ("IMG_1 (1).jpg", "copy of ...", "-edited").
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ..models import Photo

# Higher is better: what cameras write over what exports and messengers make of it. A PNG
# or TIFF of a camera's JPEG is an export (bigger, no better); WebP and GIF are web re-saves.
FORMAT_RANK = {".dng": 4, ".heic": 3, ".heif": 3, ".jpg": 3, ".jpeg": 3, ".jpe": 3, ".tif": 2,
               ".tiff": 2, ".png": 2, ".webp": 1, ".gif": 0, ".bmp": 0}
_COPY_NAME = re.compile(r"(\(\d+\)|\bcopy\b|\bkopie\b|\bcopie\b|[-_ ]edited\b|[-_ ]\d{1,2}$|~\d+$)",
                        re.IGNORECASE)
SHARPER_BY = 1.15  # sharpness differing by less than this share is the same sharpness


@dataclass(frozen=True)
class Choice:
    photo: Photo
    reason: str


def looks_like_a_copy(photo: Photo) -> bool:
    return bool(_COPY_NAME.search(photo.path.stem))


def choose_best(photos: Sequence[Photo], *, sharpness: Mapping[int, float], tags: Mapping[int, int],
                in_concepts: Collection[int], chosen: Collection[int],
                with_camera: Collection[int] = ()) -> Choice:
    """The photo to keep of ``photos`` (two or more) and the reason, e.g. "largest
    (4032 x 3024)". ``chosen``: photos the user picked as the one to keep."""

    # Sharpness counts only where every photo has one: an unmeasured one is no worse.
    measured = all(p.id in sharpness for p in photos)

    def criteria(p: Photo) -> list[tuple[float, str]]:
        pixels = (p.width or 0) * (p.height or 0)
        return [
            (p.id in chosen, "your choice"),
            (tags.get(p.id, 0) + (p.id in in_concepts), "has your tags"),
            (pixels, f"largest ({p.width} x {p.height})"),
            (_sharpness_step(sharpness[p.id]) if measured else 0, "sharpest"),
            (p.id in with_camera, "keeps the camera's headers"),
            (FORMAT_RANK.get(p.path.suffix.lower(), 0), f"better format ({p.path.suffix[1:].upper()})"),
            # The oldest before the largest: an original predates its copies and exports, and
            # bytes compare only within one format (a JPEG exported from a HEIC is larger).
            (-p.mtime_ns, "oldest file"),
            (p.size if pixels else 0, "least compressed (largest file)"),
            (not looks_like_a_copy(p), "not a copy's name"),
        ]

    ranked = sorted(photos, key=lambda p: ([value for value, _ in criteria(p)], -p.id), reverse=True)
    best, runner_up = ranked[0], ranked[1]
    for (mine, reason), (theirs, _) in zip(criteria(best), criteria(runner_up), strict=True):
        if mine != theirs:
            return Choice(best, reason)
    return Choice(best, "the first found (they are the same)")


def _sharpness_step(value: float) -> float:
    """Sharpness on a log scale of SHARPER_BY steps: noise in the measure is no reason."""
    return math.floor(math.log(max(value, 1e-6), SHARPER_BY))
