"""kill -9 the indexer at a random point; the next run finishes without redoing committed work."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photoclip.core.paths import app_paths
from photoclip.core.search.vector_index import VectorIndex
from tests.cli.conftest import Cli
from tests.synthetic import CLASSES, draw_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _indexed_count(catalog: Path) -> int:
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM photos WHERE state = 'indexed'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _make_pictures(folder: Path, count: int) -> None:
    rng = random.Random(3)
    folder.mkdir()
    for i in range(count):
        colour, shape = CLASSES[i % len(CLASSES)]
        draw_picture(colour, shape, rng, size=(160, 120)).save(folder / f"p{i:04d}.jpg", quality=90)


def _start_indexing(cli: Cli, tmp_path: Path, total: int) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `photoclip index` on a fresh library and return once it has committed a batch."""
    folder = tmp_path / "photos"
    _make_pictures(folder, total)
    cli.set_batch_size(8)
    cli.run("add", str(folder))
    catalog = app_paths({"PHOTOCLIP_HOME": str(cli.home)}).catalog
    process = subprocess.Popen([sys.executable, "-m", "photoclip.cli", "index"], env=cli.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _indexed_count(catalog) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, catalog


def test_ctrl_c_stops_cleanly_and_keeps_the_index(cli: Cli, tmp_path: Path) -> None:
    process, _ = _start_indexing(cli, tmp_path, 400)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert b"stopped" in stderr and b"Traceback" not in stderr
    status = cli.json("status")
    assert 0 < status["indexed"] < 400 and status["pending"] == 400 - status["indexed"]
    assert status["index_size"] == status["indexed"]  # saved, fresh: no rebuild needed


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_during_indexing_then_resume(cli: Cli, tmp_path: Path, seed: int) -> None:
    total = 400
    process, catalog = _start_indexing(cli, tmp_path, total)
    paths = app_paths({"PHOTOCLIP_HOME": str(cli.home)})
    time.sleep(random.Random(seed).uniform(0.0, 0.6))  # a random point inside the run
    process.send_signal(signal.SIGKILL)
    process.wait()
    committed = _indexed_count(catalog)
    assert 0 < committed < total, "the kill should land mid-run; make the library bigger"

    report = cli.json("index")
    assert report["encoded"] == total - committed  # nothing committed is encoded again
    with sqlite3.connect(catalog) as db:
        rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM photos").fetchone()
        ids = {r[0] for r in db.execute("SELECT id FROM photos WHERE state = 'indexed'")}
    assert rows == (total, total)  # every photo exactly once
    manifest = VectorIndex.read_manifest(paths.index)
    assert manifest is not None
    loaded = VectorIndex.load(paths.index, int(manifest["dim"]))
    assert loaded is not None
    index, _ = loaded
    assert set(index.ids().tolist()) == ids  # index and catalog agree
    assert cli.json("status")["index_size"] == total
