"""Other processes beside a running `photoclip watch`: writers refused cleanly, readers
answered throughout, including while the watcher saves the index again and again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.faults.user_state import read_user_state
from tests.live.conftest import wait_until, write_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _catalog_digest(catalog: Path) -> str:
    return repr(read_user_state(catalog))


def test_writers_are_refused_and_readers_answered_while_watch_runs(cli: Cli, tmp_path: Path) -> None:
    photos = tmp_path / "Pictures"
    photos.mkdir()
    first = [write_picture(photos / f"first {i}.png", i) for i in range(4)]
    cli.run("add", str(photos))
    cli.run("index")
    paths = app_paths({"PHOTOCLIP_HOME": str(cli.home)})
    watch = subprocess.Popen([sys.executable, "-m", "photoclip.cli", "watch"], env=cli.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: paths.lock.exists() and "watch" in paths.lock.read_text(), 60, "the lock")
        before = _catalog_digest(paths.catalog)
        other = tmp_path / "Other"
        other.mkdir()
        writes = [("index",), ("--reindex",), ("tag", "--label-set", "kinds"),
                  ("tags", "--photo", str(first[0]), "--add", "mine"),
                  ("albums", "--save", "reds", "red"), ("add", str(other)), ("remove", str(photos)),
                  ("concept", "add", "things", *map(str, first[:3]))]
        for args in writes:
            run = cli.run(*args, check=False)
            lines = run.stderr.strip().splitlines()
            assert run.returncode == 1 and len(lines) == 1, (args, run.stderr)
            assert "in use by another PhotoClip process" in lines[0] and "(watch)" in lines[0]
        assert _catalog_digest(paths.catalog) == before  # nothing half-done
        # Readers while the watcher indexes new photos one by one (a save after each).
        answered = 0
        for i in range(4):
            write_picture(photos / f"new {i}.png", 10 + i)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                run = cli.run("search", "a photo", "--json", "--top", "50", check=False)
                assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
                assert "WARNING" not in run.stderr, run.stderr  # no save was seen half-done
                answered += 1
        wait_until(lambda: cli.json("status")["indexed"] == 8, 90, "all indexed")
        watch.send_signal(signal.SIGTERM)
        _, log = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 0, log
    assert answered >= 4  # at least one search per new photo (a loaded machine may take 1 s each)
    status = cli.json("status")
    assert status["index_size"] == 8
    hits = cli.json("search", "a photo", "--top", "50")
    assert len({h["path"] for h in hits}) == 8
