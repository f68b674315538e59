"""Apply settled file-system changes to the catalog: moves, new or changed files, deletes.

Only stats files (reading, hashing and encoding are the indexer's). A move
rewrites paths in one transaction and keeps the rows, so vectors, tags and
albums follow the files with nothing re-encoded. A change is marked pending
for the indexer; a file that is gone goes to the trash, unless its library
folder is offline (an unplugged drive looks like every file was deleted; see
``reconcile.folder_available``).
"""

from __future__ import annotations

import os
import stat
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog.store import Catalog
from ..files.scanner import file_is_gone, is_library_path, scan_folder
from ..models import Folder
from ..search.index_store import IndexStore
from .change_queue import Move, ReadyChanges
from .reconcile import folder_available, needs_work


@dataclass
class AppliedChanges:
    moved: int = 0  # rows that followed their file to a new path
    marked: int = 0  # new or changed files now pending
    trashed: int = 0  # files gone: out of search, kept in the trash
    # Found in a folder scan but modified moments ago (a folder still being copied):
    # the caller queues them to be looked at again once they settle.
    recent: list[Path] = field(default_factory=list)


class ChangeApplier:
    def __init__(self, catalog: Catalog, index: IndexStore, model_id: str,
                 exclude: tuple[str, ...] = (), settle_s: float = 0.0) -> None:
        self.settle_s = settle_s
        self.catalog = catalog
        self.index = index
        self.model_id = model_id
        self.exclude = exclude

    def apply(self, ready: ReadyChanges, folders: list[Folder]) -> AppliedChanges:
        run = _Run(self, folders)
        for move in ready.moves:
            run.move(move)
        for path in ready.files:
            run.check_file(path)
        for path in ready.folders:
            run.check_tree(path)
        return run.finish()


class _Run:
    """One application of a batch of changes (caches folder availability)."""

    def __init__(self, applier: ChangeApplier, folders: list[Folder]) -> None:
        self.a = applier
        self.folders = folders
        self.result = AppliedChanges()
        self.pending: dict[int, dict[Path, tuple[int, int]]] = defaultdict(dict)
        self.gone: set[int] = set()
        self._available: dict[int, bool] = {}
        self._retryable: set[bytes] | None = None

    def owner(self, path: Path, *, is_dir: bool = False) -> Folder | None:
        for folder in self.folders:
            if is_library_path(folder.path, path, self.a.exclude, is_dir=is_dir):
                return folder
        return None

    def available(self, folder: Folder) -> bool:
        if folder.id not in self._available:
            self._available[folder.id] = folder_available(self.a.catalog, folder)
        return self._available[folder.id]

    def retry(self, key: bytes) -> bool:
        """Whether the photo at ``key`` failed for a reason of the moment (permissions)."""
        if self._retryable is None:
            self._retryable = self.a.catalog.retryable_failures()
        return key in self._retryable

    def move(self, move: Move) -> None:
        catalog = self.a.catalog
        dest_folder = self.owner(move.dest, is_dir=move.is_dir)
        # Applied even if the destination has moved on since (a -> b -> c): the
        # next move takes the row further, and the file checks settle the rest.
        if move.is_dir:
            if dest_folder is not None:
                moved, displaced = catalog.move_tree(move.src, move.dest, dest_folder.id)
                self.displaced(displaced)
                self.result.moved += moved
                if move.dest.is_dir():
                    self.check_tree(move.dest)  # anything edited just before the move
            else:
                self.check_tree(move.src)  # moved out of the library (or somewhere skipped)
            return
        record = catalog.file_record(move.src)
        if record is not None and dest_folder is not None:
            self.displaced(catalog.move_file(record.id, move.dest, dest_folder.id))
            self.result.moved += 1
        else:
            self.check_file(move.src)

    def displaced(self, photo_ids: list[int]) -> None:
        """Rows a move landed on (already in the trash): out of search now, and never
        applied to again later in this batch (their deletes happened before the move)."""
        self.a.index.remove(photo_ids)
        self.gone.difference_update(photo_ids)
        self.result.trashed += len(photo_ids)

    def check_file(self, path: Path) -> None:
        folder = self.owner(path)
        if folder is None:
            return
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self.forget_if_available(path, folder)
            return
        except OSError:
            return  # unreachable is not gone: never trash what we merely can't see
        if not stat.S_ISREG(st.st_mode):  # a folder (or something else) took the photo's name
            self.forget_if_available(path, folder)
            return
        record = self.a.catalog.file_record(path)
        if needs_work(record, st.st_size, st.st_mtime_ns, self.a.model_id, False,
                      retry=self.retry(os.fsencode(path))):
            self.pending[folder.id][path] = (st.st_size, st.st_mtime_ns)

    def forget_if_available(self, path: Path, folder: Folder) -> None:
        record = self.a.catalog.file_record(path)
        if record is not None and self.available(folder):
            self.gone.add(record.id)

    def check_tree(self, path: Path) -> None:
        folder = self.owner(path, is_dir=True)
        if folder is None:
            return
        if self.a.catalog.file_record(path) is not None:
            self.check_file(path)  # a photo of that name was there: replaced by this folder?
        records = dict(self.a.catalog.records_under(path))
        seen: set[bytes] = set()
        unreadable: list[bytes] = []
        recent_after = time.time_ns() - int(self.a.settle_s * 1e9)
        if path.is_dir():
            for found in scan_folder(path, self.a.exclude, unreadable):
                seen.add(found.key)
                if not needs_work(records.get(found.key), found.size, found.mtime_ns,
                                  self.a.model_id, False, retry=self.retry(found.key)):
                    continue
                if found.mtime_ns > recent_after:
                    self.result.recent.append(found.path)
                else:
                    self.pending[folder.id][found.path] = (found.size, found.mtime_ns)
        if not self.available(folder):
            return
        for key, record in records.items():
            hidden = any(key.startswith(u + os.sep.encode()) for u in unreadable)
            if key not in seen and not hidden and file_is_gone(key):
                self.gone.add(record.id)

    def finish(self) -> AppliedChanges:
        catalog = self.a.catalog
        for folder_id, files in self.pending.items():
            catalog.mark_pending(folder_id, [(p, size, mtime) for p, (size, mtime) in files.items()])
            self.result.marked += len(files)
        gone = sorted(self.gone)
        catalog.trash(gone)
        self.a.index.remove(gone)
        self.result.trashed += len(gone)
        return self.result

