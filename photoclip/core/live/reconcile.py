"""Bring the catalog in line with what is on disk (the scan is the source of truth).

Used by `photoclip index` / `--reindex`, and by the live worker's reconcile scans (at
start-up, after lost events, periodically). Only stats files; reading and decoding is
the indexer's job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.store import Catalog, FileRecord
from ..files.scanner import (
    file_is_gone,
    folder_identity,
    folder_is_empty,
    folder_online,
    left_library,
    scan_folder,
)
from ..models import Folder, PhotoState


@dataclass
class ScanOutcome:
    scanned: int = 0
    unchanged: int = 0
    queued: int = 0  # new, changed, or needing another try
    online: list[Folder] = field(default_factory=list)
    offline: list[Folder] = field(default_factory=list)
    seen: dict[int, set[bytes]] = field(default_factory=dict)  # folder id -> path keys
    unreadable: list[bytes] = field(default_factory=list)  # subfolders we could not list
    recent: list[Path] = field(default_factory=list)  # changed too recently to be complete
    exclude: tuple[str, ...] = ()  # the patterns the scan skipped (what left the library)

    def under_unreadable(self, key: bytes) -> bool:
        return any(key.startswith(folder + os.sep.encode()) for folder in self.unreadable)


def needs_work(record: FileRecord | None, size: int, mtime_ns: int, model_id: str,
                full: bool, *, retry: bool = False) -> bool:
    """Whether a file must go (back) to the indexer. ``retry``: the record failed for a
    reason of the moment (see ``Catalog.retryable_failures``), so a plain run tries again."""
    if record is None or record.size != size or record.mtime_ns != mtime_ns:
        return True
    if full:  # re-check every file: an edit that kept size and mtime is still caught by its hash
        return True
    if record.state is PhotoState.INDEXED:
        return record.model_id != model_id  # made by another model: re-encode
    return record.state is PhotoState.FAILED and retry


def scan_library(
    catalog: Catalog, folders: Iterable[Folder], model_id: str, *,
    exclude: Iterable[str] = (), full: bool = False, settle_s: float = 0.0,
) -> ScanOutcome:
    """Walk every online folder and mark new or changed files pending.

    ``full`` queues every file: the indexer re-hashes each one (reusing its
    vector when the content is unchanged) and retries failures. Files modified
    less than ``settle_s`` ago may still be being written: they are left out
    and listed in ``outcome.recent`` for the caller to look at once they settle.
    """
    patterns = tuple(exclude)
    outcome = ScanOutcome(exclude=patterns)
    retryable = catalog.retryable_failures()
    recent_after = time.time_ns() - int(settle_s * 1e9) if settle_s else None
    for folder in folders:
        if not folder_online(folder.path):
            outcome.offline.append(folder)  # unplugged or share offline: touch nothing
            continue
        records = catalog.file_records(folder.id)
        found_files = list(scan_folder(folder.path, patterns, outcome.unreadable))
        if not found_files and records and not emptied_in_place(folder):
            outcome.offline.append(folder)
            continue
        remember_identity(catalog, folder, has_files=bool(found_files))
        outcome.online.append(folder)
        queued: list[tuple[Path, int, int]] = []
        for found in found_files:
            record = records.get(found.key)
            if needs_work(record, found.size, found.mtime_ns, model_id, full,
                          retry=found.key in retryable):
                if recent_after is not None and found.mtime_ns > recent_after:
                    outcome.recent.append(found.path)
                    continue
                queued.append((found.path, found.size, found.mtime_ns))
            elif record is not None and record.state is not PhotoState.PENDING:
                outcome.unchanged += 1
        outcome.scanned += len(found_files)
        outcome.queued += len(queued)
        outcome.seen[folder.id] = {found.key for found in found_files}
        if queued:
            catalog.mark_pending(folder.id, queued)
    return outcome


def emptied_in_place(folder: Folder) -> bool:
    """An empty folder that held photos: emptied by the user, or the mount point an
    unplugged drive left behind? The same directory (device and inode) as when it
    last held files means emptied; anything else is treated as offline."""
    return folder.identity is not None and folder_identity(folder.path) == folder.identity


def remember_identity(catalog: Catalog, folder: Folder, *, has_files: bool) -> None:
    if has_files:
        identity = folder_identity(folder.path)
        if identity is not None and identity != folder.identity:
            catalog.set_folder_identity(folder.id, identity)


def folder_available(catalog: Catalog, folder: Folder) -> bool:
    """Online, and not an empty mount point: deletes in it can be believed."""
    if not folder_online(folder.path):
        return False
    if folder_is_empty(folder.path):
        return emptied_in_place(folder)
    remember_identity(catalog, folder, has_files=True)
    return True


def missing_photos(catalog: Catalog, outcome: ScanOutcome, *, deleted: bool = True) -> list[int]:
    """Photos of online folders that left the library: excluded or skipped by settings,
    or no photo file at their path any more (``deleted``: also those whose path is
    simply missing). Never those of a folder offline now: availability is checked
    again here, at the moment of trashing, as a drive may go between scan and now."""
    gone: list[int] = []
    for folder in outcome.online:
        if not folder_available(catalog, folder):
            continue
        seen = outcome.seen.get(folder.id, set())
        for key, record in catalog.file_records(folder.id).items():
            if key in seen:  # found by this scan, which applied the same filters: still in
                continue  # (left_library's fnmatch on every part costs ~70 us a record)
            if left_library(folder.path, key, outcome.exclude):
                gone.append(record.id)  # settings say so; whatever the disk says
            elif not outcome.under_unreadable(key) and _no_photo_at(key, deleted):
                gone.append(record.id)
    return gone


def _no_photo_at(key: bytes, deleted: bool) -> bool:
    """No photo file at ``key``; with ``deleted`` False only where something else now
    is (a folder took the photo's name): a plain missing file waits for --reindex."""
    if deleted:
        return file_is_gone(key)
    return os.path.lexists(key) and file_is_gone(key)


def vanished_for_good(catalog: Catalog, photo_ids: list[int]) -> list[int]:
    """Of the photos whose files were missing when read, those to trash: only in
    folders still available now. A drive unplugged mid-run makes every file
    vanish; its photos stay pending, their tags kept, until it returns."""
    folders = {f.id: f for f in catalog.folders()}
    available: dict[int, bool] = {}
    gone = []
    for photo in catalog.photos_by_ids(photo_ids).values():
        folder = folders.get(photo.folder_id)
        if folder is None or not file_is_gone(photo.path):
            continue
        if photo.folder_id not in available:  # once per folder, at the moment of trashing
            available[photo.folder_id] = folder_available(catalog, folder)
        if available[photo.folder_id]:
            gone.append(photo.id)
    return gone
