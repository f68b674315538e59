"""A migration that fails or is killed half-way leaves the catalog as it was.

The pending migrations run in one write transaction after a backup: whatever stops
them, the catalog stays at its old version with all its old rows, the backup is
there, and the next normal open migrates it. The old catalog here is at version 2,
so migrations 3 to the last are pending and the one that breaks is the last of them.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photoclip.core.catalog import store as catalog_module
from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from photoclip.core.catalog.store import Catalog
from photoclip.core.models import Tag

REPO = Path(__file__).resolve().parents[3]
OLD_VERSION = 2


def _old_catalog(path: Path, photos: Path) -> None:
    """A version-2 catalog (as PhotoClip wrote it then) with a folder, photos and tags."""
    with sqlite3.connect(path, isolation_level=None) as db:
        for migration in MIGRATIONS[:OLD_VERSION]:
            migration.apply(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, ?)", (migration.version, migration.name, 1.0))
        db.execute(f"PRAGMA user_version = {OLD_VERSION}")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 5)", (bytes(photos),))
        vector = np.arange(4, dtype=np.float32).tobytes()
        for n, state in enumerate(("indexed", "indexed", "pending"), start=1):
            db.execute(
                "INSERT INTO photos(folder_id, path, size, mtime_ns, content_hash, state, embedding,"
                " model_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (bytes(photos / f"p{n}.jpg"), 100 * n, 10 * n, f"h{n}", state,
                 vector if state == "indexed" else None, "m1" if state == "indexed" else None))
        db.execute("INSERT INTO tags(photo_id, name, source, score) VALUES (1, 'beach', 'user', NULL)")
        db.execute("INSERT INTO tags(photo_id, name, source, score) VALUES (1, 'sea', 'auto', 0.75)")
        db.execute("INSERT INTO tags(photo_id, name, source, score) VALUES (2, 'dog', 'auto', 0.5)")
    db.close()


def _snapshot(path: Path) -> dict[str, Any]:
    """Everything a migration could change: version, schema and every row."""
    with sqlite3.connect(path) as db:
        state = {
            "integrity": db.execute("PRAGMA integrity_check").fetchall(),
            "version": db.execute("PRAGMA user_version").fetchone()[0],
            "schema": db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
        }
        for table in ("migrations", "folders", "photos", "tags"):
            state[table] = db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    db.close()
    return state


def _backups(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"catalog-before-v{OLD_VERSION + 1}-*.sqlite3"))


def _assert_left_as_it_was(path: Path, backups: Path, before: dict[str, Any]) -> None:
    assert before["integrity"] == [("ok",)] and before["version"] == OLD_VERSION
    assert _snapshot(path) == before  # nothing of migration 3 or of half of 4 stayed
    [backup] = _backups(backups)
    assert _snapshot(backup) == before


def _assert_opens_and_migrates(path: Path, backups: Path, photos: Path) -> None:
    catalog = Catalog(path, backups_dir=backups)
    try:
        assert catalog.schema_version() == SCHEMA_VERSION
        assert catalog.photo_by_path(photos / "p2.jpg").content_hash == "h2"
        assert catalog.tags(1) == [Tag("beach"), Tag("sea", "auto", 0.75)]
        assert catalog.tags(2) == [Tag("dog", "auto", 0.5)]
        assert catalog.vector(1, "m1").tolist() == [0.0, 1.0, 2.0, 3.0]
    finally:
        catalog.close()
    after = _snapshot(path)
    assert after["integrity"] == [("ok",)]
    assert [row[0] for row in after["migrations"]] == [m.version for m in MIGRATIONS]


def _last_migration_failing_half_way(db: sqlite3.Connection) -> None:
    MIGRATIONS[-1].apply(db)  # all of the last migration's schema changes...
    db.execute("UPDATE tags SET label_set = 'scenes', model_id = 'm1'")
    raise RuntimeError("the migration broke half-way")  # ...and then it breaks


def test_a_migration_that_fails_half_way_leaves_the_old_catalog(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path, backups, photos = tmp_path / "catalog.sqlite3", tmp_path / "backups", tmp_path / "photos"
    _old_catalog(path, photos)
    before = _snapshot(path)
    with monkeypatch.context() as patch:
        broken = Migration(MIGRATIONS[-1].version, MIGRATIONS[-1].name, _last_migration_failing_half_way)
        patch.setattr(catalog_module, "MIGRATIONS", (*MIGRATIONS[:-1], broken))
        with pytest.raises(RuntimeError, match="broke half-way"):
            Catalog(path, backups_dir=backups)
    _assert_left_as_it_was(path, backups, before)
    _assert_opens_and_migrates(path, backups, photos)


# Opens the catalog with the last migration replaced by one that does its work, writes
# enough more that SQLite must spill uncommitted pages into the WAL file, and dies.
_KILLED_IN_A_MIGRATION = """
import os, signal, sys
from pathlib import Path
from photoclip.core.catalog import store as catalog_module
from photoclip.core.catalog.migrations import MIGRATIONS, Migration

def killed_half_way(db):
    MIGRATIONS[-1].apply(db)
    db.execute("UPDATE tags SET label_set = 'scenes', model_id = 'm1'")
    db.executemany("INSERT INTO smart_albums VALUES (?, ?, 0, 0)",
                   ((f"album {n}", "x" * 4000) for n in range(2000)))
    os.kill(os.getpid(), signal.SIGKILL)

last = MIGRATIONS[-1]
catalog_module.MIGRATIONS = (*MIGRATIONS[:-1], Migration(last.version, last.name, killed_half_way))
catalog_module.Catalog(Path(sys.argv[1]), backups_dir=Path(sys.argv[2]))
sys.exit("the migration was not run")
"""


def test_a_migration_killed_half_way_leaves_the_old_catalog(tmp_path: Path) -> None:
    path, backups, photos = tmp_path / "catalog.sqlite3", tmp_path / "backups", tmp_path / "photos"
    _old_catalog(path, photos)
    before = _snapshot(path)
    done = subprocess.run([sys.executable, "-c", _KILLED_IN_A_MIGRATION, str(path), str(backups)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 2_000_000  # the half-done work had reached the disk, uncommitted
    _assert_left_as_it_was(path, backups, before)
    _assert_opens_and_migrates(path, backups, photos)
