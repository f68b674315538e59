"""Helpers for driving the real `photoclip` command with the tiny CLIP model."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.synthetic import make_library


@dataclass
class Cli:
    """Runs `photoclip` with a private PHOTOCLIP_HOME and the tiny model.

    In this process by default, through the same ``main(argv)`` the console script
    calls: a fresh process spends ~5 s importing torch and open_clip, which over
    these tests' ~60 commands was minutes of the suite. Tests of what only a real
    process shows (exit on a signal, a kill mid-write, the network environment,
    the entry point) start one themselves, or use ``subprocess=True``.
    """

    home: Path
    model: str
    hub_offline: bool = True  # HF_HUB_OFFLINE=1: belt and braces against any download
    subprocess: bool = False

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
        if self.subprocess or not self.hub_offline:  # the hub's mode is fixed at import
            done = subprocess.run(
                [sys.executable, "-m", "photoclip.cli", *args], capture_output=True, text=True,
                env=self.env, cwd=cwd, timeout=timeout,
            )
        else:
            done = self._in_process(list(args), cwd)
        if check:
            assert done.returncode == 0, f"photoclip {' '.join(args)} failed:\n{done.stderr}"
        return done

    def _in_process(self, args: list[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
        from photoclip.cli import main

        out, err = io.StringIO(), io.StringIO()
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        with _environment(PHOTOCLIP_HOME=str(self.home), PHOTOCLIP_MODEL=self.model), \
                contextlib.chdir(cwd or Path.cwd()), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: usage errors and --help
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            finally:  # main() configures logging for its process: undo it
                root.handlers[:] = handlers
                root.setLevel(level)
        return subprocess.CompletedProcess(["photoclip", *args], code, out.getvalue(),
                                           err.getvalue())

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)

    def set_batch_size(self, size: int) -> None:
        config = self.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "settings.toml").write_text(f"version = 1\nbatch_size = {size}\n")


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
