"""Catalog SQL for what photos' headers say (``photo_meta``) and the folder names on
their paths (``photo_folders``), the two tables the filters of ``meta_filters`` read.

Mixed into ``Catalog`` (through ``meta_filters.PhotoFilters``, built on this). A photo's
meta row is written at index time or by the backfill; ``META_VERSION`` says which reading
wrote it, so a better reader can ask for the rows it would read differently
(``photos_missing_meta``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..files.places import fold
from ..models import PhotoMeta
from .connections import CatalogConnections
from .records import LIVE, path_from_key

META_VERSION = 1

_META_FIELDS = (
    "taken_at", "taken_local", "taken_offset_min", "taken_source", "camera_make", "camera_model",
    "lens", "orientation", "width", "height", "file_type", "lat", "lon", "city", "region",
    "country", "country_code",
)
_KEY_FIELDS = ("place_key", "camera_key", "region_key", "country_key")
_COLUMNS = ", ".join(_META_FIELDS)
_UPSERT = (
    f"INSERT INTO photo_meta(photo_id, meta_version, {_COLUMNS}, {', '.join(_KEY_FIELDS)}) "
    f"VALUES ({', '.join('?' * (2 + len(_META_FIELDS) + len(_KEY_FIELDS)))}) "
    "ON CONFLICT(photo_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("meta_version", *_META_FIELDS, *_KEY_FIELDS))
)
_LIVE_IDS = f"SELECT id AS pid FROM photos INDEXED BY photos_live WHERE state = 'indexed' AND {LIVE}"
T = TypeVar("T")
FOLDER_BATCH = 5000  # folder keys filled per statement round


def members(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """A mask of the ``ids`` found in ``sorted_ids`` (ascending, unique)."""
    if not len(sorted_ids):
        return np.zeros(len(ids), bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return sorted_ids[at] == ids


def _key(text: str | None) -> str | None:
    return fold(text) if text else None


def _row(photo_id: int, meta: PhotoMeta) -> tuple[object, ...]:
    camera = " ".join(p for p in (meta.camera_make, meta.camera_model) if p)
    code = meta.country_code.upper() if meta.country_code else None
    values = [getattr(meta, f) for f in _META_FIELDS]
    values[_META_FIELDS.index("country_code")] = code
    keys = (_key(meta.city), _key(camera), _key(meta.region), _key(meta.country))
    return (photo_id, META_VERSION, *values, *keys)


def _meta(row: Sequence[object]) -> PhotoMeta:
    values = dict(zip(_META_FIELDS, row, strict=True))
    values["taken_source"] = values["taken_source"] or "file"
    values["orientation"] = values["orientation"] or 1
    return PhotoMeta(**values)  # type: ignore[arg-type]


def _readable(name: str) -> str:
    """A path component as valid UTF-8 text (a non-UTF-8 name's bytes become U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def folder_names(path: Path, library_folder: Path) -> list[str]:
    """The folder names a folder: filter matches for ``path``: the library folder's own
    name, then each folder below it down to the photo's (all of the path's folders when
    it is not under the library folder)."""
    try:
        inside = path.parent.relative_to(library_folder).parts
        names = [library_folder.name, *inside]
    except ValueError:
        names = list(path.parent.parts[1:])
    return [_readable(n) for n in names if n]


class PhotoMetaStore(CatalogConnections):
    # -- writing -----------------------------------------------------------------------
    def save_meta(self, photo_id: int, meta: PhotoMeta) -> None:
        """Store (or replace) what a photo's headers say."""
        self.save_meta_many([(photo_id, meta)])

    def save_meta_many(self, items: Iterable[tuple[int, PhotoMeta]]) -> None:
        """Store many in one write transaction (the indexer's batch, the backfill's); the
        folder keys owed are filled in it too, so a folder: filter seldom has to."""
        rows = [_row(pid, meta) for pid, meta in items]
        with self._transaction() as db:
            db.executemany(_UPSERT, rows)
            while _fill_some_folder_keys(db):
                pass

    # -- reading -----------------------------------------------------------------------
    def meta_of(self, photo_ids: Iterable[int]) -> dict[int, PhotoMeta]:
        """The stored meta of those of ``photo_ids`` that have it."""
        rows = self._reader().execute(
            f"SELECT photo_id, {_COLUMNS} FROM photo_meta "
            "WHERE photo_id IN (SELECT value FROM json_each(?))", (json_ids(photo_ids),))
        return {r[0]: _meta(r[1:]) for r in rows}

    def photo_cities(self) -> dict[int, str]:
        """Each photo's place name (its nearest city), for naming event albums."""
        rows = self._reader().execute("SELECT photo_id, city FROM photo_meta WHERE city IS NOT NULL")
        return dict(rows)

    def photos_missing_meta(self, limit: int) -> list[tuple[int, Path, int]]:
        """(id, path, mtime_ns) of up to ``limit`` live indexed photos whose meta is missing
        or was read by an older reader, newest first (the photos people look at first):
        the backfill's resumable work list (each saved batch drops out of it)."""
        ids = self._missing_meta()[:limit].tolist()
        rows = {r[0]: (r[0], path_from_key(r[1]), r[2]) for r in self._reader().execute(
            "SELECT id, path, mtime_ns FROM photos WHERE id IN (SELECT value FROM json_each(?))",
            (json_ids(ids),))}
        return [rows[i] for i in ids]

    def count_missing_meta(self) -> int:
        """How many photos ``photos_missing_meta`` has left (the backfill's progress)."""
        return len(self._missing_meta())

    def _missing_meta(self) -> np.ndarray:
        order = self._newest_order()
        joined = self._reader().execute(
            "SELECT group_concat(photo_id) FROM photo_meta WHERE meta_version >= ?", (META_VERSION,)
        ).fetchone()[0]
        current = np.sort(np.fromstring(joined, dtype=np.int64, sep=",")) if joined else order[:0]
        return order[~members(current, order)]

    # -- what filters start from, kept per thread until the database changes -------------
    def _newest_order(self) -> np.ndarray:
        """The live, indexed photos' ids newest first, kept per thread until any commit.
        Read as photos_live's rows come, in its order: an ORDER BY on its expression
        would make SQLite read every photo row (3.40 never counts an index on an
        expression as covering); tests pin that the two orders agree."""
        return self._cached("newest", lambda db: self._id_set(_LIVE_IDS, ()))

    def _live_ids(self) -> np.ndarray:
        """Ascending ids of the live, indexed photos, kept per thread until any commit."""
        return self._cached("live_ids", lambda db: np.sort(self._newest_order()))

    def _id_set(self, sql: str, params: Sequence[object]) -> np.ndarray:
        """The ids ``sql`` selects, in one string from SQLite (not a row each)."""
        joined = self._reader().execute(f"SELECT group_concat(pid) FROM ({sql})", params).fetchone()[0]
        return np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.empty(0, np.int64)

    def _cached(self, name: str, compute: Callable[[sqlite3.Connection], T]) -> T:
        """``compute(db)`` on this thread's connection, again only once a commit (by any
        connection or process) changed the database: SQLite's ``data_version`` says so."""
        db = self._reader()
        version = db.execute("PRAGMA data_version").fetchone()[0]
        cache: dict[str, tuple[sqlite3.Connection, int, object]] = self._local.__dict__.setdefault(
            "filter_cache", {})
        held = cache.get(name)
        if held is None or held[0] is not db or held[1] != version:
            held = cache[name] = (db, version, compute(db))
        return held[2]  # type: ignore[return-value]

    # -- folder names (see migration 6: photo_folders) ---------------------------------
    def _fill_folder_keys(self) -> None:
        """Fill the folder keys owed since the last fill (new, moved and renamed photos)."""
        if self._reader().execute(
                "SELECT 1 FROM photo_folders WHERE folder_key IS NULL LIMIT 1").fetchone() is None:
            return  # the usual case: a read, no write lock
        with self._transaction() as db:
            while _fill_some_folder_keys(db):
                pass


def _fill_some_folder_keys(db: sqlite3.Connection) -> bool:
    rows = db.execute(
        "SELECT o.photo_id, p.path, f.path FROM photo_folders o "
        "JOIN photos p ON p.id = o.photo_id JOIN folders f ON f.id = p.folder_id "
        "WHERE o.folder_key IS NULL LIMIT ?", (FOLDER_BATCH,)).fetchall()
    known: dict[tuple[bytes, bytes], tuple[str, str]] = {}  # a folder's photos share a key
    filled = []
    for photo_id, path, library_folder in rows:
        parent = os.path.dirname(path)
        if (parent, library_folder) not in known:
            names = folder_names(path_from_key(path), path_from_key(library_folder))
            known[parent, library_folder] = (_joined(fold(n) for n in names), _joined(names))
        filled.append((*known[parent, library_folder], photo_id))
    db.executemany("UPDATE photo_folders SET folder_key = ?, folder_names = ? WHERE photo_id = ?", filled)
    return len(rows) == FOLDER_BATCH


def _joined(names: Iterable[str]) -> str:
    """"/pictures/trips/": every name between slashes, so a name matches as "/name/"."""
    return "/" + "".join(f"{n}/" for n in names)


def json_ids(ids: Iterable[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
