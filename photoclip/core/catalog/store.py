"""The catalog: all SQL lives here, and it is the library's source of truth.

``Catalog`` is the one entry point: it opens the file (refusing one that is empty,
noted as damaged or newer than this PhotoClip; migrating an older one after a backup)
and holds the writes of folders, triage and indexing results. Its parts, mixed in,
hold the rest: ``connections`` (the writer, the readers, ``meta``), ``reads``,
``moves`` (moves, renames, the trash) and ``tags``. Rows come out as typed records
(``records``, ``models``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..models import Folder, Photo
from .connections import BUSY_TIMEOUT_MS
from .damage import known_damage
from .errors import CatalogDamaged, CatalogError
from .looks import PhotoLooksStore
from .marks import MarksAndAlbums
from .meta_facets import PhotoFacets
from .migrations import MIGRATIONS, SCHEMA_VERSION, apply_migrations, create_catalog
from .moves import MovesAndTrash
from .reads import PhotoReads
from .records import (
    FILE_RECORD_COLUMNS,
    LIVE,
    PHOTO_COLUMNS,
    EncodedPhoto,
    FileRecord,
    file_record_from_row,
    path_from_key,
    path_key,
    photo_from_row,
    vector_to_blob,
)
from .shapes import PhotoShapes
from .tags import TagsAlbumsConcepts
from .text import PhotoTextStore


class Catalog(PhotoReads, MovesAndTrash, TagsAlbumsConcepts, PhotoFacets, PhotoShapes, PhotoTextStore,
              PhotoLooksStore, MarksAndAlbums):
    """Typed access to the SQLite catalog. Safe to share between threads."""

    def __init__(self, path: Path, *, backups_dir: Path | None = None) -> None:
        self.path = path
        self._backups_dir = backups_dir or path.parent / "backups"
        self._write_lock = threading.RLock()  # why each of these: see CatalogConnections
        self._local = threading.local()
        self._damaged = None
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(path):
            create_catalog(path, MIGRATIONS)
        elif path.is_file() and path.stat().st_size == 0:
            # create_catalog never leaves one: an empty file is a lost catalog, and
            # SQLite would happily make a new one over it.
            raise self._noted(self._problem(sqlite3.DatabaseError("the file is empty: not a database")))
        noted = known_damage(path)
        if noted is not None:  # met by an earlier process: refused until the file is replaced
            self._damaged = CatalogDamaged(noted)
            raise CatalogDamaged(noted)
        self._writer = self._connect()
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:  # a damaged page under the schema
            self._writer.close()
            raise self._noted(self._problem(exc)) from exc
        except BaseException:
            self._writer.close()
            raise

    # -- schema ------------------------------------------------------------------
    def schema_version(self) -> int:
        return self._writer.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version()
        self._refuse_newer(version)
        if version == SCHEMA_VERSION:
            return  # the usual open takes no write lock
        with self._transaction() as db:
            # Read again under the write lock: another process may have migrated while
            # this one waited (reading it only before let both apply the same ALTER).
            version = db.execute("PRAGMA user_version").fetchone()[0]
            self._refuse_newer(version)
            pending = [m for m in MIGRATIONS if m.version > version]
            if pending and version > 0:
                self._backup(f"before-v{pending[0].version}")
            apply_migrations(db, pending)

    @staticmethod
    def _refuse_newer(version: int) -> None:
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"the catalog was written by a newer PhotoClip (schema {version}, this "
                f"version knows {SCHEMA_VERSION}); upgrade PhotoClip to open it"
            )

    def _backup(self, label: str) -> Path:
        """Copy the catalog as it is now (called inside the migration's transaction,
        before it writes: a separate connection reads the state being migrated)."""
        self._backups_dir.mkdir(parents=True, exist_ok=True)
        target = self._backups_dir / f"catalog-{label}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
        source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            with contextlib.closing(sqlite3.connect(target)) as copy:
                source.backup(copy)
        finally:
            source.close()
        return target

    # -- folders -----------------------------------------------------------------
    def folders(self) -> list[Folder]:
        rows = self._reader().execute(
            "SELECT id, path, identity FROM folders ORDER BY path").fetchall()
        return [Folder(row[0], path_from_key(row[1]), row[2]) for row in rows]

    def set_folder_identity(self, folder_id: int, identity: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE folders SET identity = ? WHERE id = ?", (identity, folder_id))

    def add_folder(self, path: Path) -> Folder:
        """Add a library folder; folders inside it are merged into it."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)",
                (path_key(path), time.time()),
            )
            folder_id = db.execute(
                "SELECT id FROM folders WHERE path = ?", (path_key(path),)
            ).fetchone()[0]
            for child_id, child_path in db.execute("SELECT id, path FROM folders").fetchall():
                if child_id != folder_id and path in path_from_key(child_path).parents:
                    db.execute(
                        "UPDATE photos SET folder_id = ? WHERE folder_id = ?", (folder_id, child_id)
                    )
                    db.execute("DELETE FROM folders WHERE id = ?", (child_id,))
        return Folder(folder_id, path)

    def remove_folder(self, folder_id: int) -> list[int]:
        """Remove a folder and forget its photos; returns the forgotten photo ids."""
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (folder_id,))]
            db.execute("DELETE FROM photos WHERE folder_id = ?", (folder_id,))
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
            self._bump_epoch(db)
        return ids

    # -- triage ------------------------------------------------------------------
    def file_records(self, folder_id: int) -> dict[bytes, FileRecord]:
        rows = self._reader().execute(
            f"SELECT path, {FILE_RECORD_COLUMNS} FROM photos WHERE folder_id = ? AND {LIVE}",
            (folder_id,),
        )
        return {r[0]: file_record_from_row(r[1:]) for r in rows}

    def mark_pending(self, folder_id: int, files: Iterable[tuple[Path, int, int]]) -> int:
        """Insert new files, or flag changed ones, as pending. Keeps old vectors meanwhile."""
        with self._transaction() as db:
            cursor = db.executemany(
                "INSERT INTO photos(folder_id, path, size, mtime_ns, state) "
                "VALUES (?, ?, ?, ?, 'pending') ON CONFLICT(path) DO UPDATE SET "
                "size = excluded.size, mtime_ns = excluded.mtime_ns, state = 'pending', "
                "failure_reason = NULL, folder_id = excluded.folder_id",
                ((folder_id, path_key(p), size, mtime) for p, size, mtime in files),
            )
            return cursor.rowcount

    def pending_photos(
        self, folder_ids: Iterable[int] | None = None, limit: int | None = None,
    ) -> list[Photo]:
        """Pending photos, oldest first; only those of ``folder_ids`` when given."""
        sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE state = 'pending' AND {LIVE}"
        params: list[int] = []
        if folder_ids is not None:
            ids = sorted(set(folder_ids))
            sql += f" AND folder_id IN ({','.join('?' * len(ids))})"
            params += ids
        sql += " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        params += [limit] if limit is not None else []
        return [photo_from_row(r) for r in self._reader().execute(sql, params)]

    # -- writing results -----------------------------------------------------------
    def record_results(
        self,
        encoded: Sequence[EncodedPhoto] = (),
        failures: Sequence[tuple[int, str, str | None]] = (),
        moves: Sequence[tuple[int, int]] = (),
        owed: Sequence[int] = (),
    ) -> None:
        """Write one batch in one transaction.

        ``failures`` are (photo_id, reason, content_hash); ``moves`` are
        (old_photo_id, pending_photo_id): the old row takes over the new path
        and keeps its vector, the pending row is dropped. ``owed``: photos whose
        auto tags are still to be written (``tags_owed``), marked in this same
        transaction so no kill can leave them indexed but never tagged.
        """
        now = time.time()
        with self._transaction() as db:
            db.executemany(
                "UPDATE photos SET content_hash = ?, width = ?, height = ?, taken_at = ?, "
                "embedding = ?, model_id = ?, state = 'indexed', failure_reason = NULL, "
                "indexed_at = ? WHERE id = ?",
                [
                    (e.content_hash, e.width, e.height, e.taken_at, vector_to_blob(e.vector),
                     e.model_id, now, e.photo_id)
                    for e in encoded
                ],
            )
            db.executemany(
                "UPDATE photos SET state = 'failed', failure_reason = ?, content_hash = ?, "
                "embedding = NULL, model_id = NULL WHERE id = ?",
                [(reason, digest, pid) for pid, reason, digest in failures],
            )
            for old_id, new_id in moves:
                row = db.execute(
                    "SELECT folder_id, path, size, mtime_ns FROM photos WHERE id = ?", (new_id,)
                ).fetchone()
                self._trash_rows(db, [new_id], now)  # renamed over a known photo: it keeps its tags
                db.execute(  # a row restored from the trash leaves it
                    "UPDATE photos SET folder_id = ?, path = ?, size = ?, mtime_ns = ?, "
                    "deleted_at = NULL, trashed_path = NULL WHERE id = ?", (*row, old_id),
                )
            db.executemany("INSERT OR IGNORE INTO tags_owed(photo_id) VALUES (?)",
                           [(pid,) for pid in owed])
            self._bump_epoch(db)
