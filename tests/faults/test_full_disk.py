"""A full disk at several points of index, tag, sidecar writes and index saves.

The data dir (and, for sidecars, the photos) live on a small tmpfs filled to within
a few bytes of full before each command: the command stops or carries on without
a traceback, the user's tags and the library's old state stay usable, and once
space is freed the next run finishes the work. Needs root for the mount.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.faults.user_state import read_user_state
from tests.synthetic import CLASSES, draw_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]

# Bytes left free when a command starts: nothing, less than a page, about one
# batch's rows, about an index file.
LEFT_FREE = (0, 3000, 40_000, 200_000, 600_000, 1_500_000)


@contextlib.contextmanager
def small_disk(where: Path, size: str = "6m") -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def filled(disk: Path, leave: int) -> Iterator[None]:
    """Fill ``disk`` until ``leave`` bytes are free; free it all again afterwards."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    try:
        yield
    finally:
        filler.unlink()


def _add_photos(folder: Path, start: int, count: int) -> None:
    import random

    rng = random.Random(start)
    for i in range(start, start + count):
        colour, shape = CLASSES[i % len(CLASSES)]
        draw_picture(colour, shape, rng, size=(96, 72)).save(folder / f"p{i:04d}.jpg", quality=85)


def _quiet_failure(run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("photoclip: "), run.stderr


def test_full_disk_while_indexing_tagging_and_saving(tmp_path: Path, tiny_model_spec: str) -> None:
    with small_disk(tmp_path / "disk") as disk:
        photos = disk / "photos"  # sidecars are written beside the photos
        photos.mkdir()
        _add_photos(photos, 0, 12)
        cli = Cli(disk / "home", tiny_model_spec)
        config = cli.home / "config"
        config.mkdir(parents=True)
        (config / "settings.toml").write_text("version = 1\nbatch_size = 4\nxmp_sidecars = true\n")
        cli.run("add", str(photos))
        cli.run("index")
        cli.run("tags", "--photo", str(photos / "p0000.jpg"), "--add", "keep-me")
        catalog = app_paths({"PHOTOCLIP_HOME": str(cli.home)}).catalog
        made = 12
        for leave in LEFT_FREE:
            _add_photos(photos, made, 12)
            made += 12
            before = read_user_state(catalog)
            with filled(disk, leave):
                for args in (("index",), ("tag", "--label-set", "kinds"),
                             ("tags", "--photo", str(photos / "p0001.jpg"), "--add", f"new-{leave}")):
                    _quiet_failure(cli.run(*args, check=False))
                # Searching needs no space: an index it had to rebuild is saved later.
                assert cli.run("search", "red circle", check=False).returncode == 0
            # The old state is still there, whatever failed.
            after = read_user_state(catalog)
            for path, tags in before.tags.items():
                assert tags <= after.tags.get(path, frozenset()), (leave, path)
            # With space again, the next run recovers and finishes the work.
            cli.run("index")
            status = cli.json("status")
            assert status["indexed"] == made and status["pending"] == status["failed"] == 0, status
            assert status["index_size"] == made
            assert len(cli.json("search", "red circle", "--top", "100")) == made
        assert ("keep-me", "user") in read_user_state(catalog).tags[str(photos / "p0000.jpg")]
