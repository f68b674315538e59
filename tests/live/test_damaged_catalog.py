"""A catalog damaged under live indexing: said once in one line, then no more retries.

Fake encoder (nothing gets encoded: the damage is met before), real SQLite file, real worker.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
import traceback
from pathlib import Path

import pytest

from photoclip.core.catalog.store import Catalog, CatalogDamaged
from photoclip.core.library import Library
from photoclip.core.live import worker as worker_module
from photoclip.core.live.worker import LibraryWorker
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.live.conftest import wait_until
from tests.synthetic import draw_picture


def _library(home: Path) -> Library:
    settings = Settings(batch_size=8, decode_workers=1, label_sets=[])
    return Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings, encoder=FakeEncoder())  # type: ignore[arg-type]


def _break_table(catalog: Path, table: str) -> None:
    """Flip bytes of a table's root b-tree page, the file's size kept: reads of it fail."""
    with sqlite3.connect(catalog) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file, none in the WAL
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    db.close()
    data = bytearray(catalog.read_bytes())
    for i in range((root - 1) * page_size, root * page_size, 3):
        data[i] ^= 0x5A
    catalog.write_bytes(bytes(data))


@pytest.fixture
def damaged_home(tmp_path: Path) -> Path:
    """A library of a few indexed photos whose photos table is then damaged (folders intact)."""
    photos, home = tmp_path / "photos", tmp_path / "home"
    photos.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        draw_picture(colour, "circle", random.Random(i), (48, 48)).save(photos / f"{colour}.png")
    library = _library(home)
    library.add_folder(photos)
    library.index_photos()
    library.close()
    _break_table(home / "catalog.sqlite3", "photos")
    return home


def test_live_indexing_stops_once_on_a_damaged_catalog(
        damaged_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(worker_module, "ERROR_BACKOFF_S", (0.05,))  # retries would come at once
    catalog = damaged_home / "catalog.sqlite3"
    damaged = catalog.read_bytes()
    library = _library(damaged_home)
    messages: list[str] = []
    states: list[str] = []
    worker = LibraryWorker(library, on_message=messages.append,
                           on_status=lambda s: states.append(s.state))
    try:
        with caplog.at_level(logging.DEBUG, "photoclip"):
            worker.start()
            wait_until(lambda: worker.status.state == "catalog damaged", 20, "the worker to stop")
            time.sleep(0.5)  # ten retries' worth, had it kept retrying
            refused = worker.submit(lambda: "never run")
            with pytest.raises(CatalogDamaged, match="damaged"):
                refused.result(5)
    finally:
        assert worker.stop(), "the worker did not stop in time"
        library.close()
    [said] = messages  # once, not once a retry
    assert said.startswith("live indexing stopped: the catalog at ") and "\n" not in said
    assert str(catalog) in said and "restore it from" in said
    assert "catalog damaged" in states
    assert [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING] == []
    assert catalog.read_bytes() == damaged  # never written


def test_a_damaged_catalog_refuses_each_write_with_a_fresh_error(damaged_home: Path) -> None:
    # The same exception raised again keeps its old traceback and adds the new frames to it:
    # a long-running writer's refusals would grow it without end.
    catalog = Catalog(damaged_home / "catalog.sqlite3")
    try:
        refusals = []
        for _ in range(3):
            with pytest.raises(CatalogDamaged) as caught:
                catalog.mark_pending(1, [(damaged_home / "x.png", 1, 1)])
            refusals.append(caught.value)
    finally:
        catalog.close()
    assert len({id(e) for e in refusals}) == 3
    depths = [len(traceback.extract_tb(e.__traceback__)) for e in refusals[1:]]
    assert depths[0] == depths[1]
    assert all(str(e) == str(refusals[0]) for e in refusals)


@pytest.mark.model
@pytest.mark.slow
def test_photoclip_watch_exits_with_the_one_line_when_the_catalog_is_damaged(
        damaged_home: Path, tiny_model_spec: str) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, PHOTOCLIP_HOME=str(damaged_home), PHOTOCLIP_MODEL=tiny_model_spec,
               HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "photoclip.cli", "watch"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    stopped = [line for line in done.stderr.splitlines() if "live indexing stopped" in line]
    assert len(stopped) == 1 and "damaged" in stopped[0], done.stderr
