"""What photos' headers say, in the catalog: stored and read back, the backfill's work
list, every filter alone and combined (exact id sets), a page newest first, the facet
counts, and the v5 -> v6 migration that added the tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.meta import META_VERSION
from photoclip.core.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.models import PhotoFilter, PhotoMeta, Tag

LISBON = dict(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT")
# name -> (relative path, taken_at, meta or None)
PHOTOS = {
    1: ("Trips/Lisboa/a.jpg", 1_689_328_800.0, PhotoMeta(
        taken_at=1_689_328_800.0, taken_local="2023-07-14T10:00:00", taken_source="exif",
        camera_make="Google", camera_model="Pixel 7", width=4000, height=3000, lat=38.72, lon=-9.14,
        **LISBON)),
    2: ("Trips/Brasil/b.jpg", 1_704_067_199.0, PhotoMeta(
        taken_at=1_704_067_199.0, taken_local="2023-12-31T23:59:59", taken_offset_min=-180,
        taken_source="exif", camera_make="Apple", camera_model="iPhone 13", orientation=6,
        width=4000, height=3000, city="São Paulo", region="São Paulo", country="Brazil", country_code="BR")),
    3: ("Screens/c.png", 1_705_276_800.0, PhotoMeta(
        taken_at=1_705_276_800.0, taken_local="2024-01-15T00:00:00", taken_source="png",
        width=1000, height=1000, file_type="png")),
    4: ("Trips/Lisboa/d.jpg", 1_651_363_200.0, PhotoMeta(
        taken_at=1_651_363_200.0, taken_local="2022-05-01T00:00:00", camera_make="Canon",
        camera_model="Canon EOS R6", width=3000, height=4000, city="Porto", region="Porto",
        country="Portugal", country_code="PT")),
    5: ("e.jpg", None, None),  # indexed before metadata was read: no row yet
    6: ("Trips/Lisboa/f.jpg", 1_689_328_801.0, PhotoMeta(taken_local="2023-07-14T10:00:01", **LISBON)),
}
LIVE = {1, 2, 3, 4, 5}  # 6 goes to the trash


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Catalog, Path]]:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    root = tmp_path / "Photos"
    folder = catalog.add_folder(root)
    catalog.mark_pending(folder.id, [(root / rel, 1, 1) for rel, _, _ in PHOTOS.values()])
    ids = {n: catalog.photo_by_path(root / rel).id for n, (rel, _, _) in PHOTOS.items()}
    assert ids == {n: n for n in PHOTOS}
    catalog.record_results([EncodedPhoto(n, f"h{n}", 1, 1, taken, np.ones(4, np.float32), "m")
                            for n, (_, taken, _) in PHOTOS.items()])
    catalog.save_meta_many([(n, meta) for n, (_, _, meta) in PHOTOS.items() if meta is not None])
    catalog.add_tags(1, [Tag("beach"), Tag("screenshot")])
    catalog.add_tags(2, [Tag("Beach", "auto", 0.9, "scenes"), Tag("people", "auto", 0.8, "scenes")])
    catalog.add_tags(3, [Tag("screenshot", "auto", 0.99, "kinds")])
    catalog.add_tags(4, [Tag("beach", "rejected")])
    catalog.add_tags(5, [Tag("beach")])
    catalog.add_tags(6, [Tag("beach"), Tag("people")])
    catalog.trash([6])
    yield catalog, root
    catalog.close()


def _ids(catalog: Catalog, **conditions: object) -> set[int]:
    found = catalog.filtered_ids(PhotoFilter(**conditions))  # type: ignore[arg-type]
    assert found.dtype == np.int64 and found.tolist() == sorted(found.tolist())
    return set(found.tolist())


def test_meta_round_trips_and_is_replaced(library: tuple[Catalog, Path]) -> None:
    catalog, _ = library
    assert catalog.meta_of([1, 2, 5, 99]) == {1: PHOTOS[1][2], 2: PHOTOS[2][2]}
    moved = PhotoMeta(taken_local="2020-01-01T00:00:00", city="Zürich", country="Switzerland",
                      country_code="ch")
    catalog.save_meta(1, moved)
    assert catalog.meta_of([1])[1] == PhotoMeta(taken_local="2020-01-01T00:00:00", city="Zürich",
                                                country="Switzerland", country_code="CH")
    assert _ids(catalog, places=("zurich",)) == _ids(catalog, places=("CH",)) == {1}
    assert _ids(catalog, places=("lisbon",)) == set()  # the old place went with the old row


def test_the_backfill_lists_live_indexed_photos_without_current_meta(library: tuple[Catalog, Path]) -> None:
    catalog, root = library
    assert catalog.photos_missing_meta(10) == [(5, root / "e.jpg", 1)]
    assert catalog.count_missing_meta() == 1
    with sqlite3.connect(catalog.path) as db:  # read by an older reader
        db.execute("UPDATE photo_meta SET meta_version = ? WHERE photo_id = 4", (META_VERSION - 1,))
    db.close()
    assert [pid for pid, _, _ in catalog.photos_missing_meta(10)] == [5, 4]  # newest first
    assert [pid for pid, _, _ in catalog.photos_missing_meta(1)] == [5]
    assert catalog.count_missing_meta() == 2
    catalog.save_meta_many([(5, PhotoMeta()), (4, PHOTOS[4][2])])
    assert catalog.photos_missing_meta(10) == [] and catalog.count_missing_meta() == 0


def test_no_filter_keeps_every_live_indexed_photo(library: tuple[Catalog, Path]) -> None:
    catalog, root = library
    assert _ids(catalog) == LIVE
    catalog.mark_pending(catalog.folders()[0].id, [(root / "new.jpg", 1, 1)])  # not indexed yet
    assert _ids(catalog) == LIVE


@pytest.mark.parametrize(("conditions", "expected"), [
    ({"after": "2023-07-01"}, {1, 2, 3}),
    ({"after": "2024-01-15"}, {3}),  # inclusive: taken that day at midnight
    ({"before": "2024-01-15"}, {1, 2, 4}),  # exclusive: the 15th's photo is out
    ({"before": "2023-12-31"}, {1, 4}),
    ({"after": "2023-07-01", "before": "2024-01-15"}, {1, 2}),
    ({"after": "2030-01-01"}, set()),
])
def test_dates_bound_the_local_capture_time(library: tuple[Catalog, Path], conditions: dict,
                                            expected: set[int]) -> None:
    assert _ids(library[0], **conditions) == expected


@pytest.mark.parametrize(("places", "expected"), [
    (("Sao Paulo",), {2}),  # accents and case do not matter
    (("SÃO  PAULO",), {2}),
    (("portugal",), {1, 4}),  # a country
    (("pt",), {1, 4}),  # its code
    (("lisbon",), {1}),  # a city (the trashed photo there is out)
    (("Lis",), set()),  # a whole name, not a part of one
    (("porto", "brazil"), {2, 4}),  # any of them
])
def test_places_match_a_whole_city_region_country_or_code(
        library: tuple[Catalog, Path], places: tuple[str, ...], expected: set[int]) -> None:
    assert _ids(library[0], places=places) == expected


@pytest.mark.parametrize(("conditions", "expected"), [
    ({"cameras": ("pixel",)}, {1}),
    ({"cameras": ("APPLE IPHONE",)}, {2}),  # part of "make model"
    ({"cameras": ("eos r6", "pixel 7")}, {1, 4}),
    ({"cameras": ("nikon",)}, set()),
    ({"folders": ("trips",)}, {1, 2, 4}),
    ({"folders": ("Lisboa",)}, {1, 4}),
    ({"folders": ("photos",)}, LIVE),  # the library folder's own name
    ({"folders": ("lis",)}, set()),  # a whole folder name
    ({"folders": ("screens", "brasil")}, {2, 3}),
    ({"orientation": "portrait"}, {2, 4}),  # 2 is turned upright by its EXIF orientation
    ({"orientation": "landscape"}, {1}),
    ({"orientation": "square"}, {3}),
    ({"tags": ("beach",)}, {1, 2, 5}),  # user and auto, any case; not rejected, not trashed
    ({"tags": ("beach", "people")}, {2}),  # all of them
    ({"tags": ("nobody has this",)}, set()),
    ({"tags": ("screenshot",)}, {1, 3}),
    ({"kinds": ("screenshot",)}, {3}),  # only the kinds set's tag
    ({"exclude_tags": ("people",)}, {1, 3, 4, 5}),
    ({"exclude_places": ("portugal",)}, {2, 3, 5}),  # photos without a place stay
    ({"ids": (1, 3, 99)}, {1, 3}),
    ({"ids": ()}, set()),
])
def test_each_filter_alone(library: tuple[Catalog, Path], conditions: dict, expected: set[int]) -> None:
    assert _ids(library[0], **conditions) == expected


@pytest.mark.parametrize(("conditions", "expected"), [
    ({"after": "2023-01-01", "places": ("portugal",), "tags": ("beach",)}, {1}),
    ({"places": ("portugal",), "exclude_tags": ("beach",)}, {4}),
    ({"folders": ("trips",), "orientation": "portrait", "cameras": ("iphone",)}, {2}),
    ({"before": "2024-02-01", "kinds": ("screenshot",), "ids": (3, 4)}, {3}),
    ({"tags": ("beach",), "exclude_places": ("sao paulo",), "folders": ("photos",)}, {1, 5}),
    ({"after": "2023-01-01", "places": ("portugal",), "tags": ("people",)}, set()),
])
def test_filters_combined(library: tuple[Catalog, Path], conditions: dict, expected: set[int]) -> None:
    assert _ids(library[0], **conditions) == expected


def test_filters_follow_changes_made_after_they_ran(library: tuple[Catalog, Path]) -> None:
    catalog, root = library
    assert _ids(catalog, tags=("people",)) == {2} and _ids(catalog, folders=("screens",)) == {3}
    catalog.add_tags(4, [Tag("People")])
    catalog.move_file(3, root / "Trips" / "c.png", catalog.folders()[0].id)
    catalog.trash([2])
    assert _ids(catalog, tags=("people",)) == {4}
    assert _ids(catalog, folders=("screens",)) == set() and _ids(catalog, folders=("trips",)) == {1, 3, 4}
    assert _ids(catalog) == {1, 3, 4, 5}


def test_newest_first_pages_by_capture_time(library: tuple[Catalog, Path]) -> None:
    catalog, _ = library
    assert [p.id for p in catalog.newest_first(PhotoFilter(), 10)] == [5, 3, 2, 1, 4]  # 5: indexed now
    assert catalog.newest_first(PhotoFilter(), 10) == catalog.newest_photos(10)  # the library view's order
    assert [p.id for p in catalog.newest_first(PhotoFilter(exclude_tags=("people",)), 2, 1)] == [3, 1]
    assert [p.id for p in catalog.newest_first(PhotoFilter(places=("portugal",)), 10)] == [1, 4]
    assert [p.id for p in catalog.newest_first(PhotoFilter(places=("portugal",)), 10, 1)] == [4]
    assert catalog.newest_first(PhotoFilter(places=("portugal",)), 10, 2) == []
    [photo] = catalog.newest_first(PhotoFilter(cameras=("pixel",)), 10)
    assert photo == catalog.photo(1)


def test_facet_counts(library: tuple[Catalog, Path]) -> None:
    catalog, _ = library
    everything = PhotoFilter()
    assert catalog.month_counts(everything) == [("2022-05", 1), ("2023-07", 1), ("2023-12", 1),
                                                ("2024-01", 1)]
    assert catalog.place_counts(everything) == [
        ("Brazil", "São Paulo", "São Paulo", 1), ("Portugal", "Lisbon", "Lisbon", 1),
        ("Portugal", "Porto", "Porto", 1)]
    assert catalog.place_counts(PhotoFilter(tags=("beach",))) == [
        ("Brazil", "São Paulo", "São Paulo", 1), ("Portugal", "Lisbon", "Lisbon", 1)]
    assert catalog.camera_counts(everything) == [("Apple iPhone 13", 1), ("Canon EOS R6", 1),
                                                 ("Google Pixel 7", 1)]
    assert catalog.folder_name_counts(everything) == [("Photos", 5), ("Trips", 3), ("Lisboa", 2),
                                                      ("Brasil", 1), ("Screens", 1)]
    assert catalog.tag_name_counts(everything) == [("beach", 2), ("screenshot", 2), ("Beach", 1),
                                                   ("people", 1)]
    assert catalog.month_counts(PhotoFilter(places=("portugal",))) == [("2022-05", 1), ("2023-07", 1)]
    assert catalog.tag_name_counts(PhotoFilter(tags=("nobody has this",))) == []
    catalog.add_tags(4, [Tag("people")])  # counted again after a change
    assert ("people", 2) in catalog.tag_name_counts(everything)


def test_a_v5_catalog_migrates_with_a_backup_and_keeps_its_rows(tmp_path: Path) -> None:
    path, root = tmp_path / "catalog.sqlite3", tmp_path / "Photos"
    with sqlite3.connect(path, isolation_level=None) as db:  # as PhotoClip wrote it before
        for migration in MIGRATIONS[:5]:
            migration.apply(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, 0)", (migration.version, migration.name))
        db.execute("PRAGMA user_version = 5")
        db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (bytes(root),))
        for n in (1, 2):
            db.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, state, embedding, model_id, "
                       "indexed_at) VALUES (1, ?, 1, ?, 'indexed', ?, 'm', ?)",
                       (bytes(root / "Trips" / f"{n}.jpg"), n, np.ones(4, np.float32).tobytes(), n))
        db.execute("INSERT INTO tags(photo_id, name, source) VALUES (1, 'beach', 'user')")
    db.close()
    catalog = Catalog(path, backups_dir=tmp_path / "backups")
    try:
        assert catalog.schema_version() == SCHEMA_VERSION  # 6, and any later ones
        assert len(list((tmp_path / "backups").glob("catalog-before-v6-*.sqlite3"))) == 1
        assert catalog.photo_by_path(root / "Trips" / "2.jpg").mtime_ns == 2
        assert catalog.tags(1) == [Tag("beach")]
        assert [pid for pid, _, _ in catalog.photos_missing_meta(10)] == [2, 1]
        assert _ids(catalog, folders=("trips",)) == {1, 2}  # photos from before have folder names
        catalog.save_meta(2, PhotoMeta(taken_local="2021-03-04T05:06:07"))
        assert _ids(catalog, after="2021-01-01", tags=()) == {2} and catalog.count_missing_meta() == 1
    finally:
        catalog.close()
