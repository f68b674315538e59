from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.search.index_store import IndexStore
from photoclip.core.search.query import QueryError, parse_query
from photoclip.core.search.searcher import Searcher


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


def test_weights_and_images_in_one_query(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "IMG_1.jpg")
    terms = parse_query("2.5:beach - 3:people - ./IMG_1.jpg + 2:IMG_1.jpg", cwd=tmp_path)
    image = (tmp_path / "IMG_1.jpg").resolve()
    assert [(t.text, t.weight, t.image) for t in terms] == [
        ("beach", 2.5, None), ("people", -3.0, None), ("./IMG_1.jpg", -1.0, image), ("IMG_1.jpg", 2.0, image)]


# -- the searcher's combination, on hand-made vectors -------------------------------------------
# A real catalog and HNSW index hold these photo vectors; the text "model" is a table, so
# every expected query vector and score below is worked out by hand from the same numbers.

MODEL = "hand:v1"
WORDS = {  # unit vectors; winter and sunset lean on the others, so a wrong weight or sign shows
    "beach": np.array([1.0, 0.0, 0.0, 0.0]),
    "people": np.array([0.0, 1.0, 0.0, 0.0]),
    "winter": np.array([0.0, 0.6, 0.8, 0.0]),
    "sunset": np.array([0.6, 0.0, 0.0, 0.8]),
}
PHOTOS = {  # before normalizing
    "own.jpg": [0.2, 0.1, 0.9, 0.3],  # the query image
    "twin.jpg": [0.3, 0.2, 0.9, 0.3],  # nearly the same picture
    "beach.jpg": [1.0, 0.0, 0.1, 0.0],  # a beach, nobody on it
    "crowd.jpg": [0.9, 0.8, 0.0, 0.1],  # a beach full of people
    "people.jpg": [0.1, 1.0, 0.0, 0.2],  # people, no beach
    "snow.jpg": [0.0, 0.5, 1.0, 0.1],
    "dusk.jpg": [0.5, 0.1, 0.1, 1.0],
}


def _unit(v: object) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


class TableEncoder:
    """Texts from WORDS; no picture is ever encoded (every image term is a library photo)."""

    model_id = MODEL
    dim = 4
    input_size = 32

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([WORDS[t] for t in texts]).astype(np.float32)

    def load(self) -> TableEncoder:
        raise AssertionError("the image term's stored vector should have been used")


@pytest.fixture
def searcher(tmp_path: Path) -> Iterator[tuple[Searcher, Path]]:
    folder = (tmp_path / "photos").resolve()
    folder.mkdir()
    for name in PHOTOS:
        Image.new("RGB", (4, 4)).save(folder / name)
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    added = catalog.add_folder(folder)
    catalog.mark_pending(added.id, [(folder / n, 1, 1) for n in PHOTOS])
    catalog.record_results([
        EncodedPhoto(p.id, f"h{p.id}", 4, 4, None, _unit(PHOTOS[p.path.name]).astype(np.float32), MODEL)
        for p in catalog.pending_photos()])
    index = IndexStore(catalog, tmp_path / "index.bin", MODEL)
    yield Searcher(catalog, TableEncoder(), index), folder  # type: ignore[arg-type]
    catalog.close()


def _expected(query: np.ndarray, top: int, leave_out: str = "") -> list[tuple[str, float]]:
    """Brute-force cosine ranking of PHOTOS, the reference for the searcher's answer."""
    scores = {n: float(_unit(v) @ query) for n, v in PHOTOS.items() if n != leave_out}
    return sorted(scores.items(), key=lambda kv: -kv[1])[:top]


def _answer(hits: list) -> list[tuple[str, float]]:
    return [(h.path.name, h.score) for h in hits]


def _same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [n for n, _ in got] == [n for n, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


@pytest.mark.parametrize(("query", "combined"), [
    ("beach", WORDS["beach"]),
    ("beach + sunset", WORDS["beach"] + WORDS["sunset"]),
    ("2:beach + sunset", 2 * WORDS["beach"] + WORDS["sunset"]),
    ("beach + 0.5:sunset", WORDS["beach"] + 0.5 * WORDS["sunset"]),
    ("beach - people", WORDS["beach"] - WORDS["people"]),
    ("beach - 2:people", WORDS["beach"] - 2 * WORDS["people"]),
    ("./own.jpg + 2:winter", _unit(PHOTOS["own.jpg"]) + 2 * WORDS["winter"]),
    ("own.jpg - winter + sunset", _unit(PHOTOS["own.jpg"]) - WORDS["winter"] + WORDS["sunset"]),
])
def test_the_query_vector_is_the_normalized_weighted_sum(searcher, query: str, combined: np.ndarray) -> None:
    search, folder = searcher
    got = search.query_vector(parse_query(query, cwd=folder))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _unit(combined), atol=1e-6)


def test_a_weight_of_two_counts_its_term_twice(searcher) -> None:
    search, _ = searcher
    beach, sunset = WORDS["beach"], WORDS["sunset"]
    plain = _answer(search.search("beach + sunset", top=7))
    more_beach = _answer(search.search("2:beach + sunset", top=7))
    more_sunset = _answer(search.search("beach + 2:sunset", top=7))
    _same_ranking(plain, _expected(_unit(beach + sunset), 7))
    _same_ranking(more_beach, _expected(_unit(2 * beach + sunset), 7))
    _same_ranking(more_sunset, _expected(_unit(beach + 2 * sunset), 7))
    # beach, dusk, crowd...: twice the beach puts the crowded beach above the dusk,
    # twice the sunset puts the dusk first.
    assert [n for n, _ in plain[:3]] == ["beach.jpg", "dusk.jpg", "crowd.jpg"]
    assert [n for n, _ in more_beach[:3]] == ["beach.jpg", "crowd.jpg", "dusk.jpg"]
    assert [n for n, _ in more_sunset[:2]] == ["dusk.jpg", "beach.jpg"]


def test_a_negative_term_lowers_exactly_the_photos_that_have_it(searcher) -> None:
    search, _ = searcher
    beach, people = WORDS["beach"], WORDS["people"]
    plain = dict(_answer(search.search("beach", top=7)))
    minus = dict(_answer(search.search("beach - people", top=7)))
    norm = float(np.linalg.norm(beach - people))  # sqrt(2)
    for name, vector in PHOTOS.items():
        v = _unit(vector)
        assert plain[name] == pytest.approx(float(v @ beach), abs=1e-5)
        # score(beach - people) = (v.beach - v.people) / |beach - people|
        assert minus[name] == pytest.approx((float(v @ beach) - float(v @ people)) / norm, abs=1e-5)
    # The crowded beach ranks second for "beach" and falls to fifth once people are
    # subtracted; the photo with no people in it only shrinks by the norm.
    assert list(plain)[:2] == ["beach.jpg", "crowd.jpg"]
    assert list(minus) == [
        "beach.jpg", "dusk.jpg", "own.jpg", "twin.jpg", "crowd.jpg", "snow.jpg", "people.jpg"]
    assert minus["beach.jpg"] == pytest.approx(plain["beach.jpg"] / norm, abs=1e-5)
    assert minus["people.jpg"] < 0 < plain["people.jpg"]


@pytest.mark.parametrize(("query", "combined"), [
    ("./own.jpg + winter", _unit(PHOTOS["own.jpg"]) + WORDS["winter"]),
    ("own.jpg", _unit(PHOTOS["own.jpg"])),
    ("2:./own.jpg - people", 2 * _unit(PHOTOS["own.jpg"]) - WORDS["people"]),
])
def test_an_image_term_leaves_its_own_photo_out(searcher, query: str, combined: np.ndarray) -> None:
    search, folder = searcher
    q = _unit(combined)
    assert "own.jpg" in [n for n, _ in _expected(q, 3)]  # it would be among the first three
    hits = _answer(search.search(query, top=6, cwd=folder))
    _same_ranking(hits, _expected(q, 6, leave_out="own.jpg"))  # the other six, all of them
    assert "own.jpg" not in [n for n, _ in _answer(search.search(query, top=20, cwd=folder))]
