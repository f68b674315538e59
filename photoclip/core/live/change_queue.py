"""Coalesce file-system events per path and release them once the file is whole.

The watcher's observer thread only records here (a dict update, nothing
slow); the worker takes what has settled. A photo still being copied produces
a stream of events and is handed out once, after the copy ends: at once after
the kernel says the writer closed it (or it was renamed into place), otherwise
after a quiet spell with an unchanged size and mtime.

The queue is bounded: past ``capacity`` paths it forgets everything and raises
``overflowed``, and the worker answers with a reconcile scan, which finds the
same changes from the disk. Memory stays flat in an event storm.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

QUIET_S = 0.15  # after an event that says the file is complete (closed, renamed in, deleted)
OPEN_QUIET_S = 2.0  # after a write with no close seen: polling observers, writers that pause
# Between the two looks at a file with no close event. Not shorter: network file
# systems cache attributes for about a second, so a growing file can look still.
STABLE_S = 1.0
DEFAULT_CAPACITY = 50_000  # paths; ~200 bytes each


@dataclass(frozen=True)
class Move:
    src: Path
    dest: Path
    is_dir: bool


@dataclass
class ReadyChanges:
    """Settled changes, for the worker to apply to the catalog in this order."""

    moves: list[Move] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # new, changed or deleted: stat to know which
    folders: list[Path] = field(default_factory=list)  # created/deleted folders: look inside

    def __bool__(self) -> bool:
        return bool(self.moves or self.files or self.folders)

    def __len__(self) -> int:
        return len(self.moves) + len(self.files) + len(self.folders)


@dataclass
class _Pending:
    due: float
    complete: bool
    stat: tuple[int, int] | None = None  # (size, mtime_ns) at the last look


def _held_by(waiting: list[Move]) -> Callable[[Path], bool]:
    """Whether a change at a path must wait for a move not yet due: it is at or under
    that move's source or destination. ``rm -rf B && mv A B``: B's deletes are due
    first, but looked at after the move happened on disk they would find A's files
    and take them for edits of B's photos; applied with (after) the move, the move
    displaces B's rows and the checks see A's rows at home."""
    if not waiting:
        return lambda path: False
    exact = {move.src for move in waiting} | {move.dest for move in waiting}
    folders = {p for move in waiting if move.is_dir for p in (move.src, move.dest)}

    def held(path: Path) -> bool:
        return path in exact or bool(folders and folders.intersection(path.parents))
    return held


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class ChangeQueue:
    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, *, quiet_s: float = QUIET_S,
        open_quiet_s: float = OPEN_QUIET_S, stable_s: float = STABLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.quiet_s = quiet_s
        self.open_quiet_s = open_quiet_s
        self.stable_s = stable_s
        self._clock = clock
        self._files: dict[Path, _Pending] = {}
        self._folders: dict[Path, float] = {}
        self._moves: list[tuple[float, Move]] = []
        self._overflowed = False
        self.high_water = 0  # the most paths ever held at once (memory stays bounded)
        # Guards the three collections: the observer thread writes, the worker takes.
        self._cond = threading.Condition()

    def __len__(self) -> int:
        with self._cond:
            return self._size()

    def _size(self) -> int:
        return len(self._files) + len(self._folders) + len(self._moves)

    # -- recording (observer thread) -----------------------------------------------
    def file_changed(self, path: Path, *, complete: bool) -> None:
        with self._cond:
            self._record_file(path, complete)
            self._after_record()

    def folder_changed(self, path: Path) -> None:
        with self._cond:
            self._folders[path] = self._clock() + self.quiet_s
            self._after_record()

    def moved(self, src: Path, dest: Path, *, is_dir: bool) -> None:
        with self._cond:
            now = self._clock()
            self._moves.append((now + self.quiet_s, Move(src, dest, is_dir)))
            if is_dir:  # changes waiting under the old folder now wait under the new one
                for old in [p for p in self._files if src in p.parents]:
                    self._files[dest / old.relative_to(src)] = self._files.pop(old)
            elif src in self._files:
                self._files[dest] = self._files.pop(src)
            if not is_dir:
                self._record_file(dest, complete=True)
            self._after_record()

    def mark_overflow(self) -> None:
        """Events were lost (the OS queue overflowed): only a scan can catch up."""
        with self._cond:
            self._drop_everything()

    def _record_file(self, path: Path, complete: bool) -> None:
        entry = self._files.get(path)
        due = self._clock() + (self.quiet_s if complete else self.open_quiet_s)
        if entry is None:
            self._files[path] = _Pending(due, complete)
        else:
            entry.due, entry.complete, entry.stat = due, complete, None

    def _after_record(self) -> None:
        size = self._size()
        if size > self.capacity:
            self._drop_everything()
        else:
            self.high_water = max(self.high_water, size)
        self._cond.notify_all()

    def _drop_everything(self) -> None:
        self._files.clear()
        self._folders.clear()
        self._moves.clear()
        self._overflowed = True
        self._cond.notify_all()

    # -- taking (worker thread) ----------------------------------------------------
    def take_overflow(self) -> bool:
        with self._cond:
            overflowed, self._overflowed = self._overflowed, False
            return overflowed

    def take_ready(self, limit: int = 5_000) -> ReadyChanges:
        """What has settled, moves first and in the order they happened."""
        now = self._clock()
        ready = ReadyChanges()
        with self._cond:
            while self._moves and self._moves[0][0] <= now and len(ready) < limit:
                ready.moves.append(self._moves.pop(0)[1])
            held = _held_by([move for _, move in self._moves])
            for path, due in list(self._folders.items()):
                if due <= now and len(ready) < limit and not held(path):
                    del self._folders[path]
                    ready.folders.append(path)
            candidates = [(p, e) for p, e in self._files.items() if e.due <= now and not held(p)]
        for path, entry in candidates:
            if len(ready) >= limit:
                break
            if self._settled(path, entry, now):
                with self._cond:
                    if self._files.get(path) is entry and entry.due <= now:  # no newer event
                        del self._files[path]
                        ready.files.append(path)
        return ready

    def _settled(self, path: Path, entry: _Pending, now: float) -> bool:
        if entry.complete:
            return True
        # No close event: the file is whole once its size and mtime stop changing.
        seen = _stat(path)
        if seen is None or seen == entry.stat:
            return True  # gone (a delete to apply) or unchanged since the last look
        with self._cond:
            entry.stat, entry.due = seen, now + self.stable_s
        return False

    def next_due(self) -> float | None:
        with self._cond:
            dues = [e.due for e in self._files.values()] + list(self._folders.values())
            if self._moves:
                dues.append(self._moves[0][0])
            return min(dues) if dues else None

    def wait(self, timeout: float) -> None:
        """Sleep until something is recorded, or ``timeout``."""
        with self._cond:
            if not self._overflowed:
                self._cond.wait(timeout)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
