"""A write cut short (full disk, I/O error, the process killed) leaves the old file whole.

Each writer here is made to fail part-way through: the file object writes half of what it
is given, flushes it to the file, then raises (a full disk) or the process dies at once
(kill -9); or fsync or the rename fail. A writer that wrote straight into the target
(``path.write_text``) would leave half a file each time, or the new one where the rename
failed; temp-file-and-rename leaves the old bytes, and cleans its temp file when it can.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from photoclip.core.files import atomic
from photoclip.core.organize.labelsets import install_label_set, load_label_set
from photoclip.core.settings import Settings, load_settings, save_settings

REPO = Path(__file__).resolve().parents[3]
_WRITE_MODES = set("wax+")


class _CutShort:
    """A file object whose first write puts half the data in the file, flushes, then fails."""

    def __init__(self, inner: Any, fail: Callable[[], None]) -> None:
        self._inner, self._fail = inner, fail

    def write(self, data: Any) -> int:
        self._inner.write(data[: len(data) // 2])
        self._inner.flush()
        os.fsync(self._inner.fileno())  # the half is on disk, whatever happens next
        self._fail()
        raise AssertionError("unreachable")

    def __enter__(self) -> _CutShort:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _full_disk() -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def cut_writes_short(monkeypatch: pytest.MonkeyPatch, folder: Path, fail: Callable[[], None]) -> None:
    """Every file opened for writing under ``folder``, by ``open``, ``Path.write_*`` or
    ``os.fdopen`` (all go through ``io.open``), fails on its first write."""
    real_open = io.open
    inside = str(folder.resolve()) + os.sep

    def opening(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = real_open(file, mode, *args, **kwargs)
        named = isinstance(file, (str, os.PathLike)) and os.path.abspath(file).startswith(inside)
        return _CutShort(f, fail) if named and _WRITE_MODES & set(mode) else f

    monkeypatch.setattr(builtins, "open", opening)
    monkeypatch.setattr(io, "open", opening)


# -- the three writers: (old content written for real, then the write that fails) -------------

def _bytes_writer(folder: Path) -> tuple[Path, Callable[[], None]]:
    target = folder / "index.bin"
    atomic.write_bytes_atomically(target, b"old index\x00" * 500)
    return target, lambda: atomic.write_bytes_atomically(target, b"NEW INDEX, LONGER\x01" * 700)


def _settings_writer(folder: Path) -> tuple[Path, Callable[[], None]]:
    target = folder / "settings.toml"
    save_settings(Settings(batch_size=8, exclude=["*.tmp"]), target)
    new = Settings(batch_size=16, exclude=[f"*.skip{i}" for i in range(50)])
    return target, lambda: save_settings(new, target)


_SET = 'name = "colours"\nversion = {v}\nlabels = ["red", "green", "blue"{more}]\n'


def _labelset_writer(folder: Path) -> tuple[Path, Callable[[], None]]:
    user_dir = folder / "labelsets"
    first = folder / "first.toml"
    first.write_text(_SET.format(v=1, more=""), encoding="utf-8")
    target = install_label_set(first, user_dir).source
    first.unlink()
    update = folder / "update.toml"
    update.write_text(_SET.format(v=2, more=', "yellow", "purple", "orange"'), encoding="utf-8")
    return target, lambda: install_label_set(update, user_dir)


WRITERS = {"write_bytes_atomically": _bytes_writer, "save_settings": _settings_writer,
           "install_label_set": _labelset_writer}


def _check_old_file_is_whole(name: str, target: Path, old: bytes) -> None:
    assert target.read_bytes() == old
    if name == "save_settings":
        assert load_settings(target).batch_size == 8
    elif name == "install_label_set":
        assert load_label_set(target).version == 1


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_full_disk_mid_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
) -> None:
    target, write = WRITERS[name](tmp_path)
    old, before = target.read_bytes(), sorted(target.parent.iterdir())
    cut_writes_short(monkeypatch, target.parent, _full_disk)
    with pytest.raises(OSError) as raised:
        write()
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC
    _check_old_file_is_whole(name, target, old)
    assert sorted(target.parent.iterdir()) == before  # no temp file left beside it


@pytest.mark.parametrize("step", ["fsync", "replace"])
@pytest.mark.parametrize("name", list(WRITERS))
def test_a_failed_fsync_or_rename_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, step: str,
) -> None:
    target, write = WRITERS[name](tmp_path)
    old, before = target.read_bytes(), sorted(target.parent.iterdir())

    def failing(*args: object) -> None:
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(os, step, failing)
    with pytest.raises(OSError, match=f"{step} failed"):
        write()
    monkeypatch.undo()
    _check_old_file_is_whole(name, target, old)
    assert sorted(target.parent.iterdir()) == before


_KILLED_CHILD = """
import os, sys
from pathlib import Path
from tests.core.files.test_atomic_writes import WRITERS, cut_writes_short
import pytest

folder, name = Path(sys.argv[1]), sys.argv[2]
target, write = WRITERS[name](folder)
(folder / "old.bytes").write_bytes(target.read_bytes())
patch = pytest.MonkeyPatch()
cut_writes_short(patch, target.parent, lambda: os._exit(9))  # killed: no cleanup runs
write()
"""


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path: Path, name: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, str(tmp_path), name],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode == 9, child.stderr
    target = next(p for p in tmp_path.rglob("*") if p.name in ("index.bin", "settings.toml", "colours.toml"))
    _check_old_file_is_whole(name, target, (tmp_path / "old.bytes").read_bytes())
    # What a kill leaves is only a temp file, named so the next writer can sweep it away.
    left = [p for p in target.parent.iterdir() if p != target and p.name != "old.bytes"]
    assert [p.name.startswith(f".{target.name}.") and p.name.endswith(".tmp") for p in left] == [True]
    assert atomic.remove_stale_temps(target) == 1
