"""Crash-safe file replacement: write a temp file beside the target, fsync, rename.

A crash at any moment leaves either the old file or the new one, never half of
one. Used for the HNSW index, its manifest, the settings file and the caches.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temp_sibling(path: Path) -> Path:
    # Same directory so os.replace is an atomic rename on one filesystem.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a killed writer left beside ``path``; call only as the single writer."""
    removed = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def write_temp_text(final: Path, text: str) -> Path:
    """Write ``text`` to a fsynced temp file beside ``final``; the caller renames it."""
    tmp = temp_sibling(final)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_bytes_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, and the
    temp file is gone whatever fails (a full disk included). ``durable=False`` skips the
    fsyncs: only for caches whose reader checks what it reads, since after a power cut
    the renamed file may then be empty or cut short."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp_text(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    # Persist the renames themselves; not supported on every OS (Windows).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
