"""The rows the catalog's parts share, and how they go in and out of SQLite.

Imported by ``store`` and its parts (``reads``, ``moves``), so none of them has to
import another for a record or a converter: the parts stay free of circles.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models import Photo, PhotoState

# The columns ``photo_from_row`` reads, in its order.
PHOTO_COLUMNS = (
    "id, path, folder_id, size, mtime_ns, state, content_hash, width, height, "
    "taken_at, failure_reason, model_id, deleted_at"
)
# The columns ``file_record_from_row`` reads, in its order.
FILE_RECORD_COLUMNS = "id, size, mtime_ns, state, model_id"
LIVE = "deleted_at IS NULL"  # rows of files that exist (not in the trash)


def path_key(path: Path | str) -> bytes:
    """The stored form of a path: the OS's bytes, so non-UTF-8 names survive."""
    return os.fsencode(path)


def path_from_key(key: bytes) -> Path:
    return Path(os.fsdecode(key))


@dataclass(frozen=True)
class FileRecord:
    """What triage needs to know about a cataloged file."""

    id: int
    size: int
    mtime_ns: int
    state: PhotoState
    model_id: str | None


@dataclass(frozen=True)
class EncodedPhoto:
    """An indexed result ready to be written."""

    photo_id: int
    content_hash: str
    width: int
    height: int
    taken_at: float | None
    vector: np.ndarray
    model_id: str


def photo_from_row(row: sqlite3.Row | tuple) -> Photo:
    """A ``Photo`` from a row of ``PHOTO_COLUMNS``."""
    return Photo(
        id=row[0], path=path_from_key(row[1]), folder_id=row[2], size=row[3],
        mtime_ns=row[4], state=PhotoState(row[5]), content_hash=row[6], width=row[7],
        height=row[8], taken_at=row[9], failure_reason=row[10], model_id=row[11],
        deleted_at=row[12],
    )


def file_record_from_row(row: sqlite3.Row | tuple) -> FileRecord:
    """A ``FileRecord`` from a row of ``FILE_RECORD_COLUMNS``."""
    return FileRecord(row[0], row[1], row[2], PhotoState(row[3]), row[4])


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)
