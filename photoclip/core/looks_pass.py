"""How photos look, for photos indexed before PhotoClip kept it (the duplicates backfill).

New photos get their perceptual hash and sharpness from the indexing decode. Photos
indexed earlier, or whose looks were taken from other content, are caught up here: a
copy takes its twin's looks without a decode; the rest are decoded once, small (JPEG's
reduced decode at 256 px: a fraction of a full decode), in batches, each its own
transaction, so a stop or a kill loses at most one batch and the next run resumes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from .catalog.store import Catalog
from .files.imaging import ImageRejected, decode_for_model
from .files.looks import SHARPNESS_SIDE, Looks, hashing_available, looks_of

log = logging.getLogger(__name__)

BATCH = 200  # photos per transaction (~10 ms each to decode small and hash)
LooksProgress = Callable[[int, int], None]  # (done, total) after each batch


def take_missing_looks(catalog: Catalog, *, progress: LooksProgress | None = None,
                       cancel: threading.Event | None = None, batches: int | None = None) -> int:
    """Give every indexed photo its looks (all, or ``batches`` batches of decodes);
    returns how many photos got them. Call while holding the writer lock."""
    want_hash = hashing_available()  # looks taken before the extra was installed: again
    done = catalog.copy_looks_from_twins()
    total = done + catalog.count_missing_looks(want_hash=want_hash)
    unreadable: set[int] = set()
    while not (cancel and cancel.is_set()) and (batches is None or batches > 0):
        batches = None if batches is None else batches - 1
        todo = [row for row in catalog.photos_missing_looks(BATCH + len(unreadable), want_hash=want_hash)
                if row[0] not in unreadable][:BATCH]
        if not todo:
            break
        taken = []
        for photo_id, path in todo:
            looks = _looks_or_none(path)
            if looks is None:
                unreadable.add(photo_id)  # offline or unreadable now: asked again next run
            else:
                taken.append((photo_id, looks.phash, looks.sharpness))
        catalog.save_looks_many(taken)
        done += len(taken)
        if progress is not None:
            progress(done, total)
    return done


def _looks_or_none(path: Path) -> Looks | None:
    try:
        with path.open("rb") as file:
            return looks_of(decode_for_model(file, SHARPNESS_SIDE).image)
    except (OSError, ImageRejected) as exc:
        log.info("looks of %s not taken now (%s)", path, exc)
        return None
