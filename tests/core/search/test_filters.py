from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.models import PhotoFilter
from photoclip.core.search.filters import (
    Chip,
    filter_from_options,
    merge,
    parse_filters,
    parse_sort,
    remove_chip,
)
from photoclip.core.search.query import QueryError, parse_query

TODAY = date(2024, 7, 10)


def _parse(query: str, literal: bool = False):
    return parse_filters(query, literal=literal, today=TODAY)


@pytest.mark.parametrize(("query", "expected"), [
    ("after:2023-06", PhotoFilter(after="2023-06-01")),
    ("after:2023", PhotoFilter(after="2023-01-01")),
    ("after:2023-06-15", PhotoFilter(after="2023-06-15")),
    ("before:2024-01-15", PhotoFilter(before="2024-01-15")),
    ("before:2024-01", PhotoFilter(before="2024-01-01")),
    ("year:2021", PhotoFilter(after="2021-01-01", before="2022-01-01")),
    ("date:2024", PhotoFilter(after="2024-01-01", before="2025-01-01")),
    ("date:2024-07", PhotoFilter(after="2024-07-01", before="2024-08-01")),
    ("date:2024-12", PhotoFilter(after="2024-12-01", before="2025-01-01")),
    ("date:2024-07-03", PhotoFilter(after="2024-07-03", before="2024-07-04")),
    ("date:2023-06..2023-08", PhotoFilter(after="2023-06-01", before="2023-09-01")),
    ("place:Lisbon", PhotoFilter(places=("lisbon",))),
    ("in:Portugal", PhotoFilter(places=("portugal",))),
    ('place:"São Paulo"', PhotoFilter(places=("sao paulo",))),
    ("place:Zürich in:CH", PhotoFilter(places=("zurich", "ch"))),
    ('camera:"Pixel 7"', PhotoFilter(cameras=("pixel 7",))),
    ("camera:“Pixel 7”", PhotoFilter(cameras=("pixel 7",))),
    ("folder:Trips", PhotoFilter(folders=("trips",))),
    ("tag:Beach", PhotoFilter(tags=("Beach",))),
    ('album:"Italy 2023"', PhotoFilter(albums=("Italy 2023",))),
    ("kind:screenshot", PhotoFilter(kinds=("screenshot",))),
    ("orientation:portrait", PhotoFilter(orientation="portrait")),
    ("ORIENTATION:Landscape", PhotoFilter(orientation="landscape")),
    ("orientation:square", PhotoFilter(orientation="square")),
    ("-tag:people", PhotoFilter(exclude_tags=("people",))),
    ("-place:Paris", PhotoFilter(exclude_places=("paris",))),
    ("-in:France", PhotoFilter(exclude_places=("france",))),
    ("+tag:beach", PhotoFilter(tags=("beach",))),
    ("tag:beach tag:sea tag:beach", PhotoFilter(tags=("beach", "sea"))),
    ("year:2023 after:2023-06 before:2023-09", PhotoFilter(after="2023-06-01", before="2023-09-01")),
])
def test_each_filter_alone(query: str, expected: PhotoFilter) -> None:
    parsed = _parse(query)
    assert (parsed.text, parsed.filter, parsed.sort) == ("", expected, None)


@pytest.mark.parametrize(("query", "sort"), [("sort:date", "date"), ("sort:Relevance", "relevance"),
                                             ("sunset sort:date", "date"), ("sunset", None)])
def test_sort(query: str, sort: str | None) -> None:
    parsed = _parse(query)
    assert (parsed.sort, parsed.filter) == (sort, PhotoFilter())


def test_filters_beside_text() -> None:
    parsed = _parse('dog on a beach place:Lisbon camera:"Pixel 7" year:2023 sort:date')
    assert parsed.text == "dog on a beach"
    assert parsed.filter == PhotoFilter(after="2023-01-01", before="2024-01-01", places=("lisbon",),
                                        cameras=("pixel 7",))
    assert parsed.sort == "date"
    assert parsed.chips == (Chip("place", "Lisbon", "typed", "place:Lisbon"),
                            Chip("camera", "Pixel 7", "typed", 'camera:"Pixel 7"'),
                            Chip("year", "2023", "typed", "year:2023"),
                            Chip("sort", "date", "typed", "sort:date"))


@pytest.mark.parametrize(("query", "text", "terms"), [
    ("beach + sunset - people tag:trip", "beach + sunset - people",
     [("beach", 1), ("sunset", 1), ("people", -1)]),
    ("beach + tag:x - people", "beach - people", [("beach", 1), ("people", -1)]),
    ("tag:x + beach", "beach", [("beach", 1)]),
    ("beach + tag:x", "beach", [("beach", 1)]),
    ("tag:a + tag:b + beach", "beach", [("beach", 1)]),
    ("2:beach year:2020 + 0.5:sunset", "2:beach + 0.5:sunset", [("beach", 2), ("sunset", 0.5)]),
    ("2:beach + sunset in 2019 - people", "2:beach + sunset - people",
     [("beach", 2), ("sunset", 1), ("people", -1)]),
    ("beach + last summer + dress", "beach + dress", [("beach", 1), ("dress", 1)]),
    ("black-and-white t-shirt folder:Trips", "black-and-white t-shirt", [("black-and-white t-shirt", 1)]),
])
def test_combined_query_syntax_survives(query: str, text: str, terms: list[tuple[str, float]]) -> None:
    parsed = _parse(query)
    assert parsed.text == text
    assert [(t.text, t.weight) for t in parse_query(parsed.text)] == terms


def test_an_image_path_stays_a_term(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "IMG_1.jpg")
    parsed = _parse("./IMG_1.jpg + winter in:Norway")
    assert (parsed.text, parsed.filter.places) == ("./IMG_1.jpg + winter", ("norway",))
    assert parse_query(parsed.text, cwd=tmp_path)[0].image == (tmp_path / "IMG_1.jpg").resolve()


def test_negation_after_the_combined_minus() -> None:
    parsed = _parse("beach - tag:people + sun")
    assert parsed.text == "beach + sun"
    assert parsed.filter == PhotoFilter(exclude_tags=("people",))
    assert parsed.chips == (Chip("-tag", "people", "typed", "tag:people"),)
    assert _parse("beach -tag:people").chips == (Chip("-tag", "people", "typed", "-tag:people"),)


@pytest.mark.parametrize("query", ["2:beach", "http://example.com/x", "note: hello", "note:hello",
                                   "C:\\photos", "ratio 16:9", "beach:sunset", "5\" screen", "re: meeting"])
def test_unknown_prefixes_stay_text(query: str) -> None:
    parsed = _parse(query)
    assert (parsed.text, parsed.filter, parsed.chips) == (query, PhotoFilter(), ())


def test_quotes_keep_words_as_text() -> None:
    parsed = _parse('dress "last summer" "tag:beach"')
    assert (parsed.text, parsed.filter, parsed.chips) == ("dress last summer tag:beach", PhotoFilter(), ())


def test_date_phrases_become_chips() -> None:
    parsed = _parse("beach last summer in:Portugal")
    assert parsed.text == "beach"
    assert parsed.filter == PhotoFilter(after="2023-06-01", before="2023-09-01", places=("portugal",))
    assert parsed.chips == (Chip("date", "2023-06..2023-08", "phrase", "last summer"),
                            Chip("place", "Portugal", "typed", "in:Portugal"))


def test_literal_turns_phrases_off_but_not_typed_filters() -> None:
    parsed = _parse("beach last summer year:2023", literal=True)
    assert (parsed.text, parsed.filter) == ("beach last summer", PhotoFilter(after="2023-01-01",
                                                                             before="2024-01-01"))


def test_a_phrase_after_a_minus_is_words_to_avoid() -> None:
    parsed = _parse("beach - summer 2021")
    assert (parsed.text, parsed.filter) == ("beach - summer 2021", PhotoFilter())


def test_a_phrase_and_a_typed_date_intersect() -> None:
    expected = PhotoFilter(after="2023-06-01", before="2024-01-01")
    assert _parse("beach in 2023 after:2023-06").filter == expected


@pytest.mark.parametrize(("query", "message"), [
    ("after:2023-13", "after:2023-13 is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
    ("before:2023-02-30", "before:2023-02-30 is not a date"),
    ("date:July", "date:July is not a date"),
    ("year:abc", "year:abc: a year is four digits"),
    ("year:2021-05", "year:2021-05: a year is four digits"),
    ("orientation:sideways", "orientation:sideways: orientation is portrait, landscape or square"),
    ("sort:size", "sort:size: sort is relevance or date"),
    ("-year:2021", "-year:2021: only tag: and place: can be negated"),
    ("beach - camera:Pixel", "camera:Pixel: only tag: and place: can be negated"),
    ('camera:"Pixel 7', 'camera: has an unclosed quote, e.g. camera:"Pixel 7"'),
    ("tag: beach", "tag: needs a value, e.g. tag:beach"),
    ('tag:"  "', 'tag:"  " needs a value, e.g. tag:beach'),
    ("date:2024-07..2024-05", "date:2024-07..2024-05: the range ends before it starts"),
    ("year:2021 year:2022", "these dates leave no day: from 2022-01-01 and before 2022-01-01"),
    ("orientation:portrait orientation:square", "orientation:portrait and orientation:square cannot both"),
    ("sort:date sort:relevance", "sort:date and sort:relevance cannot both hold"),
])
def test_malformed_values_raise_one_clear_line(query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        _parse(query)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("query", "kind", "after"), [
    ("beach place:Lisbon year:2023", "place", "beach year:2023"),
    ("beach place:Lisbon year:2023", "year", "beach place:Lisbon"),
    ("beach + tag:x - people", "tag", "beach - people"),
    ("tag:x + beach", "tag", "beach"),
    ("beach - tag:people", "-tag", "beach"),
    ('sunset  camera:"Pixel 7"  dog', "camera", "sunset dog"),
    ("beach last summer", "date", 'beach "last summer"'),
    ("2:beach in 2019 - people", "date", '2:beach "in 2019" - people'),
])
def test_remove_chip(query: str, kind: str, after: str) -> None:
    (chip,) = [c for c in _parse(query).chips if c.kind == kind]
    removed = remove_chip(query, chip)
    assert removed == after
    again = _parse(removed)
    assert chip not in again.chips and len(again.chips) == len(_parse(query).chips) - 1


def test_removing_a_date_phrase_keeps_its_words_for_clip() -> None:
    query = "beach in July 2022 in:Portugal"
    (phrase,) = [c for c in _parse(query).chips if c.source == "phrase"]
    again = _parse(remove_chip(query, phrase))
    assert (again.text, again.filter) == ("beach in July 2022", PhotoFilter(places=("portugal",)))


def test_removing_a_chip_the_query_no_longer_holds() -> None:
    assert remove_chip("beach  tag:x", Chip("tag", "x", "typed", "tag:x")) == "beach"
    assert remove_chip("beach", Chip("tag", "x", "typed", "tag:x")) == "beach"


def test_options_read_like_the_query() -> None:
    typed = _parse('year:2023 place:Lisbon in:Porto camera:"Pixel 7" folder:Trips tag:beach '
                   'album:"Italy 2023" kind:screenshot orientation:portrait -tag:people -place:Paris').filter
    options = filter_from_options(year=2023, place=["Lisbon", "Porto"], camera="Pixel 7", folder="Trips",
                                  tag="beach", album="Italy 2023", kind="screenshot", orientation="Portrait",
                                  exclude_tag=["people"], exclude_place="Paris")
    assert options == typed
    assert filter_from_options(after="2023-06", before="2024-01-15", date="2023") == PhotoFilter(
        after="2023-06-01", before="2024-01-01")
    assert filter_from_options() == PhotoFilter()


@pytest.mark.parametrize(("options", "message"), [
    ({"after": "2023-13"}, "--after 2023-13 is not a date"),
    ({"year": "abc"}, "--year abc: a year is four digits"),
    ({"orientation": "sideways"}, "--orientation sideways: orientation is"),
    ({"tag": [" "]}, "--tag   needs a value"),
])
def test_bad_options_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(QueryError, match=f"^{message}"):
        filter_from_options(**options)


def test_parse_sort() -> None:
    assert (parse_sort(None), parse_sort("Date"), parse_sort("relevance")) == (None, "date", "relevance")
    with pytest.raises(QueryError, match="sort is relevance or date"):
        parse_sort("size")


def test_merge() -> None:
    a = PhotoFilter(after="2023-01-01", before="2024-01-01", places=("lisbon",), tags=("beach",),
                    ids=(3, 1, 2))
    b = PhotoFilter(after="2023-06-01", places=("porto", "lisbon"), tags=("sea",), orientation="portrait",
                    exclude_tags=("people",), ids=(2, 3, 9))
    assert merge(a, b) == PhotoFilter(after="2023-06-01", before="2024-01-01", places=("lisbon", "porto"),
                                      tags=("beach", "sea"), orientation="portrait",
                                      exclude_tags=("people",), ids=(3, 2))
    assert merge(a, PhotoFilter()) == a and merge(PhotoFilter(), b) == b
    with pytest.raises(QueryError, match="leave no day"):
        merge(a, PhotoFilter(after="2024-01-01"))
    with pytest.raises(QueryError, match="cannot both hold"):
        merge(b, PhotoFilter(orientation="square"))
