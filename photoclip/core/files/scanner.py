"""Walk library folders and list the photo files in them (stat only, no reading)."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .formats import SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)

# Folders that hold caches, metadata or other apps' state, never the user's photos.
SKIPPED_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", "@eadir", "#recycle", "#snapshot", "$recycle.bin",
        "node_modules", "__pycache__", ".thumbnails", ".thumbs", ".cache", ".trash",
        "lost+found", "system volume information", ".photoclip", ".dtrash",
    }
)


@dataclass(frozen=True)
class ScannedFile:
    # The OS's bytes: walking 100k files builds no Path objects (a third of the
    # scan time) and the catalog stores paths as these bytes anyway.
    key: bytes
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(os.fsdecode(self.key))


# Names of files still being written by another program: partial downloads,
# editors' and office apps' temp and lock files, macOS safe-save files.
TRANSIENT_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", "~")
TRANSIENT_PREFIXES = ("~$", ".~", ".sb-")


def is_transient_name(name: str) -> bool:
    lowered = name.lower()
    return (lowered.endswith(TRANSIENT_SUFFIXES) or lowered.startswith(TRANSIENT_PREFIXES)
            or ".sb-" in lowered)


def is_photo_name(name: str) -> bool:
    return (not name.startswith(".") and not is_transient_name(name)
            and os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS)


def is_library_path(root: Path, path: Path, exclude: Iterable[str] = (), *, is_dir: bool = False) -> bool:
    """Whether a scan of ``root`` would look at ``path`` (a file or a folder below it).

    The watcher and the scan must agree, or a file the scan skips (in a hidden
    or excluded folder) would be indexed by an event and forgotten by the next scan.
    """
    if root not in path.parents:
        return False
    patterns = tuple(exclude)
    *folders, name = path.relative_to(root).parts
    if any(_excluded(part, patterns) or _skip_folder(part) for part in folders):
        return False
    skipped = _skip_folder(name) if is_dir else name.startswith(".")
    return not (skipped or _excluded(name, patterns))


def _skip_folder(name: str) -> bool:
    return name.startswith(".") or name.lower() in SKIPPED_FOLDERS


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return bool(patterns) and any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def folder_online(folder: Path) -> bool:
    """A library folder that is missing (unplugged drive, share offline) is offline."""
    try:
        return folder.is_dir() and os.access(folder, os.R_OK | os.X_OK)
    except OSError:
        return False


def folder_identity(folder: Path) -> str | None:
    """Which directory this path is right now ("st_dev:st_ino"), None if unreachable."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}"


def folder_is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return True


def file_is_gone(path: Path | bytes) -> bool:
    """True when no photo file is at ``path`` any more: nothing there, or something
    that is not a regular file (a folder now has the photo's name, a device, a socket).

    A file we merely cannot reach (permission denied, I/O error on a failing
    drive) is not gone, and must never be forgotten or treated as moved.
    """
    try:
        st = os.stat(path)  # follows symlinks, as the scan does: a link to a photo is one
    except (FileNotFoundError, NotADirectoryError):
        return True  # also a dangling symlink, and a path whose folder is now a file
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode)


def left_library(root: Path, path: Path | bytes, exclude: Iterable[str] = ()) -> bool:
    """Whether a photo at ``path`` left the library without its file going away: now
    excluded by settings, inside a skipped (hidden, cache) folder, or outside ``root``."""
    path = Path(os.fsdecode(path)) if isinstance(path, bytes) else path
    return not (is_photo_name(path.name) and is_library_path(root, path, exclude))


def scan_folder(
    folder: Path, exclude: Iterable[str] = (), unreadable: list[bytes] | None = None
) -> Iterator[ScannedFile]:
    """Yield every photo file under ``folder``.

    Directory symlinks are not followed (they loop, and they double-count
    photos reachable by two paths). Subfolders that cannot be read are skipped,
    logged, and appended to ``unreadable`` so nothing under them is forgotten.
    """
    patterns = tuple(exclude)
    stack = [os.fsencode(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            log.warning("cannot read folder %s: %s", os.fsdecode(current), exc)
            if unreadable is not None:
                unreadable.append(current)
            continue
        for entry in children:
            name = os.fsdecode(entry.name)
            if _excluded(name, patterns):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_folder(name):
                        stack.append(entry.path)
                elif is_photo_name(name) and entry.is_file():
                    st = entry.stat()
                    yield ScannedFile(entry.path, st.st_size, st.st_mtime_ns)
            except OSError as exc:  # vanished or unreadable while walking
                log.warning("cannot stat %s: %s", os.fsdecode(entry.path), exc)


def content_hash(data: bytes) -> str:
    """Identity of a file's content, so a moved or copied photo reuses its vector."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def hash_file(file: BinaryIO) -> str:
    """``content_hash`` of the rest of ``file``, streamed (a block held at a time)."""
    return hashlib.file_digest(file, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def file_identity(file: BinaryIO) -> tuple[int, int, int]:
    """(size, mtime, ctime) of an open file: a write to it changes them."""
    st = os.fstat(file.fileno())
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def check_still_readable(path: Path, file: BinaryIO) -> None:
    """Raise the OSError of a file that can no longer be read (its decode's failure is
    then a read failure, or a vanished photo), else nothing."""
    os.stat(path)
    os.pread(file.fileno(), 1, 0)
