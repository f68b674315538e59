"""Asking by when, where and with what, end to end through ``Library.find``: photos with
EXIF dates, offsets, cameras and GPS positions, indexed for real (fake encoder), then
found by filters alone, by text beside filters, and by date order."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.models import PhotoFilter
from photoclip.core.paths import app_paths
from photoclip.core.search.query import QueryError
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import camera_exif, save_camera_photo

pytest.importorskip("reverse_geocode", reason="place names need the places extra")

LISBON = (38.7223, -9.1393)
PORTO = (41.1496, -8.6110)
SAO_PAULO = (-23.5505, -46.6333)
AT_SEA = (30.0, -40.0)

# name: (colour, shape, date, offset, make, model, gps, subfolder)
SHOTS = {
    "lisbon_red_2023": ("red", "circle", "2023:07:14 18:30:00", "+01:00", "Google", "Pixel 7", LISBON,
                        "Trips/Portugal"),
    "lisbon_blue_2023": ("blue", "square", "2023:07:15 09:00:00", "+01:00", "Google", "Pixel 7", LISBON,
                         "Trips/Portugal"),
    "porto_red_2022": ("red", "triangle", "2022:03:02 12:00:00", None, "Canon", "Canon EOS R6", PORTO,
                       "Trips/Portugal"),
    "saopaulo_red_2021": ("red", "square", "2021:12:25 20:00:00", "-03:00", "Apple", "iPhone 13",
                          SAO_PAULO, "Trips/Brazil"),
    "sea_blue_2023": ("blue", "circle", "2023:08:01 10:00:00", None, "Google", "Pixel 7", AT_SEA,
                      "Boat"),
    "home_red_nodate": ("red", "circle", None, None, None, None, None, "Home"),
}


@pytest.fixture
def library(tmp_path: Path) -> Library:
    photos = tmp_path / "photos"
    for seed, (name, (colour, shape, taken, offset, make, model, gps, sub)) in enumerate(SHOTS.items()):
        exif = camera_exif(taken, offset=offset, make=make, model=model, gps=gps)
        save_camera_photo(photos / sub / f"{name}.jpg", colour, shape, exif, seed=seed)
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    lib = Library(paths, Settings(batch_size=4, decode_workers=2), encoder=FakeEncoder())
    lib.add_folder(photos)
    lib.index_photos()
    yield lib
    lib.close()


def names(hits: list) -> list[str]:
    return [hit.path.stem for hit in hits]


def test_indexing_keeps_what_each_photo_knows(library: Library) -> None:
    by_name = {p.path.stem: p.id for p in library.newest(100)}
    metas = library.meta_of(by_name.values())
    lisbon = metas[by_name["lisbon_red_2023"]]
    assert (lisbon.taken_local, lisbon.taken_offset_min, lisbon.taken_source) == (
        "2023-07-14T18:30:00", 60, "exif")
    assert (lisbon.camera, lisbon.city, lisbon.country, lisbon.country_code) == (
        "Google Pixel 7", "Lisbon", "Portugal", "PT")
    assert metas[by_name["sea_blue_2023"]].country is None  # at sea: no place, position kept
    assert metas[by_name["sea_blue_2023"]].lat == pytest.approx(AT_SEA[0], abs=1e-4)
    assert metas[by_name["home_red_nodate"]].taken_source == "file"


def test_a_query_of_filters_only_lists_the_photos_newest_first(library: Library) -> None:
    result = library.find("in:Portugal")
    assert names(result.hits) == ["lisbon_blue_2023", "lisbon_red_2023", "porto_red_2022"]
    assert result.total == 3
    assert [(c.kind, c.value) for c in result.parsed.chips] == [("place", "Portugal")]
    assert names(library.find("place:Lisbon year:2023").hits) == ["lisbon_blue_2023", "lisbon_red_2023"]


def test_place_names_match_without_accents_or_case(library: Library) -> None:
    assert names(library.find('place:"sao paulo"').hits) == ["saopaulo_red_2021"]
    assert names(library.find('place:"SÃO PAULO"').hits) == ["saopaulo_red_2021"]
    assert names(library.find("in:brazil").hits) == ["saopaulo_red_2021"]


def test_text_beside_filters_is_the_true_top_of_the_filtered_set(library: Library) -> None:
    # Of the red photos only those taken in Portugal, best first; blue Lisbon last.
    found = names(library.find("red in:Portugal", top=10).hits)
    assert sorted(found[:2]) == ["lisbon_red_2023", "porto_red_2022"]
    assert found[2:] == ["lisbon_blue_2023"]
    assert names(library.find("red in:Portugal", top=2).hits) == found[:2]
    assert set(names(library.find("red", filters=PhotoFilter(cameras=("pixel",)), top=10).hits)) == {
        "lisbon_red_2023", "lisbon_blue_2023", "sea_blue_2023"}


def test_dates_filters_and_date_phrases(library: Library) -> None:
    # The photo with no date in its headers is dated by its file (today): the last resort.
    assert names(library.find("after:2023-07-15").hits) == [
        "home_red_nodate", "sea_blue_2023", "lisbon_blue_2023"]
    assert names(library.find("before:2022-03-02").hits) == ["saopaulo_red_2021"]
    assert names(library.find("date:2023-07").hits) == ["lisbon_blue_2023", "lisbon_red_2023"]
    phrase = library.find("red in 2022", top=10)
    assert names(phrase.hits) == ["porto_red_2022"]
    assert [(c.kind, c.source) for c in phrase.parsed.chips] == [("date", "phrase")]
    assert len(library.find("red in 2022", literal=True, top=10).hits) == len(SHOTS)


def test_folder_camera_negation_and_orientation(library: Library) -> None:
    assert names(library.find("folder:brazil").hits) == ["saopaulo_red_2021"]
    assert set(names(library.find('camera:"eos r6"').hits)) == {"porto_red_2022"}
    assert set(names(library.find("in:Portugal -place:Lisbon").hits)) == {"porto_red_2022"}
    assert len(library.find("orientation:landscape", top=50).hits) == len(SHOTS)  # all 160x120
    assert library.find("orientation:portrait").hits == []


def test_a_filtered_search_that_matches_nothing_says_so_with_its_filters(library: Library) -> None:
    result = library.find("red place:Tokyo")
    assert result.hits == []
    assert [(c.kind, c.value) for c in result.parsed.chips] == [("place", "Tokyo")]
    with pytest.raises(QueryError, match="no album named 'Nowhere'"):
        library.find('album:"Nowhere"')
    with pytest.raises(QueryError):
        library.find("after:2023-13")


def test_sort_by_date_keeps_the_matches_above_the_cutoff_newest_first(tmp_path: Path) -> None:
    """A library where red photos are a few among many: "red sort:date" shows exactly
    the red ones, by capture time, and says how many weaker matches it hid."""
    photos = tmp_path / "many"
    reds = {}
    for i in range(40):
        colour = "red" if i % 8 == 0 else ("blue", "green", "yellow")[i % 3]
        taken = f"20{10 + i % 13:02d}:0{1 + i % 9}:1{i % 10} 12:00:00"
        path = save_camera_photo(photos / f"p{i:02d}.jpg", colour, "circle", camera_exif(taken), seed=i)
        if colour == "red":
            reds[path.stem] = taken
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    with Library(paths, Settings(batch_size=8, decode_workers=2), encoder=FakeEncoder()) as lib:
        lib.add_folder(photos)
        lib.index_photos()
        result = lib.find("red sort:date", top=20)
        newest_first = sorted(reds, key=reds.__getitem__, reverse=True)
        assert names(result.hits) == newest_first
        assert result.hidden == 20 - len(reds)  # of the 20 most relevant, those under the cutoff
        assert result.parsed.sort == "date"
        assert names(lib.find("red", sort="date", top=20).hits) == newest_first


def test_facets_count_what_the_filter_keeps(library: Library) -> None:
    facets = library.facets(PhotoFilter(places=("portugal",)))
    assert dict(facets.months) == {"2022-03": 1, "2023-07": 2}
    assert {(country, city): n for country, _, city, n in facets.places} == {
        ("Portugal", "Lisbon"): 2, ("Portugal", "Porto"): 1}
    assert dict(facets.cameras) == {"Google Pixel 7": 2, "Canon EOS R6": 1}


def test_a_library_indexed_before_gets_its_metadata_by_a_resumable_backfill(library: Library) -> None:
    with contextlib.closing(sqlite3.connect(library.catalog.path)) as db:  # made before this change
        db.execute("DELETE FROM photo_meta")
        db.commit()
    assert library.find("in:Portugal").hits == []
    assert library.catalog.count_missing_meta() == len(SHOTS)
    seen: list[tuple[int, int]] = []
    import photoclip.core.metadata_backfill as backfill

    backfill_batch = backfill.BATCH
    backfill.BATCH = 2
    try:
        assert library.backfill_meta(progress=lambda d, t: seen.append((d, t)), batches=1) == 2
        assert library.catalog.count_missing_meta() == len(SHOTS) - 2  # resumable: the rest stays owed
        assert library.backfill_meta(progress=lambda d, t: seen.append((d, t))) == len(SHOTS) - 2
    finally:
        backfill.BATCH = backfill_batch
    assert seen == [(2, 6), (2, 4), (4, 4)]
    assert library.catalog.count_missing_meta() == 0
    assert names(library.find("in:Portugal").hits) == [
        "lisbon_blue_2023", "lisbon_red_2023", "porto_red_2022"]


def test_event_albums_are_named_with_their_place(tmp_path: Path) -> None:
    photos = tmp_path / "trip"
    for i, (hour, gps) in enumerate([(9, LISBON), (11, LISBON), (15, LISBON), (17, PORTO)]):
        save_camera_photo(photos / f"t{i}.jpg", "red", "circle",
                          camera_exif(f"2024:07:14 {hour:02d}:00:00", gps=gps), seed=i)
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    settings = Settings(batch_size=8, decode_workers=2, album_min_photos=3)
    with Library(paths, settings, encoder=FakeEncoder()) as lib:
        lib.add_folder(photos)
        lib.index_photos()
        (event,) = [a for a in lib.organizer.albums() if a.kind == "event"]
        assert event.name == "Lisbon · 14 Jul 2024"  # 3 of 4 photos: Lisbon names it
        assert len(event.photo_ids) == 4
