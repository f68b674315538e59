"""`photoclip watch`: the live library in the foreground, stopped by a signal."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.live.conftest import wait_until, write_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _start_watch(cli: Cli) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "photoclip.cli", "watch"], env=cli.env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _watching(cli: Cli, tmp_path: Path) -> tuple[Path, subprocess.Popen[str]]:
    """A library with one (empty) folder, and `photoclip watch` started on it."""
    photos = tmp_path / "Pictures"
    photos.mkdir()
    cli.run("add", str(photos))
    return photos, _start_watch(cli)


def _stop(process: subprocess.Popen[str], sig: int) -> tuple[int, float, str]:
    process.send_signal(sig)
    started = time.monotonic()
    _, err = process.communicate(timeout=30)
    return process.returncode, time.monotonic() - started, err


def test_watch_indexes_new_pictures_and_stops_cleanly(cli: Cli, tmp_path: Path) -> None:
    photos, process = _watching(cli, tmp_path)
    try:
        added = [write_picture(photos / f"new {i}.png", i) for i in range(4)]
        wait_until(lambda: cli.json("status")["indexed"] == 4, 90, "4 indexed")
        code, seconds, log = _stop(process, signal.SIGTERM)
    finally:
        process.kill()
    assert code == 0 and seconds < 10, log
    for path in added:
        assert f"indexed {path}" in log
    assert "stopped in" in log
    with sqlite3.connect(app_paths({"PHOTOCLIP_HOME": str(cli.home)}).catalog) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    status = cli.json("status")
    assert (status["indexed"], status["pending"], status["failed"]) == (4, 0, 0)
    assert status["index_size"] == 4  # the index was saved, in step with the catalog
    hits = cli.json("search", "a photo", "--top", "10")
    assert {Path(h["path"]) for h in hits} == set(added)


def test_ctrl_c_stops_watch_and_a_second_watch_is_refused(cli: Cli, tmp_path: Path) -> None:
    _, process = _watching(cli, tmp_path)
    try:
        lock = app_paths({"PHOTOCLIP_HOME": str(cli.home)}).lock
        wait_until(lambda: lock.exists() and "watch" in lock.read_text(), 30, "the lock")
        second = cli.run("watch", check=False, timeout=60)
        assert second.returncode == 1
        assert "in use by another PhotoClip process" in second.stderr and "(watch)" in second.stderr
        code, seconds, log = _stop(process, signal.SIGINT)
    finally:
        process.kill()
    assert code == 0 and seconds < 10, log
