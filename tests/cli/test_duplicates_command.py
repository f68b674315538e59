"""`photoclip duplicates` and `photoclip stacks` (tiny real model): the groups listed,
and the clean-up that needs --keep-best, a yes (a terminal's or --yes), and moves the
extras to a desktop trash (send2trash's own, under this test's XDG_DATA_HOME)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.synthetic import camera_exif, draw_picture

pytestmark = pytest.mark.model


@pytest.fixture
def dupes(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # send2trash's home trash: here
    photos = tmp_path / "photos"
    (photos / "camera").mkdir(parents=True)
    (photos / "backup").mkdir()
    exif = camera_exif("2023:07:14 18:30:00", make="Canon", model="EOS R6").tobytes()
    picture = draw_picture("red", "circle", random.Random(1), (640, 480))
    paths = {"original": photos / "camera" / "IMG_1.jpg", "copy": photos / "backup" / "IMG_1.jpg",
             "small": photos / "camera" / "IMG_1 small.jpg", "other": photos / "camera" / "IMG_2.jpg"}
    picture.save(paths["original"], quality=92, exif=exif)
    shutil.copyfile(paths["original"], paths["copy"])
    picture.resize((320, 240)).save(paths["small"], quality=80, exif=exif)
    draw_picture("blue", "square", random.Random(2), (640, 480)).save(paths["other"], quality=92)
    cli.run("add", str(photos))
    cli.run("index")
    return paths


def test_duplicates_lists_each_group_with_the_photo_to_keep(cli: Cli, dupes: dict[str, Path]) -> None:
    (near,) = cli.json("duplicates")
    assert {Path(p["path"]) for p in near["photos"]} == {dupes["original"], dupes["copy"], dupes["small"]}
    assert Path(near["keep"]) in (dupes["original"], dupes["copy"]) and near["reason"]
    assert near["extra_bytes"] == sum(p["size"] for p in near["photos"] if not p["keep"])
    (copies,) = cli.json("duplicates", "--tier", "copies")
    assert {Path(p["path"]) for p in copies["photos"]} == {dupes["original"], dupes["copy"]}
    printed = cli.run("duplicates")
    assert printed.stdout.startswith("group 1: 3 photos, ") and "1 groups, " in printed.stderr
    assert "to free" in printed.stdout and " KB" in printed.stdout  # sizes people read


def test_trashing_needs_keep_best_and_a_yes(cli: Cli, dupes: dict[str, Path]) -> None:
    refused = cli.run("duplicates", "--trash-extras", check=False)
    assert refused.returncode == 2 and "--keep-best" in refused.stderr
    no_terminal = cli.run("duplicates", "--keep-best", "--trash-extras", check=False)
    assert no_terminal.returncode == 2 and "--yes" in no_terminal.stderr
    assert all(path.exists() for path in dupes.values())


def test_a_no_on_the_terminal_moves_nothing(cli: Cli, dupes: dict[str, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    said = cli.run("duplicates", "--keep-best", "--trash-extras", check=False)
    assert said.returncode == 1 and "nothing moved" in said.stderr
    assert said.stdout.count("to the trash: ") == 2
    assert all(path.exists() for path in dupes.values())


def test_yes_moves_the_extras_to_the_trash_and_keeps_the_best(cli: Cli, dupes: dict[str, Path],
                                                              tmp_path: Path) -> None:
    (near,) = cli.json("duplicates")
    kept = Path(near["keep"])
    done = cli.run("duplicates", "--keep-best", "--trash-extras", "--yes")
    assert done.stdout.splitlines()[-1].startswith("moved 2 files to the trash, ")
    assert kept.exists() and dupes["other"].exists()
    moved = {dupes["original"], dupes["copy"], dupes["small"]} - {kept}
    assert not any(path.exists() for path in moved)
    in_trash = sorted(p.name for p in (tmp_path / "xdg" / "Trash" / "files").iterdir())
    assert in_trash == sorted(p.name for p in moved)  # the desktop's trash: nothing deleted
    assert json.loads(cli.run("duplicates", "--json").stdout) == []
    assert {Path(h["path"]) for h in cli.json("search", "a photo")} == {kept, dupes["other"]}


def test_stacks_lists_what_search_folds(cli: Cli, dupes: dict[str, Path],
                                        stacks_on: None) -> None:
    printed = cli.run("stacks")
    assert printed.stdout.split()[0] == "3" and "1 stacks of similar photos" in printed.stderr
    hits = cli.json("search", "a photo")
    assert [h["stack_size"] for h in hits].count(3) == 1 and len(hits) == 2
