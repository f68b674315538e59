"""`photoclip search` and the text read in photos: ``--text`` filters by it, a plain query
fuses it, ``--no-text`` leaves it out, and ``--json`` says what matched (tiny real model;
the text saved straight into the catalog, as the text pass would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photoclip.core.catalog.store import Catalog
from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.synthetic import camera_exif, save_camera_photo

pytestmark = pytest.mark.model
BOX = ((0.0, 0.0), (0.5, 0.0), (0.5, 0.1), (0.0, 0.1))


@pytest.fixture
def board(cli: Cli, tmp_path: Path) -> Cli:
    folder = tmp_path / "photos"
    save_camera_photo(folder / "board.jpg", "blue", "square", camera_exif("2023:07:14 18:30:00"))
    save_camera_photo(folder / "beach.jpg", "yellow", "circle", camera_exif("2023:08:01 10:00:00"), seed=1)
    config = cli.home / "config"  # no OCR pass: the text is saved below, as it would read it
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text('version = 1\nocr = "off"\n')
    cli.run("add", str(folder))
    cli.run("index")
    paths = app_paths({"PHOTOCLIP_HOME": str(cli.home)})
    catalog = Catalog(paths.catalog, backups_dir=paths.backups)
    try:
        photo = catalog.photo_by_path(folder / "board.jpg")
        assert photo is not None
        catalog.save_text(photo.id, [("WIFI PASSWORD: hunter2", BOX, 0.95)], "test-engine 1")
    finally:
        catalog.close()
    return cli


def test_text_filters_and_fuses_and_json_says_what_matched(board: Cli) -> None:
    (hit,) = json.loads(board.run("search", "--text", "hunter2", "--json").stdout)
    assert (Path(hit["path"]).name, hit["matched_text"]) == ("board.jpg", "WIFI PASSWORD: hunter2")
    assert json.loads(board.run("search", "--text", "hunter2", "--text", "nowhere", "--json").stdout) == []
    # A plain query fuses the text; --no-text leaves it out.
    fused = json.loads(board.run("search", "wifi password", "--json").stdout)
    assert (Path(fused[0]["path"]).name, fused[0]["matched_text"]) == ("board.jpg", "WIFI PASSWORD: hunter2")
    clip_only = json.loads(board.run("search", "wifi password", "--no-text", "--json").stdout)
    assert {h["matched_text"] for h in clip_only} == {None}
    lines = board.run("search", "wifi password").stdout.splitlines()  # text output: "score  path"
    assert [line.split("  ", 1)[1] for line in lines] == [h["path"] for h in fused]
    scores = [float(line.split("  ", 1)[0]) for line in lines]
    assert scores == pytest.approx([h["score"] for h in fused], abs=1e-3)


def test_json_hits_carry_the_photos_text_in_search_and_similar(board: Cli, tmp_path: Path) -> None:
    hits = json.loads(board.run("search", "photo", "--json").stdout)
    texts = {Path(h["path"]).name: h["text"] for h in hits}
    assert texts == {"board.jpg": "WIFI PASSWORD: hunter2", "beach.jpg": None}  # None: no text read
    similar = json.loads(board.run("similar", str(tmp_path / "photos" / "beach.jpg"), "--json").stdout)
    board_hit = next(h for h in similar if Path(h["path"]).name == "board.jpg")
    assert board_hit["text"] == "WIFI PASSWORD: hunter2" and board_hit["matched_text"] is None
    assert {"date", "place", "camera", "score"} <= set(board_hit)  # the same record as search's
