"""Finding photos by the text read in them, through ``Library.find``: the ``text:`` filter
(alone, beside other filters), and plain queries whose words are fused with CLIP's ranking
(fake encoder: colour words rank, the text is saved straight into the catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.models import PhotoFilter
from photoclip.core.paths import app_paths
from photoclip.core.remote_search import answer_search, read_search_request, search_record
from photoclip.core.search import finder
from photoclip.core.search.filters import filter_from_options, parse_filters
from photoclip.core.search.finder import fuse_ranks
from photoclip.core.search.query import QueryError
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import camera_exif, save_camera_photo

pytest.importorskip("reverse_geocode", reason="place names need the places extra")

LISBON = (38.7223, -9.1393)
PORTO = (41.1496, -8.6110)
BOX = ((0.0, 0.0), (0.5, 0.0), (0.5, 0.1), (0.0, 0.1))
# name: (colour, date, gps, the text read in it)
SHOTS = {
    "red_1": ("red", "2023:01:01 10:00:00", None, None),
    "red_2": ("red", "2023:01:02 10:00:00", None, None),
    "red_3": ("red", "2023:01:03 10:00:00", None, None),
    "red_4": ("red", "2023:01:04 10:00:00", None, None),
    "red_5": ("red", "2023:01:05 10:00:00", None, None),
    "red_6": ("red", "2023:01:06 10:00:00", None, None),
    # Blue: last for CLIP on "red ..." queries; only its text says "red".
    "whiteboard": ("blue", "2023:07:14 18:30:00", LISBON, ["Office red room", "WIFI PASSWORD: hunter2"]),
    "router": ("green", "2022:03:02 12:00:00", PORTO, ["Default password on the label"]),
    "receipt": ("yellow", "2024:05:01 09:00:00", PORTO, ["INVOICE INV-47110", "Total 12,50 €"]),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("text_fusion")
    for seed, (name, (colour, taken, gps, _)) in enumerate(SHOTS.items()):
        save_camera_photo(root / "photos" / f"{name}.jpg", colour, "circle",
                          camera_exif(taken, gps=gps), seed=seed)
    paths = app_paths({"PHOTOCLIP_HOME": str(root / "home")})
    lib = Library(paths, Settings(batch_size=4, decode_workers=2, ocr="off"), encoder=FakeEncoder())
    lib.add_folder(root / "photos")
    lib.index_photos()
    ids = {p.path.stem: p.id for p in lib.newest(100)}
    lib.catalog.save_text_many(
        [(ids[name], [(line, BOX, 0.9) for line in lines], "test-engine 1")
         for name, (_, _, _, lines) in SHOTS.items() if lines])
    yield lib
    lib.close()


def names(hits: list) -> list[str]:
    return [hit.path.stem for hit in hits]


def test_words_only_in_a_photos_text_find_it_and_say_what_matched(library: Library) -> None:
    clip_only = library.find("red wifi password", use_text=False)
    assert "whiteboard" not in names(clip_only.hits)[:6]  # CLIP alone ranks it under every red one
    fused = library.find("red wifi password")
    # CLIP's last (rank 9, all photos are in its top 100) and the text's first: first of all.
    assert names(fused.hits) == ["whiteboard", *(n for n in names(clip_only.hits) if n != "whiteboard")]
    board = next(h for h in fused.hits if h.path.stem == "whiteboard")
    assert board.matched_text is not None and "WIFI PASSWORD: hunter2" in board.matched_text
    assert {h.matched_text for h in fused.hits if h.path.stem != "whiteboard"} == {None}
    # The score shown stays the CLIP cosine, the text-only hit's computed for it.
    clip_scores = {h.path.stem: h.score for h in clip_only.hits}
    assert {h.path.stem: h.score for h in fused.hits} == pytest.approx(clip_scores)


def test_a_hit_found_only_by_its_text_shows_its_own_cosine(library: Library,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(finder, "FUSION_DEPTH", 0)  # each ranking as deep as the page: 3
    clip_only = library.find("red wifi password", use_text=False)
    fused = library.find("red wifi password", top=3)
    first, second = names(clip_only.hits)[:2]
    # The board is not in CLIP's top 3; text rank 1 ties CLIP rank 1, which stays first.
    assert names(fused.hits) == [first, "whiteboard", second]
    cosine = next(h.score for h in clip_only.hits if h.path.stem == "whiteboard")
    assert fused.hits[1].score == pytest.approx(cosine)
    assert fused.hits[1].matched_text == "Office red room · WIFI PASSWORD: hunter2"


def test_fusion_off_leaves_clips_ranking_as_it_is(library: Library) -> None:
    off = library.find("red wifi password", use_text=False)
    alone = library.searcher.search("red wifi password")  # CLIP, no text index
    assert [(h.path, h.score, h.matched_text) for h in off.hits] == [
        (h.path, h.score, None) for h in alone]
    # A query no text matches: the same answer with fusion on.
    assert names(library.find("red circle").hits) == names(library.find("red circle", use_text=False).hits)


def test_a_text_filter_alone_lists_its_photos_newest_first(library: Library) -> None:
    result = library.find("text:password")
    assert names(result.hits) == ["whiteboard", "router"]
    assert result.total == 2
    assert [(c.kind, c.value) for c in result.parsed.chips] == [("text", "password")]
    assert [h.matched_text for h in result.hits] == [
        "WIFI PASSWORD: hunter2", "Default password on the label"]
    assert names(library.find('text:"wifi password"').hits) == ["whiteboard"]
    assert names(library.find("text:password text:hunter2").hits) == ["whiteboard"]  # both must match
    assert names(library.find("text:4711").hits) == ["receipt"]  # inside a code
    assert library.find("text:nowhere").hits == []


def test_a_text_filter_combines_with_places_dates_and_text(library: Library) -> None:
    assert names(library.find("text:password place:Lisbon").hits) == ["whiteboard"]
    assert names(library.find("text:password in:Portugal year:2022").hits) == ["router"]
    by_option = library.find("place:Porto", filters=filter_from_options(text=["invoice"]))
    assert names(by_option.hits) == ["receipt"]
    assert names(library.find("", filters=PhotoFilter(text=("total", "inv*"))).hits) == ["receipt"]
    # A text match the filter leaves out stays out of the fused ranking.
    assert sorted(names(library.find("red wifi password place:Porto").hits)) == ["receipt", "router"]
    hits = library.find("blue text:password").hits  # CLIP ranks only the photos the filter keeps
    assert names(hits) == ["whiteboard", "router"]
    assert hits[0].matched_text == "WIFI PASSWORD: hunter2"


def test_rank_fusion_on_rankings_whose_answer_is_known() -> None:
    # 4 is in both lists: first. 2 and 5 tie at rank 2 of one list each: CLIP's (the first) first.
    assert fuse_ranks([[1, 2, 3, 4], [4, 5]]) == [4, 1, 2, 5, 3]
    assert fuse_ranks([[1, 2], []]) == [1, 2]
    assert fuse_ranks([[], [7, 8]]) == [7, 8]


def test_query_syntax_in_the_words_is_only_text(library: Library) -> None:
    assert "whiteboard" in names(library.find('red hunter2"').hits)[:5]  # a stray quote
    for query in ("red NEAR(", 'red "', "red AND OR NOT *", "red ^ : - -"):
        assert len(library.find(query).hits) == len(SHOTS)
    assert names(library.find('text:"NEAR(password"').hits) == []
    assert names(library.find("text:NEAR(").hits) == []


@pytest.mark.parametrize("query, said", [
    ('text:"wifi', 'text: has an unclosed quote, e.g. text:"wifi password"'),
    ('text:"--"', 'text:"--" needs words or numbers to find, e.g. text:"wifi password"'),
    ("text:", 'text: needs a value, e.g. text:"wifi password"'),
])
def test_a_text_filter_that_cannot_be_read_is_one_line(library: Library, query: str, said: str) -> None:
    with pytest.raises(QueryError) as raised:
        library.find(query)
    assert str(raised.value) == said


def test_the_text_filter_of_cli_options_and_the_syntax_agree() -> None:
    typed = parse_filters('beach text:"wifi password" text:hunter2').filter
    assert typed == filter_from_options(text=["wifi password", "hunter2"]) == PhotoFilter(
        text=("wifi password", "hunter2"))


def test_json_records_and_remote_requests_carry_the_text(library: Library) -> None:
    hit = library.find("text:hunter2").hits[0]
    assert search_record(hit, None)["matched_text"] == "WIFI PASSWORD: hunter2"
    assert search_record(library.find("red circle").hits[0], None)["matched_text"] is None
    assert read_search_request({"use_text": False, "filters": {"text": ["x"]}}).use_text is False
    assert read_search_request({}).use_text is True
    asked = {"query": "red wifi password", "top": 3}
    assert "WIFI PASSWORD: hunter2" in str(answer_search(library, asked)["hits"])
    assert "WIFI PASSWORD: hunter2" not in str(answer_search(library, {**asked, "use_text": False})["hits"])


def test_a_library_without_text_answers_as_clip_alone(tmp_path: Path) -> None:
    save_camera_photo(tmp_path / "photos" / "a.jpg", "red", "circle", camera_exif("2023:01:01 10:00:00"))
    save_camera_photo(tmp_path / "photos" / "b.jpg", "blue", "circle", camera_exif("2023:01:02 10:00:00"))
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    with Library(paths, Settings(ocr="off"), encoder=FakeEncoder()) as lib:
        lib.add_folder(tmp_path / "photos")
        lib.index_photos()
        assert [(h.path, h.score) for h in lib.find("red").hits] == [
            (h.path, h.score) for h in lib.find("red", use_text=False).hits]
        assert names(lib.find("red").hits) == ["a", "b"]
