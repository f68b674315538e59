from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.migrations import SCHEMA_VERSION
from photoclip.core.catalog.reads import NEWEST_SQL
from photoclip.core.catalog.store import Catalog, CatalogError, EncodedPhoto
from photoclip.core.models import PhotoState


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    db = Catalog(tmp_path / "catalog.sqlite3")
    yield db
    db.close()


def _encoded(photo_id: int, value: float = 1.0) -> EncodedPhoto:
    vector = np.zeros(4, np.float32)
    vector[0] = value
    return EncodedPhoto(photo_id, f"hash{photo_id}", 10, 20, None, vector, "m1")


def test_new_catalog_is_wal_at_current_schema(catalog: Catalog) -> None:
    assert catalog.schema_version() == SCHEMA_VERSION
    mode = catalog._writer.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CatalogError, match="newer PhotoClip"):
        Catalog(path)


def test_pending_then_indexed_round_trip(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    catalog.mark_pending(folder.id, [(tmp_path / "a.jpg", 5, 7)])
    (photo,) = catalog.pending_photos()
    assert photo.path == tmp_path / "a.jpg" and photo.state is PhotoState.PENDING
    catalog.record_results([_encoded(photo.id)])
    stored = catalog.photo(photo.id)
    assert stored is not None and stored.state is PhotoState.INDEXED
    assert stored.width == 10 and stored.model_id == "m1"
    np.testing.assert_array_equal(catalog.vector(photo.id, "m1"), [1, 0, 0, 0])
    assert catalog.vector(photo.id, "other-model") is None
    ids, vectors = catalog.all_vectors("m1")
    assert ids.tolist() == [photo.id] and vectors.shape == (1, 4)


def test_every_vector_write_bumps_the_epoch(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    catalog.mark_pending(folder.id, [(tmp_path / "a.jpg", 5, 7)])
    before = catalog.vector_epoch()
    catalog.record_results([_encoded(catalog.pending_photos()[0].id)])
    assert catalog.vector_epoch() == before + 1


def test_non_utf8_paths_survive(catalog: Catalog, tmp_path: Path) -> None:
    weird = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9-\xff.jpg"))
    folder = catalog.add_folder(tmp_path)
    catalog.mark_pending(folder.id, [(weird, 1, 1)])
    assert catalog.photo_by_path(weird) is not None
    assert catalog.pending_photos()[0].path == weird


def test_failure_is_recorded_with_reason(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    catalog.mark_pending(folder.id, [(tmp_path / "bad.jpg", 1, 1)])
    photo_id = catalog.pending_photos()[0].id
    catalog.record_results(failures=[(photo_id, "truncated image data", "h")])
    assert [(f.path.name, f.reason) for f in catalog.failures()] == [("bad.jpg", "truncated image data")]
    assert catalog.state_counts()[PhotoState.FAILED] == 1


def test_move_keeps_the_old_row_and_its_vector(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    catalog.mark_pending(folder.id, [(tmp_path / "old.jpg", 1, 1)])
    old_id = catalog.pending_photos()[0].id
    catalog.record_results([_encoded(old_id, 0.5)])
    catalog.mark_pending(folder.id, [(tmp_path / "new.jpg", 1, 2)])
    new_id = catalog.pending_photos()[0].id
    catalog.record_results(moves=[(old_id, new_id)])
    moved = catalog.photo_by_path(tmp_path / "new.jpg")
    assert moved is not None and moved.id == old_id and moved.mtime_ns == 2
    assert catalog.photo_by_path(tmp_path / "old.jpg") is None
    assert catalog.photo(new_id) is None
    assert catalog.vector(old_id, "m1")[0] == pytest.approx(0.5)


def test_adding_a_parent_folder_absorbs_children(catalog: Catalog, tmp_path: Path) -> None:
    child = catalog.add_folder(tmp_path / "a" / "b")
    catalog.mark_pending(child.id, [(tmp_path / "a" / "b" / "x.jpg", 1, 1)])
    parent = catalog.add_folder(tmp_path / "a")
    assert [f.path for f in catalog.folders()] == [tmp_path / "a"]
    assert catalog.pending_photos()[0].folder_id == parent.id


def test_migration_backs_up_an_existing_catalog(tmp_path: Path, monkeypatch) -> None:
    from photoclip.core.catalog import migrations

    path = tmp_path / "catalog.sqlite3"
    Catalog(path, backups_dir=tmp_path / "backups").close()
    extra = migrations.Migration(
        SCHEMA_VERSION + 1, "test column", lambda db: db.execute("ALTER TABLE photos ADD x INT")
    )
    monkeypatch.setattr("photoclip.core.catalog.store.MIGRATIONS", (*migrations.MIGRATIONS, extra))
    monkeypatch.setattr("photoclip.core.catalog.store.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    upgraded = Catalog(path, backups_dir=tmp_path / "backups")
    assert upgraded.schema_version() == SCHEMA_VERSION + 1
    backups = list((tmp_path / "backups").glob("catalog-before-v*.sqlite3"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    upgraded.close()


def test_the_library_view_pages_through_an_index_not_a_sort(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    try:
        plan = " ".join(row[-1] for row in catalog._reader().execute(
            f"EXPLAIN QUERY PLAN {NEWEST_SQL}", (200, 5000)))
        assert "photos_newest" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        catalog.close()
