"""The catalog's connections: one writer under a lock, one reader per thread.

SQLite in WAL mode so searches read while the single writer (the indexer)
commits. Writes go through one connection guarded by a lock and run in
``BEGIN IMMEDIATE`` transactions, so a writer never deadlocks half-way through
upgrading a read lock. Reads use one connection per thread.

``CatalogConnections`` is the base of ``Catalog`` and of each of its parts
(``reads``, ``moves``, ``tags``), so every part reaches the connections and the
``meta`` counters without importing ``store``; ``store`` opens the file and sets
the attributes declared here.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .damage import remember_damage
from .errors import CatalogDamaged, CatalogError, catalog_problem

BUSY_TIMEOUT_MS = 10_000


class CatalogConnections:
    """Connections, write transactions and damage bookkeeping (opened by ``Catalog``)."""

    path: Path
    _backups_dir: Path
    # One writer connection: the lock makes "one writer" true inside this
    # process too (the indexer thread and a UI-triggered folder change).
    _write_lock: threading.RLock
    _local: threading.local
    # Set by the first damage seen: no later write may touch the file.
    _damaged: CatalogDamaged | None
    _writer: sqlite3.Connection

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
