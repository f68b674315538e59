"""What the photo knows, for photos indexed before PhotoClip read it: headers only.

No decode and no re-encode: each photo's header is read (``files.photo_meta``), in a
small thread pool, and saved in batches, each batch its own transaction. A run that is
stopped, killed or loses a drive simply leaves the rest for the next one: the work list
is whatever the catalog still lacks (``Catalog.photos_missing_meta``), so the backfill
resumes where it stopped. A photo whose file cannot be read now is skipped this run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .catalog.store import Catalog
from .files.photo_meta import read_photo_meta, with_places
from .models import PhotoMeta

log = logging.getLogger(__name__)

BATCH = 500  # photos per transaction: progress moves, and a kill loses at most one batch
READERS = 4  # header reads are small I/O waits: a few threads keep a disk busy

# (done, total) after each batch
BackfillProgress = Callable[[int, int], None]


def backfill_metadata(
    catalog: Catalog, *, progress: BackfillProgress | None = None,
    cancel: threading.Event | None = None, readers: int = READERS, batches: int | None = None,
) -> int:
    """Read and save the metadata the catalog lacks (all of it, or ``batches`` batches);
    returns how many photos got it. Call while holding the writer lock."""
    total = catalog.count_missing_meta()
    done = 0
    unreadable: set[int] = set()  # this run only: asked again next run (a drive may be back)
    with ThreadPoolExecutor(max_workers=max(1, readers), thread_name_prefix="meta") as pool:
        while not (cancel and cancel.is_set()) and (batches is None or batches > 0):
            batches = None if batches is None else batches - 1
            todo = [row for row in catalog.photos_missing_meta(BATCH + len(unreadable))
                    if row[0] not in unreadable][:BATCH]
            if not todo:
                break
            read = list(pool.map(_read_or_none, todo))
            found = [(pid, meta) for (pid, _, _), meta in zip(todo, read, strict=True)
                     if meta is not None]
            unreadable.update(pid for (pid, _, _), meta in zip(todo, read, strict=True) if meta is None)
            named = with_places([meta for _, meta in found])
            catalog.save_meta_many([(pid, meta) for (pid, _), meta in zip(found, named, strict=True)])
            done += len(found)
            if progress is not None:
                progress(done, total)
    return done


def _read_or_none(row: tuple[int, Path, int]) -> PhotoMeta | None:
    """A photo whose file is unreachable now keeps no half-read record: it is asked again."""
    _, path, mtime_ns = row
    if not path.is_file():
        return None
    try:
        return read_photo_meta(path, mtime_ns=mtime_ns, place=False)
    except OSError:
        log.info("metadata of %s not read now; asked again next run", path, exc_info=True)
        return None
