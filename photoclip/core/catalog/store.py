"""The catalog: all SQL lives here, and it is the library's source of truth.

SQLite in WAL mode so searches read while the single writer (the indexer)
commits. Writes go through one connection guarded by a lock and run in
``BEGIN IMMEDIATE`` transactions, so a writer never deadlocks half-way through
upgrading a read lock. Reads use one connection per thread. Rows come out as
typed dataclasses from ``models``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models import Failure, Folder, Photo, PhotoState
from .damage import known_damage, remember_damage
from .migrations import MIGRATIONS, SCHEMA_VERSION, apply_migrations, create_catalog
from .moves import MovesAndTrash
from .tags import TagsAlbumsConcepts

BUSY_TIMEOUT_MS = 10_000
_PHOTO_COLUMNS = (
    "id, path, folder_id, size, mtime_ns, state, content_hash, width, height, "
    "taken_at, failure_reason, model_id, deleted_at"
)
LIVE = "deleted_at IS NULL"  # rows of files that exist (not in the trash)
# The library view. INDEXED BY: with the state index beside it, SQLite's planner
# would otherwise filter by state and sort every photo for every page.
NEWEST_SQL = (
    f"SELECT {_PHOTO_COLUMNS} FROM photos INDEXED BY photos_newest "
    f"WHERE state = 'indexed' AND {LIVE} "
    "ORDER BY COALESCE(taken_at, indexed_at) DESC, id DESC LIMIT ? OFFSET ?"
)


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


def _photo(row: sqlite3.Row | tuple) -> Photo:
    return Photo(
        id=row[0], path=path_from_key(row[1]), folder_id=row[2], size=row[3],
        mtime_ns=row[4], state=PhotoState(row[5]), content_hash=row[6], width=row[7],
        height=row[8], taken_at=row[9], failure_reason=row[10], model_id=row[11],
        deleted_at=row[12],
    )


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class Catalog(MovesAndTrash, TagsAlbumsConcepts):
    """Typed access to the SQLite catalog. Safe to share between threads."""

    def __init__(self, path: Path, *, backups_dir: Path | None = None) -> None:
        self.path = path
        self._backups_dir = backups_dir or path.parent / "backups"
        # One writer connection: the lock makes "one writer" true inside this
        # process too (the indexer thread and a UI-triggered folder change).
        self._write_lock = threading.RLock()
        self._local = threading.local()
        # Set by the first damage seen: no later write may touch the file.
        self._damaged: CatalogDamaged | None = None
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

    # -- connections -------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives app crashes
        except sqlite3.DatabaseError as exc:
            raise self._problem(exc) from exc
        return db

    def _problem(self, exc: sqlite3.Error) -> CatalogError:
        problem = catalog_problem(exc, self.path, self._backups_dir)
        if problem is None:
            return CatalogError(f"cannot open catalog {self.path}: {exc}")
        if isinstance(problem, CatalogDamaged):
            self._damaged = problem
        return problem

    def _reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a damaged file or a full disk becomes a CatalogError."""
        with self._write_lock:
            if self._damaged is not None:
                # A fresh one: raising the same object again adds to its traceback every
                # time, which a long-running worker's retries would grow without end.
                raise CatalogDamaged(str(self._damaged))
            db = self._writer
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    # SQLite may have rolled back already (a full disk does): a ROLLBACK
                    # then fails and would hide the error that matters.
                    if db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                if catalog_problem(exc, self.path, self._backups_dir) is None:
                    raise  # a constraint or a bug: the caller's to see
                raise self._problem(exc) from exc

    def _noted(self, problem: CatalogError) -> CatalogError:
        """A catalog refused at open: noted for later processes (nothing is open to close)."""
        if isinstance(problem, CatalogDamaged):
            remember_damage(self.path, str(problem))
        return problem

    def note_damage(self, problem: CatalogDamaged) -> None:
        """Damage met outside a write (a read, by the caller): no later write, here or in
        another process, may touch the file (noted when this catalog closes)."""
        self._damaged = problem

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        reader = getattr(self._local, "db", None)
        if reader is not None:
            reader.close()
            self._local.db = None
        if self._damaged is not None:  # after the last checkpoint: the file as it stays
            remember_damage(self.path, str(self._damaged))

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

    # -- meta --------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def vector_epoch(self) -> int:
        """A counter bumped by every transaction that changes vectors (index staleness)."""
        return self._counter("vector_epoch")

    def _counter(self, key: str) -> int:
        return int(self.get_meta(key, "0") or 0)

    @staticmethod
    def _bump(db: sqlite3.Connection, key: str) -> None:
        """Add one to a counter in ``meta`` (inside the caller's transaction)."""
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1", (key,)
        )

    @classmethod
    def _bump_epoch(cls, db: sqlite3.Connection) -> None:
        cls._bump(db, "vector_epoch")

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
            "SELECT path, id, size, mtime_ns, state, model_id FROM photos WHERE folder_id = ? "
            f"AND {LIVE}", (folder_id,),
        )
        return {r[0]: FileRecord(r[1], r[2], r[3], PhotoState(r[4]), r[5]) for r in rows}

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
        sql = f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'pending' AND {LIVE}"
        params: list[int] = []
        if folder_ids is not None:
            ids = sorted(set(folder_ids))
            sql += f" AND folder_id IN ({','.join('?' * len(ids))})"
            params += ids
        sql += " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        params += [limit] if limit is not None else []
        return [_photo(r) for r in self._reader().execute(sql, params)]

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

    # -- reading -----------------------------------------------------------------
    def photo(self, photo_id: int) -> Photo | None:
        row = self._reader().execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return _photo(row) if row else None

    def photo_by_path(self, path: Path) -> Photo | None:
        row = self._reader().execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = ?", (path_key(path),)
        ).fetchone()
        return _photo(row) if row else None

    def photos_by_ids(self, ids: Sequence[int]) -> dict[int, Photo]:
        found: dict[int, Photo] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._reader().execute(
                f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id IN ({marks}) AND {LIVE}", chunk
            ):
                found[row[0]] = _photo(row)
        return found

    def newest_photos(self, limit: int, offset: int = 0) -> list[Photo]:
        """Indexed photos, newest first (taken date, else when indexed): the library view."""
        rows = self._reader().execute(NEWEST_SQL, (limit, offset))
        return [_photo(r) for r in rows]

    def vector(self, photo_id: int, model_id: str) -> np.ndarray | None:
        row = self._reader().execute(
            "SELECT embedding FROM photos WHERE id = ? AND model_id = ? AND embedding IS NOT NULL",
            (photo_id, model_id),
        ).fetchone()
        return blob_to_vector(row[0]) if row else None

    def photos_with_hash(self, content_hash: str, model_id: str) -> list[Photo]:
        rows = self._reader().execute(
            # Pending rows count too: during --reindex every row is pending, and a
            # pending row's vector still belongs to its recorded content_hash.
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE content_hash = ? AND model_id = ? "
            "AND embedding IS NOT NULL ORDER BY id",
            (content_hash, model_id),
        )
        return [_photo(r) for r in rows]

    def all_vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every indexed photo made by ``model_id``: the index's source."""
        rows = self._reader().execute(
            "SELECT id, embedding FROM photos WHERE state = 'indexed' AND model_id = ? "
            f"AND embedding IS NOT NULL AND {LIVE} ORDER BY id", (model_id,),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.empty((0, 0), dtype=np.float32)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), -1)

    def vector_dim(self, model_id: str) -> int | None:
        row = self._reader().execute(
            "SELECT length(embedding) FROM photos WHERE model_id = ? AND embedding IS NOT NULL "
            "LIMIT 1", (model_id,),
        ).fetchone()
        return row[0] // 4 if row else None  # float32

    def state_counts(self) -> dict[PhotoState, int]:
        counts = {state: 0 for state in PhotoState}
        for state, count in self._reader().execute(
            f"SELECT state, COUNT(*) FROM photos WHERE {LIVE} GROUP BY state"
        ):
            counts[PhotoState(state)] = count
        return counts

    def folder_counts(self) -> dict[int, dict[PhotoState, int]]:
        """Photos per folder and state (the sidebar's "1,204 photos, 30 to index")."""
        counts: dict[int, dict[PhotoState, int]] = {}
        for folder_id, state, count in self._reader().execute(
            f"SELECT folder_id, state, COUNT(*) FROM photos WHERE {LIVE} GROUP BY folder_id, state"
        ):
            counts.setdefault(folder_id, {s: 0 for s in PhotoState})[PhotoState(state)] = count
        return counts

    def count_other_models(self, model_id: str) -> int:
        """Indexed photos whose vector came from another model (need re-encoding)."""
        return self._reader().execute(
            f"SELECT COUNT(*) FROM photos WHERE state = 'indexed' AND model_id != ? AND {LIVE}",
            (model_id,),
        ).fetchone()[0]

    def failures(self) -> list[Failure]:
        rows = self._reader().execute(
            f"SELECT path, failure_reason FROM photos WHERE state = 'failed' AND {LIVE} ORDER BY path"
        )
        return [Failure(path_from_key(r[0]), r[1] or "unknown") for r in rows]
