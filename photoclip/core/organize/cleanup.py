"""Cleaning up duplicates: merge what the user built onto the photo kept, then move the
extras' files to the system trash. The only code in PhotoClip that touches files in
photo folders; it never deletes one (send2trash, the `dupes` extra: the desktop's own
trash, from which the user can put a file back; the live library then restores the
photo with its tags, as for any file that comes back).

Each extra is checked before it moves: its file must still be the one indexed (same
size and modification time), and the kept photo's file must be there; otherwise the
extra stays and the report says why. Every file moved is recorded in the catalog
(``trashed_duplicates``) with the photo kept for it. Callers confirm with the user
first (the app's dialog, the CLI's prompt or ``--yes``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.store import Catalog
from ..models import Photo
from .duplicates import DuplicateGroup

log = logging.getLogger(__name__)

TrashFile = Callable[[Path], None]  # moves one file to the system trash, or raises
TRASH_MISSING = 'Moving duplicates to the trash needs the "dupes" extra: pip install "photoclip[dupes]"'


class CleanupUnavailable(RuntimeError):
    """No way to move files to the trash here (the `dupes` extra is missing)."""


@dataclass(frozen=True)
class CleanupPlan:
    keep: Photo
    extras: tuple[Photo, ...]

    @property
    def bytes_freed(self) -> int:
        return sum(p.size for p in self.extras)


@dataclass
class CleanupReport:
    trashed: list[Path] = field(default_factory=list)
    trashed_ids: list[int] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it stayed)
    bytes_freed: int = 0
    merged_tags: int = 0


def plan_for(group: DuplicateGroup, keep: Photo | None = None) -> CleanupPlan:
    """Keep ``keep`` (default: the group's suggestion), move the rest."""
    kept = keep or group.keep
    if kept not in group.photos:
        raise ValueError(f"{kept.path} is not in this group")
    return CleanupPlan(kept, tuple(p for p in group.photos if p != kept))


def system_trash() -> TrashFile:
    """send2trash's move to the desktop's trash (freedesktop, macOS, Windows)."""
    if importlib.util.find_spec("send2trash") is None:
        raise CleanupUnavailable(TRASH_MISSING)
    from send2trash import send2trash

    return lambda path: send2trash(os.fspath(path))


def clean_up(catalog: Catalog, plans: Sequence[CleanupPlan], trash_file: TrashFile) -> CleanupReport:
    """Merge, then trash, plan by plan; the photos whose files moved go to PhotoClip's
    own trash at once (their tags kept, for a file put back). Call while holding the
    writer lock."""
    report = CleanupReport()
    for plan in plans:
        if not plan.keep.path.is_file():
            why = f"the photo to keep is missing ({plan.keep.path})"
            report.failed += [(p.path, why) for p in plan.extras]
            continue
        movable = []
        for extra in plan.extras:
            why = _why_not_movable(extra, plan.keep)
            if why is None:
                movable.append(extra)
            else:
                report.failed.append((extra.path, why))
        if not movable:
            continue
        report.merged_tags += catalog.merge_photo_work(plan.keep.id, [p.id for p in movable])
        for extra in movable:
            try:
                trash_file(extra.path)
            except Exception as exc:  # send2trash raises OSError and its own TrashPermissionError
                log.warning("could not move %s to the trash: %s", extra.path, exc)
                report.failed.append((extra.path, f"could not move it to the trash: {exc}"))
                continue
            catalog.record_trashed(extra.path, extra.content_hash, extra.size, plan.keep.path)
            catalog.trash([extra.id])
            report.trashed.append(extra.path)
            report.trashed_ids.append(extra.id)
            report.bytes_freed += extra.size
    return report


def _why_not_movable(extra: Photo, keep: Photo) -> str | None:
    """None when ``extra`` may move, else why not (a changed or missing file stays)."""
    if extra.path == keep.path or extra.id == keep.id:
        return "it is the photo kept"
    try:
        st = os.stat(extra.path)
    except OSError as exc:
        return f"it can't be read now ({exc.strerror or exc})"
    if st.st_size != extra.size or st.st_mtime_ns != extra.mtime_ns:
        return "it changed since it was indexed: index again first"
    return None
