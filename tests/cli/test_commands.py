"""CLI commands that need no model: folders, exit codes, locking, odd file names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.core.lock import WriterLock
from photoclip.core.paths import app_paths


def photoclip(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PHOTOCLIP_HOME=str(home), PHOTOCLIP_MODEL="local-dir:/nonexistent")
    return subprocess.run([sys.executable, "-m", "photoclip.cli", *args], capture_output=True,
                          env=env, timeout=60)


def test_add_list_remove_folders(tmp_path: Path) -> None:
    home, a, b = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert photoclip(home, "add", str(a), str(b)).returncode == 0
    listed = json.loads(photoclip(home, "folders", "--json").stdout)
    assert listed == [{"path": str(a), "online": True}, {"path": str(b), "online": True}]
    assert photoclip(home, "remove", str(a)).returncode == 0
    assert photoclip(home, "folders").stdout.decode().split() == [str(b)]
    b.rmdir()
    assert "(offline)" in photoclip(home, "folders").stdout.decode()


def test_non_utf8_folder_names_print_as_their_bytes(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/Fotos \xe9t\xe9"
    os.mkdir(raw)
    home = tmp_path / "home"
    assert photoclip(home, "add", os.fsdecode(raw)).returncode == 0
    assert photoclip(home, "folders").stdout.strip() == raw
    listed = json.loads(photoclip(home, "folders", "--json").stdout)
    assert os.fsencode(listed[0]["path"]) == raw


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("remove", "/not/in/library"), 1, b"not a library folder"),
        (("similar", "/no/such.jpg"), 1, b"no such image"),
        (("search", "dogs"), 1, b"no photos are indexed"),
        (("--model", "nonsense", "search", "x"), 1, b"invalid model"),
        (("frobnicate",), 2, b"invalid choice"),
        (("--device", "tpu", "status"), 2, b"invalid choice"),
        (("--precision", "fp8", "status"), 2, b"invalid choice"),
    ],
)
def test_failures_have_one_line_reasons(tmp_path: Path, args: tuple[str, ...], code: int,
                                        message: bytes) -> None:
    done = photoclip(tmp_path / "home", *args)
    assert done.returncode == code
    assert message in done.stderr and b"Traceback" not in done.stderr


def test_second_writer_is_told_who_holds_the_library(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "photos"
    folder.mkdir()
    assert photoclip(home, "add", str(folder)).returncode == 0
    with WriterLock(app_paths({"PHOTOCLIP_HOME": str(home)}).lock, "test holder"):
        done = photoclip(home, "index")
    assert done.returncode == 1
    assert b"in use" in done.stderr and str(os.getpid()).encode() in done.stderr
    assert photoclip(home, "index").returncode == 0  # released: an empty folder needs no model


@pytest.mark.model
def test_status_says_which_precision_encoded(tmp_path: Path, tiny_vit_dir: Path) -> None:
    """Forced on the command line, the precision is used and `status` says so."""
    from PIL import Image

    home, folder = tmp_path / "home", tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(folder / "red.png")
    env = dict(os.environ, PHOTOCLIP_HOME=str(home), PHOTOCLIP_MODEL=f"local-dir:{tiny_vit_dir}")

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "photoclip.cli", *args],
                              capture_output=True, env=env, timeout=120)

    assert run("add", str(folder)).returncode == 0
    assert run("--precision", "int8", "--device", "cpu", "index").returncode == 0
    state = json.loads(run("--precision", "int8", "status", "--json").stdout)
    # int8 runs in ONNX Runtime where the "fast" extra is installed, else in PyTorch.
    assert (state["precision"], state["indexed"]) == ("int8", 1)
    assert state["last_precision"] in ("int8", "int8-onnx")
    assert "int8 image encoder" in run("status").stdout.decode()
