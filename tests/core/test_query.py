from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.query import QueryError, parse_query


def test_plain_text_is_one_term() -> None:
    (term,) = parse_query("dog on a beach at sunset")
    assert (term.text, term.weight, term.image) == ("dog on a beach at sunset", 1.0, None)


def test_plus_minus_and_weights() -> None:
    terms = parse_query("beach + 2:sunset - people")
    assert [(t.text, t.weight) for t in terms] == [("beach", 1.0), ("sunset", 2.0), ("people", -1.0)]


def test_hyphenated_words_stay_whole() -> None:
    assert [t.text for t in parse_query("black-and-white t-shirt")] == ["black-and-white t-shirt"]


def test_image_path_term(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "IMG_1.jpg")
    terms = parse_query("./IMG_1.jpg + winter", cwd=tmp_path)
    assert terms[0].image == tmp_path / "IMG_1.jpg"
    assert terms[1].image is None and terms[1].text == "winter"


def test_missing_image_path_is_just_text(tmp_path: Path) -> None:
    (term,) = parse_query("nothing.jpg", cwd=tmp_path)
    assert term.image is None


@pytest.mark.parametrize("query", ["", "   ", "0:beach"])
def test_empty_queries_are_refused(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)


def test_only_negative_terms_are_refused() -> None:
    with pytest.raises(QueryError, match="at least one"):
        parse_query("0:x - people")
