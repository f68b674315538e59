"""The catalog's errors, and the one line a user is shown for a SQLite failure.

Apart from ``store`` so the front ends (CLI, app, background worker) can word a
failure met outside the catalog without importing the catalog itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class CatalogError(Exception):
    """The catalog cannot be opened or used (newer schema, corrupt file...)."""


class CatalogDamaged(CatalogError):
    """The catalog file is not a whole SQLite database: PhotoClip stops and never writes it."""


class CatalogFull(CatalogError):
    """The disk filled while writing: the transaction was rolled back, nothing was lost."""


# SQLite's primary result codes (exc.sqlite_errorcode & 0xFF, Python 3.11+); the
# messages are the fallback where the code is missing.
_DAMAGED = {11: "SQLITE_CORRUPT", 26: "SQLITE_NOTADB"}
_FULL = 13
_ENVIRONMENT = {3, 5, 6, 8, 10, 14}  # PERM, BUSY, LOCKED, READONLY, IOERR, CANTOPEN
_ENVIRONMENT_WORDS = ("locked", "disk I/O error", "unable to open", "readonly")


def catalog_problem(exc: sqlite3.Error, path: Path, backups: Path) -> CatalogError | None:
    """The user's one line for a SQLite failure of the file or the disk; None for a bug."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    if code == _FULL or "disk is full" in text:
        return CatalogFull(f"disk full while writing the catalog {path}: free space and run "
                           "again; nothing was lost")
    undecodable = text.startswith("Could not decode to UTF-8")  # PhotoClip writes UTF-8 only:
    if undecodable:  # a row's bytes changed under it; the garbled value itself is noise
        text = text.split(" with text", 1)[0]
    if code in _DAMAGED or undecodable or "malformed" in text or "not a database" in text:
        return CatalogDamaged(
            f"the catalog at {path} is damaged ({text}): restore it from {backups} or move "
            "it aside; PhotoClip will not overwrite it")
    if code in _ENVIRONMENT or any(words in text for words in _ENVIRONMENT_WORDS):
        return CatalogError(f"cannot use the catalog {path}: {text}")
    return None
