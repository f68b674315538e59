"""One writer per library: an OS file lock on the data directory.

The OS releases the lock when the holding process dies (even on kill -9), so a
stale lock from a crash is taken over automatically; the PID written inside is
only there to tell the user who holds it. So its contents are never trusted:
garbage, an empty or a huge file, a dead process's PID change nothing.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from types import TracebackType


class LibraryLocked(Exception):
    """Another process is writing to this library."""


class WriterLock:
    def __init__(self, path: Path, purpose: str = "photoclip") -> None:
        self.path = path
        self.purpose = purpose
        self._handle: int | None = None

    def acquire(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a link planted in its place must not get some other file truncated.
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            _lock_exclusive(handle)
        except OSError:
            holder = _read_holder(handle)
            os.close(handle)
            raise LibraryLocked(
                f"the library is in use by another PhotoClip process ({holder}); "
                "wait for it to finish or close it"
            ) from None
        self._handle = handle
        _write_holder(handle, f"pid {os.getpid()} ({self.purpose})\n")
        return self

    def release(self) -> None:
        if self._handle is not None:
            try:
                os.ftruncate(self._handle, 0)
                _unlock(self._handle)
            finally:
                os.close(self._handle)
                self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _write_holder(handle: int, text: str) -> None:
    # Only a note for the user: a full disk must not stop a run that holds the lock.
    try:
        os.ftruncate(handle, 0)
        os.pwrite(handle, text.encode(errors="replace"), 0)
    except OSError:
        pass


_HOLDER = re.compile(r"pid \d{1,10} \([\w .-]{1,40}\)")


def _read_holder(handle: int) -> str:
    """Who holds the lock, from what it wrote, if that reads as our own note (the file
    may hold anything: its text goes into a one-line message)."""
    try:
        text = os.pread(handle, 200, 0).decode(errors="replace")
    except OSError:
        text = ""
    found = _HOLDER.match(text.strip())
    return found.group(0) if found else "unknown process"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_exclusive(handle: int) -> None:
        msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)

    def _unlock(handle: int) -> None:
        msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_exclusive(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: int) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
