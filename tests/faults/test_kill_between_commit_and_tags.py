"""`kill -9` or a failure between a batch's catalog commit and its tags (two steps in
``indexer._flush``).

A child process indexes with the tiny model; its tagging hook (``on_indexed``, which the
library points at ``Organizer.tag_new_photos``) kills the process on its first call: the
first batch is committed, its tags are not written. `photoclip index` run again must not
leave those photos untagged for good: afterwards every indexed photo carries the auto tags
a full run of the enabled set gives it. The batch's commit records its photos as owed
their tags (``tags_owed``); the next index tags them first. The same for a tagging that
fails once (fake encoder: fast), inside the tagger (logged, the index goes on) or out of it
(the index stops).
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

from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.cli.conftest import Cli
from tests.fakes import FakeEncoder
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


def _fake_library(tmp_path: Path) -> tuple[Library, dict[str, str]]:
    """A library of 12 one-colour pictures, the colours set enabled, nothing indexed yet;
    and each picture's colour by path (what the fake encoder tags it with)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    truth = {}
    for i in range(12):
        colour = ("red", "green", "blue", "yellow")[i % 4]
        path = folder / f"{colour}-{i}.jpg"
        draw_picture(colour, "circle", random.Random(i), (64, 64)).save(path, quality=90)
        truth[str(path.resolve())] = colour
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    paths.label_sets.mkdir(parents=True)
    (paths.label_sets / "colours.toml").write_text(COLOURS)
    settings = Settings(batch_size=4, decode_workers=1, label_sets=["colours"])
    library = Library(paths, settings, encoder=FakeEncoder())  # type: ignore[arg-type]
    library.add_folder(folder)
    return library, truth


class _FailsOnce:
    """Raises on its first call, then does what it wraps."""

    def __init__(self, wrapped: object) -> None:
        self._wrapped = wrapped
        self.calls = 0

    def __call__(self, *args: object) -> object:
        self.calls += 1
        if self.calls == 1:
            raise OSError(28, "No space left on device")
        return self._wrapped(*args)  # type: ignore[operator]


@pytest.mark.parametrize("where", ["inside the tagger", "the whole tagging step"])
def test_photos_whose_tagging_failed_once_are_tagged_by_the_next_index(tmp_path: Path,
                                                                        where: str) -> None:
    library, truth = _fake_library(tmp_path)
    organizer = library.organizer
    with library:
        if where == "inside the tagger":  # logged; indexing goes on, later batches tagged
            organizer.classifier = _FailsOnce(organizer.classifier)  # type: ignore[method-assign]
            library.index_photos()
        else:  # out of tag_new_photos: the index stops after its first batch
            organizer.tag_new_photos = _FailsOnce(organizer.tag_new_photos)  # type: ignore[method-assign]
            with pytest.raises(OSError, match="No space"):
                library.index_photos()
        untagged = {p for p, tags in _auto_tags(library.paths.catalog).items() if not tags}
        assert untagged and library.catalog.tags_owed(library.encoder.model_id)
        library.index_photos()
        assert _auto_tags(library.paths.catalog) == {p: {c} for p, c in truth.items()}
        assert library.catalog.tags_owed(library.encoder.model_id) == []
        calls: list[list[int]] = []
        organizer.tag_new_photos = calls.append  # type: ignore[assignment,method-assign]
        library.index_photos()  # nothing owed, nothing pending: no tagging at all
        assert calls == []
