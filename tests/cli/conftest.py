"""Helpers for driving the real `photoclip` command with the tiny CLIP model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.synthetic import make_library


@dataclass
class Cli:
    """Runs `photoclip` as a subprocess with a private PHOTOCLIP_HOME and the tiny model."""

    home: Path
    model: str
    hub_offline: bool = True  # HF_HUB_OFFLINE=1: belt and braces against any download

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PHOTOCLIP_HOME=str(self.home), PHOTOCLIP_MODEL=self.model)
        env.pop("HF_HUB_OFFLINE", None)
        if self.hub_offline:
            env["HF_HUB_OFFLINE"] = "1"
        return env

    def run(self, *args: str, check: bool = True, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "photoclip.cli", *args], capture_output=True, text=True,
            env=self.env, cwd=cwd, timeout=timeout,
        )
        if check:
            assert done.returncode == 0, f"photoclip {' '.join(args)} failed:\n{done.stderr}"
        return done

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)

    def set_batch_size(self, size: int) -> None:
        config = self.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "settings.toml").write_text(f"version = 1\nbatch_size = {size}\n")


@pytest.fixture
def cli(tmp_path: Path, tiny_model_spec: str) -> Cli:
    return Cli(tmp_path / "home", tiny_model_spec)


@pytest.fixture
def picture_library(tmp_path: Path) -> tuple[Path, dict[Path, str]]:
    """72 pictures (6 per colour-shape class) in many formats and sizes; path -> class."""
    folder = tmp_path / "Pictures"
    folder.mkdir()
    made = make_library(folder, per_class=6, seed=7)
    return folder, {path: f"{colour} {shape}" for path, colour, shape in made}
