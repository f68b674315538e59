"""A search asked over the local channel: the reply carries what `photoclip search --json`
prints, errors are one line of a known kind, and a malformed request is refused field by
field (it comes from a socket). Real indexing, fake encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from photoclip.core import local_channel
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.remote_search import MAX_QUERY_CHARS, MAX_TOP, answer_search
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import camera_exif, save_camera_photo

pytest.importorskip("reverse_geocode", reason="place names need the places extra")

RECORD_KEYS = ["path", "score", "width", "height", "taken_at", "date", "date_source", "place",
               "camera", "matched_text", "text", "stack_id", "stack_size", "favourite", "rating", "gps"]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """Read only by these tests: built once."""
    tmp_path = tmp_path_factory.mktemp("remote")
    photos = tmp_path / "photos"
    save_camera_photo(photos / "lisbon.jpg", "red", "circle", camera_exif(
        "2023:07:14 18:30:00", offset="+01:00", make="Google", model="Pixel 7", gps=(38.7223, -9.1393)))
    save_camera_photo(photos / "porto.jpg", "blue", "square", camera_exif(
        "2022:03:02 12:00:00", make="Canon", model="Canon EOS R6", gps=(41.1496, -8.6110)), seed=1)
    save_camera_photo(photos / "home.jpg", "red", "triangle", camera_exif(), seed=2)
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                  Settings(batch_size=4, decode_workers=2), encoder=FakeEncoder())
    lib.add_folder(photos)
    lib.index_photos()
    yield lib
    lib.close()


def ask(library: Library, **fields: Any) -> dict[str, Any]:
    reply = answer_search(library, {"v": 1, "cmd": "search", **fields})
    assert json.loads(json.dumps(reply)) == reply  # all of it travels as JSON
    return reply


def test_the_reply_carries_the_records_chips_and_counts(library: Library) -> None:
    reply = ask(library, query="red place:Lisbon", top=5, filters={}, sort=None, literal=False,
                min_score=None, cwd="/")
    (hit,) = reply.pop("hits")
    assert reply == {"ok": True, "chips": [{"kind": "place", "value": "Lisbon", "source": "typed",
                                            "raw": "place:Lisbon"}],
                     "hidden": 0, "total": None, "filtered": True}
    assert list(hit) == RECORD_KEYS
    assert Path(hit["path"]).name == "lisbon.jpg" and 0 < hit["score"] <= 1
    assert (hit["width"], hit["height"]) == (160, 120)
    assert (hit["date"], hit["date_source"]) == ("2023-07-14T18:30:00", "exif")
    assert hit["camera"] == "Google Pixel 7"
    assert hit["place"] == {"city": "Lisbon", "region": "Lisbon", "country": "Portugal", "country_code": "PT"}
    assert hit["gps"] == pytest.approx([38.7223, -9.1393], abs=1e-3)


def test_the_records_are_those_of_the_library_s_own_search(library: Library) -> None:
    reply = ask(library, query="red", top=2)
    found = library.find("red", top=2)
    assert [(Path(h["path"]), h["score"]) for h in reply["hits"]] == [
        (hit.path, round(hit.score, 6)) for hit in found.hits]
    assert reply["filtered"] is False and reply["chips"] == []
    names = {Path(h["path"]).name for h in reply["hits"]}
    assert names == {"lisbon.jpg", "home.jpg"}
    home = next(h for h in reply["hits"] if h["path"].endswith("home.jpg"))
    assert (home["camera"], home["place"], home["gps"], home["date_source"]) == (None, None, None, "file")


def test_options_filter_and_a_filter_only_query_counts_all(library: Library) -> None:
    reply = ask(library, filters={"camera": ["canon"], "year": "2022"}, top=1)
    assert [Path(h["path"]).name for h in reply["hits"]] == ["porto.jpg"]
    assert (reply["total"], reply["filtered"]) == (1, True)
    both = ask(library, filters={"after": "2022", "before": "2024"}, top=1)
    assert ([Path(h["path"]).name for h in both["hits"]], both["total"]) == (["lisbon.jpg"], 2)


def test_a_bad_query_is_a_query_error_of_one_line(library: Library) -> None:
    reply = ask(library, query="after:2023-13")
    assert reply["ok"] is False and reply["kind"] == "query"
    assert "2023-13" in reply["error"] and "\n" not in reply["error"]


def test_a_library_without_vectors_is_a_library_error(tmp_path: Path) -> None:
    empty = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "empty")}), Settings(),
                    encoder=FakeEncoder())
    with empty:
        reply = ask(empty, query="red")
    assert (reply["ok"], reply["kind"]) == (False, "library")
    assert reply["error"].startswith("no photos are indexed with fake:colour-v1 yet")


def test_another_model_than_the_running_one_is_refused(library: Library) -> None:
    reply = ask(library, query="red", model="ViT-L-14:openai")
    assert (reply["ok"], reply["kind"]) == (False, "model")
    assert ask(library, query="red", model=library.settings.model)["ok"] is True


def test_an_answer_over_the_size_limit_is_refused_not_cut(library: Library,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_channel, "MAX_MESSAGE_BYTES", 600)
    assert ask(library, query="red", top=1)["ok"] is True
    reply = ask(library, query="red", top=3)
    assert (reply["ok"], reply["kind"]) == (False, "too_large")


@pytest.mark.parametrize(("fields", "complaint"), [
    ({"query": 5}, "query must be str, not int"),
    ({"query": "x" * (MAX_QUERY_CHARS + 1)}, f"a query over {MAX_QUERY_CHARS} characters"),
    ({"top": True}, "top must be int, not bool"),
    ({"top": "5"}, "top must be int, not str"),
    ({"top": 0}, f"top must be 1 to {MAX_TOP}"),
    ({"top": MAX_TOP + 1}, f"top must be 1 to {MAX_TOP}"),
    ({"top": 2.0}, "top must be int, not float"),
    ({"min_score": "0.2"}, "min_score must be int or float, not str"),
    ({"min_score": float("nan")}, "min_score must be a finite number"),
    ({"sort": "random"}, "sort must be one of relevance, date"),
    ({"literal": "yes"}, "literal must be bool, not str"),
    ({"cwd": "photos"}, "cwd must be an absolute path"),
    ({"cwd": ["/"]}, "cwd must be str, not list"),
    ({"model": 3}, "model must be str, not int"),
    ({"filters": []}, "filters must be an object"),
    ({"filters": {"place": "Lisbon"}}, "filter place must be a list of at most 64 strings"),
    ({"filters": {"place": [1]}}, "filter place must be a list of at most 64 strings"),
    ({"filters": {"tag": ["x"] * 65}}, "filter tag must be a list of at most 64 strings"),
    ({"filters": {"year": 2023}}, "year must be str, not int"),
    ({"filters": {"ids": [1, 2]}}, "unknown filter 'ids'"),
    ({"evil": True}, "unknown field 'evil'"),
])
def test_a_malformed_request_is_refused_by_field(library: Library, fields: dict[str, Any],
                                                 complaint: str) -> None:
    reply = answer_search(library, {"v": 1, "cmd": "search", "query": "red", **fields})
    assert reply == {"ok": False, "kind": "request",
                     "error": f"a malformed search request: {complaint}"}
