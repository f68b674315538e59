"""Shared fixtures: a private PHOTOCLIP_HOME per test, the tiny CLIP model, picture libraries."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CACHE = TESTS / ".cache"


@pytest.fixture(autouse=True)
def _cli_logging_undone() -> Iterator[None]:
    """A test calling the CLI's main() in this process leaves its stderr handler on the
    root logger, writing to that test's captured (then closed) stream: every later
    warning would print a logging error with a traceback into other tests' output."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _text_pass_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real OCR engine (~0.3 s a photo) only where a test asks for ``real_ocr``: else
    every index and live worker in this process would read the text of all its photos."""
    if "real_ocr" not in request.fixturenames:
        monkeypatch.setattr("photoclip.core.text_pass.ocr_available", lambda: False)
        monkeypatch.setenv("PHOTOCLIP_OCR", "off")  # and in the processes tests start


@pytest.fixture
def real_ocr() -> None:
    """Libraries built in this test read text with the real engine (the `ocr` extra)."""


@pytest.fixture(autouse=True)
def _stacks_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Search results unfolded unless a test asks for ``stacks_on``: the suite's synthetic
    pictures are flat shapes, and a few of a class hash alike, so folding would hide hits
    that tests about other things look for."""
    if "stacks_on" not in request.fixturenames:
        monkeypatch.setenv("PHOTOCLIP_STACKS", "off")


@pytest.fixture
def stacks_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search folds stacks as the settings say (default: similar shots)."""
    monkeypatch.delenv("PHOTOCLIP_STACKS", raising=False)


@pytest.fixture
def photoclip_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every PhotoClip path at a fresh temporary directory."""
    home = tmp_path / "photoclip-home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    monkeypatch.delenv("PHOTOCLIP_MODEL", raising=False)
    return home


def _tiny_model_key() -> str:
    digest = hashlib.sha256()
    for name in ("make_tiny_clip.py", "synthetic.py"):
        digest.update((TESTS / name).read_bytes())
    return digest.hexdigest()[:12]


def _trained_once(name: str, vision_transformer: bool = False) -> Path:
    target = CACHE / f"{name}-{_tiny_model_key()}"
    if (target / "open_clip_model.safetensors").is_file():
        return target
    # Parallel test workers (pytest -n) must not train it twice into one folder.
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _train(target, vision_transformer)


def _train(target: Path, vision_transformer: bool) -> Path:
    if not (target / "open_clip_model.safetensors").is_file():
        sys.path.insert(0, str(REPO))
        from tests.make_tiny_clip import VIT_MODEL_CFG, build_tiny_clip

        building = target.with_name(target.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        if vision_transformer:
            build_tiny_clip(building, steps=300, model_cfg=VIT_MODEL_CFG)
        else:
            build_tiny_clip(building)
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    return target


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The repo's own tiny open_clip model, trained once and cached by its source's hash."""
    return _trained_once("tiny-clip")


@pytest.fixture(scope="session")
def tiny_vit_dir() -> Path:
    """The same, with a vision transformer (the int8 path's architecture)."""
    return _trained_once("tiny-vit", vision_transformer=True)


@pytest.fixture(scope="session")
def tiny_model_spec(tiny_model_dir: Path) -> str:
    return f"local-dir:{tiny_model_dir}"
