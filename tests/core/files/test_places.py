"""Offline reverse geocoding (GPS position -> city, region, country) and the matching key `fold`.

The geocoding tests use real coordinates and the real GeoNames table of the `places` extra;
they are skipped only where the extra is not installed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from photoclip.core.files import places
from photoclip.core.files.places import PLACES_MISSING, Place, fold, place_of, place_of_many, places_available

needs_places = pytest.mark.skipif(not places_available(),
                                  reason=f"the places extra is missing: {PLACES_MISSING}")

LISBON = (38.7223, -9.1393)
SAO_PAULO = (-23.5505, -46.6333)
MID_ATLANTIC = (30.0, -40.0)


@needs_places
def test_central_lisbon_is_lisbon_not_the_nearest_city_section() -> None:
    # The nearest GeoNames entries are the sections "Intendente" and "São Paulo" (Lisbon's).
    assert place_of(*LISBON) == Place(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT")


@needs_places
def test_central_sao_paulo_keeps_its_accents_and_folds_to_the_unaccented_name() -> None:
    place = place_of(*SAO_PAULO)
    assert place == Place(city="São Paulo", region="São Paulo", country="Brazil", country_code="BR")
    assert fold("Sao Paulo") == fold(place.city) == "sao paulo"


@needs_places
@pytest.mark.parametrize(("lat", "lon", "city", "code"), [
    (47.5596, 7.5886, "Basel", "CH"),       # 3 km from France, 4 km from Germany
    (48.5734, 7.7521, "Strasbourg", "FR"),  # across the Rhine from Kehl
    (48.5794, 7.8155, "Kehl", "DE"),        # 5 km from Strasbourg, a city eight times its size
])
def test_a_point_near_a_border_gets_its_own_country(lat: float, lon: float, city: str, code: str) -> None:
    place = place_of(lat, lon)
    assert (place.city, place.country_code) == (city, code)


@needs_places
def test_the_nearest_place_is_found_across_the_180th_meridian() -> None:
    # Egvekinot (66.32N 179.12W) is 57 km away; a lookup in degrees says Anadyr (190 km).
    assert place_of(66.0, 179.9) == Place(city="Egvekinot", region="Chukotka", country="Russia",
                                          country_code="RU")


# ---- the rules, on a made-up table (rows as the data package stores them)

KM_PER_DEGREE = math.pi * places.EARTH_RADIUS_KM / 180


def _east_of(lat: float, lon: float, km: float) -> tuple[float, float]:
    return lat, lon + km / (KM_PER_DEGREE * math.cos(math.radians(lat)))


def _use_table(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> None:
    from scipy.spatial import cKDTree

    table = places._Gazetteer(rows, {"AA": "Aland", "BB": "Beland"}, cKDTree)
    monkeypatch.setattr(places, "_load", lambda: table)
    monkeypatch.setattr(places, "_loader", places._Loader())


def _row(city: str, code: str, lat: float, lon: float, population: int) -> dict[str, Any]:
    return {"city": city, "country_code": code, "latitude": lat, "longitude": lon,
            "population": population, "state": f"{city} State"}


@needs_places
def test_the_nearest_place_decides_the_country_the_deepest_inside_the_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A city of 2M (its reach: 11 km) with a section of its own, and a town across a border
    # 5 km east of its centre.
    city = (10.0, 10.0)
    _use_table(monkeypatch, [_row("Bigcity", "AA", *city, 2_000_000),
                             _row("Section", "AA", *_east_of(*city, 1.2), 5_000),
                             _row("Town", "BB", *_east_of(*city, 5.0), 2_000)])
    assert place_of(*_east_of(*city, 1.0)) == Place("Bigcity", "Bigcity State", "Aland", "AA")
    # Nearer the town than the city, though deeper inside the city's reach: the town's.
    assert place_of(*_east_of(*city, 3.2)) == Place("Town", "Town State", "Beland", "BB")


@needs_places
def test_positions_beyond_the_sea_limit_have_no_place(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_table(monkeypatch, [_row("Harbour", "AA", 0.0, 0.0, 1_000)])
    limit = places.SEA_LIMIT_KM
    assert place_of(*_east_of(0.0, 0.0, limit - 1)) == Place("Harbour", "Harbour State", "Aland", "AA")
    assert place_of(*_east_of(0.0, 0.0, limit + 1)) is None


@needs_places
def test_country_names_are_the_ones_people_type() -> None:
    assert place_of(37.5665, 126.9780).country == "South Korea"  # GeoNames: "Korea, Republic of"


@needs_places
@pytest.mark.parametrize("position", [MID_ATLANTIC, (0.0, 0.0)], ids=["mid-atlantic", "null-island"])
def test_a_point_far_out_at_sea_has_no_place(position: tuple[float, float]) -> None:
    assert place_of(*position) is None


@pytest.mark.parametrize("position", [
    (91.0, 0.0), (-90.5, 0.0), (0.0, 180.5), (math.nan, 0.0), (0.0, math.inf), (None, 0.0), ("north", 0.0),
    (LISBON[0], LISBON[1] + 360), (180 - LISBON[0], LISBON[1] + 180),  # Lisbon, if wrapped round
])
def test_an_invalid_position_has_no_place(position: Any) -> None:
    assert place_of(*position) is None


@needs_places
def test_many_positions_are_answered_in_order_as_one_by_one() -> None:
    positions = [LISBON, (91.0, 0.0), MID_ATLANTIC, SAO_PAULO, (math.nan, math.nan), LISBON]
    answers = place_of_many(positions)
    assert [a.city if a else None for a in answers] == ["Lisbon", None, None, "São Paulo", None, "Lisbon"]
    assert answers == [place_of(*p) for p in positions]
    assert place_of_many([]) == []


@pytest.mark.parametrize(("typed", "stored"), [
    ("zurich", "Zürich"), ("krakow", "Kraków"), ("strasse", "Straße"), ("STRASSE", "STRAẞE"),
    ("sao  paulo", " São\tPaulo "), ("orsted", "Ørsted"), ("lodz", "Łódź"), ("aero", "Ærø"),
    ("istanbul", "İstanbul"), ("reykjavik", "Reykjavík"), ("fin", "ﬁn"),
])
def test_fold_matches_without_accents_case_or_extra_spaces(typed: str, stored: str) -> None:
    assert fold(typed) == fold(stored) == " ".join(typed.lower().split())


def test_fold_keeps_letters_apart_that_differ() -> None:
    assert fold("Lisbon") != fold("Lisboa")
    assert fold("Saint-Étienne") == "saint-etienne"


def test_without_the_extra_no_position_has_a_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "reverse_geocode", None)  # `import reverse_geocode` fails
    monkeypatch.setattr(places, "_loader", places._Loader())  # nothing loaded before counts
    assert places_available() is False
    assert place_of(*LISBON) is None
    assert place_of_many([LISBON, SAO_PAULO]) == [None, None]
    assert "pip install 'photoclip[places]'" in PLACES_MISSING and "\n" not in PLACES_MISSING


@needs_places
def test_the_table_is_loaded_once_when_threads_ask_together(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = places._loader.get()
    calls: list[int] = []

    def slow_load() -> Any:
        calls.append(1)
        time.sleep(0.05)  # long enough for every thread to be waiting on the first load
        return loaded

    monkeypatch.setattr(places, "_load", slow_load)
    monkeypatch.setattr(places, "_loader", places._Loader())
    answers: list[Place | None] = []
    threads = [threading.Thread(target=lambda: answers.append(place_of(*LISBON))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert {a.city for a in answers if a} == {"Lisbon"} and len(answers) == 8


def test_importing_and_folding_loads_no_geocoder() -> None:
    probe = ("import sys, json\nfrom photoclip.core.files import places\nplaces.fold('São Paulo')\n"
             "places.places_available()\nplaces.place_of(91, 0)\n"
             "print(json.dumps([m for m in ('reverse_geocode', 'scipy') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
