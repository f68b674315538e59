"""`photoclip search` with filters: the options and the query syntax, text beside them or
not, and JSON hits that carry each photo's date, place and camera (tiny real model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.synthetic import camera_exif, save_camera_photo

pytest.importorskip("reverse_geocode", reason="place names need the places extra")
pytestmark = pytest.mark.model


@pytest.fixture
def trips(cli: Cli, tmp_path: Path) -> Cli:
    folder = tmp_path / "trips"
    save_camera_photo(folder / "lisbon.jpg", "red", "circle", camera_exif(
        "2023:07:14 18:30:00", offset="+01:00", make="Google", model="Pixel 7", gps=(38.7223, -9.1393)))
    save_camera_photo(folder / "porto.jpg", "blue", "square", camera_exif(
        "2022:03:02 12:00:00", make="Canon", model="Canon EOS R6", gps=(41.1496, -8.6110)), seed=1)
    save_camera_photo(folder / "sydney.jpg", "red", "triangle", camera_exif(
        "2024:01:05 08:00:00", offset="+11:00", gps=(-33.8688, 151.2093)), seed=2)
    cli.run("add", str(folder))
    cli.run("index")
    return cli


def found(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli.run("search", *args, "--json").stdout)


def test_json_hits_carry_date_place_and_camera(trips: Cli) -> None:
    (hit,) = found(trips, "--place", "Lisbon")
    assert Path(hit["path"]).name == "lisbon.jpg"
    assert (hit["date"], hit["date_source"], hit["camera"]) == (
        "2023-07-14T18:30:00", "exif", "Google Pixel 7")
    assert hit["place"] == {"city": "Lisbon", "region": "Lisbon", "country": "Portugal", "country_code": "PT"}


def test_options_and_query_syntax_give_the_same_answer(trips: Cli) -> None:
    by_options = [Path(h["path"]).name for h in found(trips, "--year", "2022", "--camera", "canon")]
    by_syntax = [Path(h["path"]).name for h in found(trips, "year:2022 camera:canon")]
    assert by_options == by_syntax == ["porto.jpg"]
    newest_first = [Path(h["path"]).name for h in found(trips, "--after", "2022")]
    assert newest_first == ["sydney.jpg", "lisbon.jpg", "porto.jpg"]


def test_text_beside_a_filter_ranks_only_the_filtered_photos(trips: Cli) -> None:
    hits = found(trips, "a red circle", "--place", "Portugal")
    assert sorted(Path(h["path"]).name for h in hits) == ["lisbon.jpg", "porto.jpg"]
    assert hits[0]["score"] >= hits[1]["score"]


def test_a_filter_that_matches_nothing_says_so_and_a_bad_one_is_one_line(trips: Cli) -> None:
    done = trips.run("search", "--place", "Tokyo")
    assert done.stdout == ""
    assert "no photos match these filters" in done.stderr
    bad = trips.run("search", "after:2023-13", check=False)
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1
