"""Favourites and ratings as filters, end to end through ``Library.find`` and ``facets``:
marks set through the library, then found by ``favourite:`` and ``rating:`` alone, beside
the (fake) CLIP ranking, as ``filters=`` options, and in the facet counts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.models import PhotoFilter
from tests.fakes import fake_indexed_library
from tests.synthetic import draw_picture

# name: (colour, subfolder)
PICTURES = {"p0": ("red", "a"), "p1": ("red", "a"), "p2": ("blue", "a"),
            "p3": ("blue", "b"), "p4": ("green", "b"), "p5": ("green", "b")}


def _marked_library(root: Path) -> Library:
    photos = root / "photos"
    for seed, (name, (colour, sub)) in enumerate(PICTURES.items()):
        (photos / sub).mkdir(parents=True, exist_ok=True)
        draw_picture(colour, "circle", random.Random(seed)).save(photos / sub / f"{name}.png")
    lib = fake_indexed_library(root / "home", photos)
    ids = {p.path.stem: p.id for p in lib.newest(100)}
    lib.set_favourite([ids["p0"], ids["p2"], ids["p4"]], True)
    lib.set_favourite([ids["p4"]], False)  # a row that says "not a favourite", 0 stars
    lib.set_rating([ids["p0"]], 5)
    lib.set_rating([ids["p1"]], 3)
    lib.set_rating([ids["p3"]], 1)  # p5: never marked at all
    return lib


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """Shared by the tests that only search (one library built, not one per case)."""
    lib = _marked_library(tmp_path_factory.mktemp("marks"))
    yield lib
    lib.close()


def found(library: Library, query: str, filters: PhotoFilter | None = None) -> set[str]:
    return {hit.path.stem for hit in library.find(query, filters=filters, top=50).hits}


@pytest.mark.parametrize(("query", "expected"), [
    ("favourite:yes", {"p0", "p2"}),
    ("fav:no", {"p1", "p3", "p4", "p5"}),
    ("-favourite:yes", {"p1", "p3", "p4", "p5"}),
    ("rating:1", {"p0", "p1", "p3"}),
    ("rating:3", {"p0", "p1"}),
    ("rating:5", {"p0"}),
    ("rating:=3", {"p1"}),
    ("rating:=0", {"p2", "p4", "p5"}),
    ("favourite:yes rating:=0", {"p2"}),
    ("favourite:no rating:1", {"p1", "p3"}),
    ("rating:=2", set()),
    ("folder:b rating:=0", {"p4", "p5"}),
])
def test_a_filter_only_query_keeps_exactly_the_marked_photos(library: Library, query: str,
                                                           expected: set[str]) -> None:
    result = library.find(query, top=50)
    assert {hit.path.stem for hit in result.hits} == expected
    assert result.total == len(expected)


def test_clip_ranks_only_the_photos_the_marks_keep(library: Library) -> None:
    hits = library.find("red rating:1", top=50).hits
    assert [hit.path.stem for hit in hits][:2] in (["p0", "p1"], ["p1", "p0"])  # the red ones first
    assert {hit.path.stem for hit in hits} == {"p0", "p1", "p3"}
    assert found(library, "red", PhotoFilter(favourite=False)) == {"p1", "p3", "p4", "p5"}
    assert found(library, "", PhotoFilter(min_rating=3, favourite=True)) == {"p0"}


def test_marks_changed_after_a_search_change_the_next_one(tmp_path: Path) -> None:
    library = _marked_library(tmp_path)
    assert found(library, "favourite:yes") == {"p0", "p2"}
    p0 = next(p.id for p in library.newest(100) if p.path.stem == "p0")
    library.set_favourite([p0], False)
    library.set_rating([p0], 0)
    assert found(library, "favourite:yes") == {"p2"}
    assert found(library, "rating:=0") == {"p0", "p2", "p4", "p5"}
    library.close()


def test_facets_count_under_the_marks(library: Library) -> None:
    assert library.facets(PhotoFilter(favourite=True)).folders == (("a", 2), ("photos", 2))
    assert library.facets(PhotoFilter(exact_rating=0)).folders == (("photos", 3), ("b", 2), ("a", 1))
