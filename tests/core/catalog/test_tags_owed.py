"""Photos owed their auto tags: marked with their batch's commit, settled once tagged, and
dropped when the photo leaves; the v4 -> v5 migration that added the table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photoclip.core.catalog.store import Catalog, EncodedPhoto


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    db = Catalog(tmp_path / "catalog.sqlite3")
    yield db
    db.close()


def _pending(catalog: Catalog, folder_id: int, names: list[str], root: Path) -> list[int]:
    catalog.mark_pending(folder_id, [(root / n, 1, 1) for n in names])
    return [catalog.photo_by_path(root / n).id for n in names]


def _encoded(photo_id: int, model: str = "m") -> EncodedPhoto:
    return EncodedPhoto(photo_id, f"h{photo_id}", 1, 1, None, np.ones(4, np.float32) / 2, model)


def test_a_batch_marks_its_photos_owed_in_its_commit_and_tagging_settles_them(
        catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    a, b, c, d = _pending(catalog, folder.id, ["a.jpg", "b.jpg", "c.jpg", "d.jpg"], tmp_path)
    catalog.record_results([_encoded(a), _encoded(b), _encoded(c, "other")], [(d, "bad", None)],
                           owed=[a, b, c])
    assert catalog.tags_owed("m") == [a, b]  # only the current model's vectors
    assert catalog.tags_owed("other") == [c]
    catalog.settle_tags_owed([a])
    assert catalog.tags_owed("m") == [b]
    catalog.record_results([_encoded(b)], owed=[b])  # marked again: still once
    assert catalog.tags_owed("m") == [b]


def test_owed_photos_that_leave_the_library_drop_out(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    other = catalog.add_folder(tmp_path / "elsewhere")
    a, b, c = _pending(catalog, folder.id, ["a.jpg", "b.jpg", "c.jpg"], tmp_path)
    [d] = _pending(catalog, other.id, ["d.jpg"], tmp_path / "elsewhere")
    catalog.record_results([_encoded(p) for p in (a, b, c, d)], owed=[a, b, c, d])
    catalog.trash([a])  # out of the library, its mark kept should it come back
    catalog.mark_pending(folder.id, [(tmp_path / "b.jpg", 2, 2)])  # changed: tagged when indexed
    assert catalog.tags_owed("m") == [c, d]
    catalog.remove_folder(other.id)  # forgotten: the mark goes with the row
    catalog.purge_trash(deleted_before=float("inf"), now=float("inf"))
    assert catalog.tags_owed("m") == [c]
    with sqlite3.connect(catalog.path) as db:
        assert [r[0] for r in db.execute("SELECT photo_id FROM tags_owed ORDER BY 1")] == [b, c]
    db.close()


def test_v4_catalog_upgrades_to_tags_owed_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:  # as PhotoClip wrote it before
        for migration in MIGRATIONS[:4]:
            migration.apply(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, 0)", (migration.version, migration.name))
        db.execute("PRAGMA user_version = 4")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (bytes(tmp_path),))
        db.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, state, embedding, model_id) "
                   "VALUES (1, ?, 1, 1, 'indexed', ?, 'm')",
                   (bytes(tmp_path / "x.jpg"), np.ones(4, np.float32).tobytes()))
    db.close()
    catalog = Catalog(path, backups_dir=tmp_path / "backups")
    try:
        assert catalog.schema_version() == SCHEMA_VERSION  # 5, and any later ones
        assert len(list((tmp_path / "backups").glob("catalog-before-v5-*.sqlite3"))) == 1
        assert catalog.tags_owed("m") == []  # nothing known to be owed before the table existed
        catalog.record_results([_encoded(1)], owed=[1])
        assert catalog.tags_owed("m") == [1]
    finally:
        catalog.close()
