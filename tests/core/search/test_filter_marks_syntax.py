"""``favourite:`` and ``rating:`` in the query syntax and as CLI options: what each reads
as, their chips, negation, merging, and the one line a bad value gets."""

from __future__ import annotations

import pytest

from photoclip.core.models import PhotoFilter
from photoclip.core.search.filters import filter_from_options, merge, parse_filters, remove_chip
from photoclip.core.search.query import QueryError

RATING_HELP = ("a rating is 1 to 5 (that many stars or more) or =0 to =5 (exactly; =0 is unrated), "
               "e.g. rating:4")


@pytest.mark.parametrize(("query", "expected"), [
    ("favourite:yes", PhotoFilter(favourite=True)),
    ("Favourite:YES", PhotoFilter(favourite=True)),
    ("favourite:no", PhotoFilter(favourite=False)),
    ("fav:yes", PhotoFilter(favourite=True)),
    ("-favourite:yes", PhotoFilter(favourite=False)),
    ("-fav:no", PhotoFilter(favourite=True)),
    ("rating:1", PhotoFilter(min_rating=1)),
    ("rating:5", PhotoFilter(min_rating=5)),
    ("rating:=0", PhotoFilter(exact_rating=0)),
    ("rating:=5", PhotoFilter(exact_rating=5)),
    ("rating:2 rating:4", PhotoFilter(min_rating=4)),  # both hold: four or more
    ("rating:3 rating:=4", PhotoFilter(min_rating=3, exact_rating=4)),
    ("favourite:yes favourite:yes", PhotoFilter(favourite=True)),
    ("fav:yes rating:=0 tag:beach", PhotoFilter(tags=("beach",), favourite=True, exact_rating=0)),
])
def test_each_mark_filter(query: str, expected: PhotoFilter) -> None:
    parsed = parse_filters(query)
    assert parsed.filter == expected
    assert parsed.text == ""


def test_the_words_beside_them_are_left_for_clip_and_the_chips_say_what_was_typed() -> None:
    parsed = parse_filters("beach fav:yes + sunset rating:=3 - -favourite:no")
    assert parsed.text == "beach + sunset"
    assert [(c.kind, c.value, c.raw) for c in parsed.chips] == [
        ("favourite", "yes", "fav:yes"), ("rating", "=3", "rating:=3"), ("-favourite", "no", "-favourite:no")]
    assert parsed.filter == PhotoFilter(favourite=True, exact_rating=3)


def test_a_chip_removed_takes_its_words_out_of_the_query() -> None:
    query = "beach fav:yes rating:4"
    favourite, rating = parse_filters(query).chips
    assert remove_chip(query, favourite) == "beach rating:4"
    assert remove_chip(query, rating) == "beach fav:yes"


@pytest.mark.parametrize(("query", "message"), [
    ("rating:7", f"rating:7: {RATING_HELP}"),
    ("rating:0", f"rating:0: {RATING_HELP}"),
    ("rating:=6", f"rating:=6: {RATING_HELP}"),
    ("rating:three", f"rating:three: {RATING_HELP}"),
    ("rating:", "rating: needs a value, e.g. rating:4"),
    ("favourite:maybe", "favourite:maybe: favourite is yes or no, e.g. favourite:yes"),
    ("fav:", "fav: needs a value, e.g. fav:yes"),
    ("favourite:yes favourite:no", "favourite:yes and favourite:no cannot both hold"),
    ("fav:yes -fav:yes", "favourite:yes and favourite:no cannot both hold"),
    ("rating:=1 rating:=2", "rating:=1 and rating:=2 cannot both hold"),
    ("rating:=2 rating:3", "rating:=2 and rating:3 cannot both hold"),
    ("-rating:3", "-rating:3: only tag: and place: can be negated (-tag:people, -place:Paris); "
                  "-favourite:yes is favourite:no"),
])
def test_a_bad_value_is_one_clear_line(query: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_filters(query)
    assert str(raised.value) == message


def test_options_read_as_the_syntax_does() -> None:
    assert filter_from_options(favourite=True, rating="4") == PhotoFilter(favourite=True, min_rating=4)
    assert filter_from_options(favourite="no", rating="=0") == PhotoFilter(favourite=False, exact_rating=0)
    assert filter_from_options(rating=2) == PhotoFilter(min_rating=2)
    with pytest.raises(QueryError, match=r"^--rating 9: a rating is 1 to 5"):
        filter_from_options(rating="9")


def test_merge_keeps_marks_of_either_side() -> None:
    assert merge(PhotoFilter(favourite=True), PhotoFilter(min_rating=2)) == PhotoFilter(
        favourite=True, min_rating=2)
    assert merge(PhotoFilter(exact_rating=0), PhotoFilter(tags=("a",))) == PhotoFilter(
        tags=("a",), exact_rating=0)
    with pytest.raises(QueryError, match="favourite:no and favourite:yes cannot both hold"):
        merge(PhotoFilter(favourite=False), PhotoFilter(favourite=True))
