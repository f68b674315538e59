"""End to end through the CLI with the real components: open_clip (tiny model), SQLite, hnswlib."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.cli import main
from tests.bad_inputs import make_bad_corpus
from tests.cli.conftest import Cli
from tests.synthetic import CLASSES, caption, draw_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _checksums(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    """The CLI's own main(), in this process: same code, no per-call interpreter start."""
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def indexed(cli: Cli, picture_library: tuple[Path, dict[Path, str]]) -> tuple[Path, dict[Path, str]]:
    folder, classes = picture_library
    cli.run("add", str(folder))
    report = cli.json("index")
    assert report["encoded"] == len(classes) and report["failed"] == 0
    return folder, classes


def test_search_finds_each_colour_shape(
    cli: Cli, indexed: tuple[Path, dict[Path, str]], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, classes = indexed
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    precisions = []
    for colour, shape in CLASSES:
        hits = _run_in_process(capsys, "search", caption(colour, shape), "--top", "5")
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
        assert all(Path(h["path"]).is_absolute() for h in hits)
        precisions.append(sum(classes[Path(h["path"])] == f"{colour} {shape}" for h in hits) / 5)
    assert sum(precisions) / len(precisions) >= 0.8, precisions


def test_similar_and_combined_queries(cli: Cli, indexed: tuple[Path, dict[Path, str]]) -> None:
    folder, classes = indexed
    example = next(p for p, c in classes.items() if c == "blue triangle")
    similar = cli.json("similar", str(example), "--top", "5")
    assert str(example) not in [h["path"] for h in similar]  # the photo itself is not news
    assert sum(classes[Path(h["path"])] == "blue triangle" for h in similar) >= 4

    both_blue = cli.json("search", "a blue square + a blue circle", "--top", "10")
    assert sum(classes[Path(h["path"])].startswith("blue") for h in both_blue) >= 8

    def red_squares(query: str) -> int:
        hits = cli.json("search", query, "--top", "12")
        return sum(classes[Path(h["path"])] == "red square" for h in hits)

    assert red_squares("a red circle") > 0  # shares the colour, so some show up...
    assert red_squares("a red circle - a red square") == 0  # ...until subtracted

    relative = "./" + str(example.relative_to(folder))
    with_image = cli.json("search", f"{relative} + 2:a blue triangle", "--top", "5", cwd=folder)
    assert sum(classes[Path(h["path"])] == "blue triangle" for h in with_image) >= 4

    strict = cli.json("search", "a yellow square", "--top", "50", "--min-score", "0.5")
    assert all(h["score"] >= 0.5 for h in strict)


def test_status_after_indexing(cli: Cli, indexed: tuple[Path, dict[Path, str]]) -> None:
    _, classes = indexed
    status = cli.json("status")
    assert (status["indexed"], status["pending"], status["failed"]) == (len(classes), 0, 0)
    assert status["index_size"] == len(classes)
    assert status["model"].startswith("local-dir:") and status["last_device"] == "cpu"
    text = cli.run("status").stdout
    assert f"{len(classes)} indexed" in text and "model: local-dir:" in text


def test_reindex_follows_changes_on_disk(cli: Cli, indexed: tuple[Path, dict[Path, str]]) -> None:
    folder, classes = indexed
    red_circles = [p for p, c in classes.items() if c == "red circle"]
    moved_from = red_circles[0]
    moved_to = folder / "moved" / ("renamed" + moved_from.suffix)
    moved_to.parent.mkdir()
    moved_from.rename(moved_to)
    deleted = red_circles[1]
    deleted.unlink()
    green = next(p for p, c in classes.items() if c == "green square")
    shutil.copy(green, folder / ("new-copy" + green.suffix))
    changed = next(p for p, c in classes.items() if c == "blue circle")
    yellow = next(p for p, c in classes.items() if c == "yellow circle")
    changed.write_bytes(yellow.read_bytes() + b"\0" * 16)  # new content (decoded by content)

    report = json.loads(cli.run("--reindex", "--json").stdout)
    assert (report["encoded"], report["moved"], report["reused"], report["forgotten"]) == (1, 1, 1, 1)
    assert report["index_rebuilt"]
    hits = [Path(h["path"]) for h in cli.json("search", "a red circle", "--top", "10")]
    assert moved_to in hits and moved_from not in hits and deleted not in hits
    assert cli.json("status")["indexed"] == len(classes)  # -1 deleted, +1 copy


def test_bad_inputs_are_recorded_and_originals_untouched(
    cli: Cli, picture_library: tuple[Path, dict[Path, str]],
) -> None:
    folder, classes = picture_library
    corpus = make_bad_corpus(folder / "bad")
    before = _checksums(folder)
    cli.run("add", str(folder))
    report = cli.json("index")
    rejected = {name for name, kind in corpus.items() if kind == "rejected"}
    status = cli.json("status")
    assert {Path(f["path"]).name for f in status["failures"]} == rejected
    assert all(f["reason"] for f in status["failures"])
    assert status["indexed"] == len(classes) + len(corpus) - len(rejected)
    assert report["failed"] == len(rejected)
    assert _checksums(folder) == before


def test_expected_failures_exit_1_without_traceback(cli: Cli, tmp_path: Path) -> None:
    missing = cli.run("add", str(tmp_path / "no-such-folder"), check=False)
    assert missing.returncode == 1 and "not a folder" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1

    folder = tmp_path / "one"
    folder.mkdir()
    draw_picture("red", "circle", random.Random(0)).save(folder / "a.png")
    cli.run("add", str(folder))
    offline = Cli(cli.home, "local-dir:" + str(tmp_path / "no-model"))
    failed = offline.run("index", check=False)
    assert failed.returncode == 1 and "local-dir:" in failed.stderr and "Traceback" not in failed.stderr
    assert cli.json("status")["pending"] == 1  # nothing lost: the photo waits for a model

    usage = cli.run("search", check=False)
    assert usage.returncode == 2
    bad_top = cli.run("search", "x", "--top", "0", check=False)
    assert bad_top.returncode == 2
    if sys.platform.startswith("linux"):  # the app on a machine with no display at all
        headless = {k: v for k, v in cli.env.items()
                    if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
        app = subprocess.run([sys.executable, "-m", "photoclip.cli"], env=headless,
                             capture_output=True, text=True, timeout=60)
        assert app.returncode == 1 and "no display" in app.stderr
        assert "Traceback" not in app.stderr
