"""`kill -9` between a batch's catalog commit and its tags (two steps in ``indexer._flush``).

A child process indexes with the tiny model; its tagging hook (``on_indexed``, which the
library points at ``Organizer.tag_new_photos``) kills the process on its first call: the
first batch is committed, its tags are not written. `photoclip index` run again must not
leave those photos untagged for good: afterwards every indexed photo carries the auto tags
a full run of the enabled set gives it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.synthetic import CLASSES, draw_picture

COLOURS = """name = "colours"
templates = ["a {} circle", "a {} square", "a {} triangle"]
labels = ["red", "green", "blue", "yellow"]
"""

# Runs as `python -c` with the CLI's environment (PHOTOCLIP_HOME, PHOTOCLIP_MODEL).
CHILD = """
import os, signal
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import load_settings

paths = app_paths()
settings = load_settings(paths.settings)
settings.model = os.environ["PHOTOCLIP_MODEL"]
library = Library(paths, settings)

def killed(photo_ids):  # the batch is committed and in the index; its tags come next
    os.kill(os.getpid(), signal.SIGKILL)

library.organizer.tag_new_photos = killed
library.index_photos()
raise SystemExit("the tagging hook was never called")
"""


def _auto_tags(catalog: Path) -> dict[str, set[str]]:
    """Indexed live photos -> their auto tags, read with plain SQL."""
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT p.path, t.name FROM photos p LEFT JOIN tags t "
            "ON t.photo_id = p.id AND t.source = 'auto' "
            "WHERE p.state = 'indexed' AND p.deleted_at IS NULL").fetchall()
    found: dict[str, set[str]] = {}
    for path, name in rows:
        found.setdefault(os.fsdecode(bytes(path)), set()).update([name] if name else [])
    return found


@pytest.mark.xfail(strict=True, reason=(
    "product bug: nothing records that a committed batch still needs its tags, so "
    "`photoclip index` after a kill between indexer._flush's record_results and "
    "on_indexed never tags those photos (only a manual `photoclip tag` does)"))
def test_photos_committed_before_a_kill_get_their_tags(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = random.Random(11)
    for i in range(8):
        colour, shape = CLASSES[(i * 4) % len(CLASSES)]  # every colour, mixed shapes
        draw_picture(colour, shape, rng, (96, 72)).save(folder / f"p{i}.jpg", quality=90)
    paths = app_paths({"PHOTOCLIP_HOME": str(cli.home)})
    paths.label_sets.mkdir(parents=True)
    (paths.label_sets / "colours.toml").write_text(COLOURS)
    paths.settings.parent.mkdir(parents=True, exist_ok=True)
    paths.settings.write_text(
        'version = 1\nbatch_size = 4\ndecode_workers = 1\nlabel_sets = ["colours"]\n')
    cli.run("add", str(folder))

    child = subprocess.run([sys.executable, "-c", CHILD], env=cli.env, capture_output=True,
                           text=True, timeout=180)
    assert child.returncode == -signal.SIGKILL, child.stderr
    killed = _auto_tags(paths.catalog)
    assert 1 <= len(killed) < 8  # the first batch committed, the rest still pending
    assert all(tags == set() for tags in killed.values())  # killed before its tags

    cli.run("index")
    recovered = _auto_tags(paths.catalog)
    cli.run("tag", "--label-set", "colours")  # the reference: the whole library tagged afresh
    reference = _auto_tags(paths.catalog)
    assert len(reference) == 8 and all(reference[p] for p in killed)  # all have a colour tag
    assert recovered == reference
