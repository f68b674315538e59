"""Moves, the trash and tags in the catalog; the v1 -> v2 migration that added them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.models import PhotoState, Tag


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    db = Catalog(tmp_path / "catalog.sqlite3")
    yield db
    db.close()


def _indexed(catalog: Catalog, folder_id: int, path: Path, digest: str) -> int:
    catalog.mark_pending(folder_id, [(path, 1, 1)])
    photo_id = catalog.photo_by_path(path).id
    vector = np.ones(4, np.float32) / 2
    catalog.record_results([EncodedPhoto(photo_id, digest, 1, 1, None, vector, "m")])
    return photo_id


def test_move_tree_rewrites_paths_below_the_folder_only(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    inside = [_indexed(catalog, folder.id, tmp_path / "trip" / f"{i}.jpg", f"h{i}") for i in range(3)]
    deeper = _indexed(catalog, folder.id, tmp_path / "trip" / "day 2" / "x.jpg", "hx")
    sibling = _indexed(catalog, folder.id, tmp_path / "trip 2" / "y.jpg", "hy")  # shares the prefix
    catalog.add_tags(inside[0], [Tag("sea")])

    assert catalog.move_tree(tmp_path / "trip", tmp_path / "Trip 2026", folder.id) == (4, [])

    assert [catalog.photo_by_path(tmp_path / "Trip 2026" / f"{i}.jpg").id for i in range(3)] == inside
    assert catalog.photo_by_path(tmp_path / "Trip 2026" / "day 2" / "x.jpg").id == deeper
    assert catalog.photo_by_path(tmp_path / "trip 2" / "y.jpg").id == sibling
    assert catalog.tags(inside[0]) == [Tag("sea")]


def test_trash_hides_a_photo_and_frees_its_path(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    photo_id = _indexed(catalog, folder.id, tmp_path / "a.jpg", "ha")
    catalog.mark_pending(folder.id, [(tmp_path / "never encoded.jpg", 1, 1)])
    unencoded = catalog.photo_by_path(tmp_path / "never encoded.jpg").id
    catalog.add_tags(photo_id, [Tag("cat", "auto", 0.9)])

    catalog.trash([photo_id, unencoded], now=1000.0)

    assert catalog.photo_by_path(tmp_path / "a.jpg") is None
    assert catalog.photo(unencoded) is None  # nothing to bring back: forgotten
    assert catalog.state_counts()[PhotoState.INDEXED] == 0 and catalog.trash_count() == 1
    assert len(catalog.all_vectors("m")[0]) == 0
    twin = catalog.photos_with_hash("ha", "m")  # still found by content, to be restored
    assert [p.id for p in twin] == [photo_id] and twin[0].deleted_at == 1000.0
    catalog.mark_pending(folder.id, [(tmp_path / "a.jpg", 1, 1)])  # a new file takes the name
    assert catalog.photo_by_path(tmp_path / "a.jpg").id != photo_id

    assert catalog.purge_trash(deleted_before=999.0) == 0
    assert catalog.purge_trash(deleted_before=1001.0) == 1
    assert catalog.photo(photo_id) is None and catalog.tags(photo_id) == []


def test_a_move_back_from_the_trash_restores_the_row(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    photo_id = _indexed(catalog, folder.id, tmp_path / "a.jpg", "ha")
    catalog.add_tags(photo_id, [Tag("beach")])
    catalog.trash([photo_id])
    catalog.mark_pending(folder.id, [(tmp_path / "restored.jpg", 1, 5)])
    pending = catalog.photo_by_path(tmp_path / "restored.jpg").id
    catalog.record_results(moves=[(photo_id, pending)])
    restored = catalog.photo_by_path(tmp_path / "restored.jpg")
    assert restored.id == photo_id and restored.deleted_at is None
    assert catalog.tags(photo_id) == [Tag("beach")] and catalog.trash_count() == 0


def test_renaming_over_a_photo_trashes_the_one_replaced(catalog: Catalog, tmp_path: Path) -> None:
    folder = catalog.add_folder(tmp_path)
    first = _indexed(catalog, folder.id, tmp_path / "a.jpg", "ha")
    second = _indexed(catalog, folder.id, tmp_path / "b.jpg", "hb")
    assert catalog.move_file(first, tmp_path / "b.jpg", folder.id) == [second]
    assert catalog.photo_by_path(tmp_path / "b.jpg").id == first
    assert catalog.trash_count() == 1


def test_v1_catalog_upgrades_with_backup_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:  # what PhotoClip 0.1 wrote
        MIGRATIONS[0].apply(db)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (bytes(tmp_path),))
        db.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, state) "
                   "VALUES (1, ?, 1, 1, 'pending')", (bytes(tmp_path / "x.jpg"),))
    db.close()
    catalog = Catalog(path, backups_dir=tmp_path / "backups")
    try:
        assert catalog.schema_version() == SCHEMA_VERSION
        assert catalog.photo_by_path(tmp_path / "x.jpg").deleted_at is None
        assert len(list((tmp_path / "backups").glob("catalog-before-v2-*.sqlite3"))) == 1
    finally:
        catalog.close()


def test_v3_catalog_with_tags_upgrades_to_auto_tag_provenance(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:  # tags as PhotoClip wrote them before
        for migration in MIGRATIONS[:3]:
            migration.apply(db)
        db.execute("PRAGMA user_version = 3")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (bytes(tmp_path),))
        db.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, state) "
                   "VALUES (1, ?, 1, 1, 'indexed')", (bytes(tmp_path / "x.jpg"),))
        db.execute("INSERT INTO tags(photo_id, name, source, score) VALUES (1, 'beach', 'user', NULL)")
        db.execute("INSERT INTO tags(photo_id, name, source, score) VALUES (1, 'sea', 'auto', 0.7)")
    db.close()
    catalog = Catalog(path, backups_dir=tmp_path / "backups")
    try:
        assert catalog.schema_version() == SCHEMA_VERSION
        assert catalog.tags(1) == [Tag("beach"), Tag("sea", "auto", 0.7)]  # nothing lost
        assert len(list((tmp_path / "backups").glob("catalog-before-v4-*.sqlite3"))) == 1
        # An old auto tag has no label set: a run of a set never removes it, a user can.
        catalog.replace_auto_tags("scenes", "1:x", "m", [1], [(1, "beach", 0.9)])
        assert [(t.name, t.source) for t in catalog.tags(1)] == [("beach", "user"), ("sea", "auto")]
    finally:
        catalog.close()
