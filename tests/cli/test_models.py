"""Model specs other than local-dir:, with the tiny model standing in for real weights."""

from __future__ import annotations

import random
import shutil
import socket
import threading
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.synthetic import draw_picture

pytestmark = [pytest.mark.model, pytest.mark.slow]
REVISION = "0" * 40


def _hf_cache_with(model_dir: Path, cache: Path, repo: str) -> None:
    """Lay the model out as huggingface_hub caches a downloaded repository."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    for name in ("open_clip_config.json", "open_clip_model.safetensors"):
        shutil.copy(model_dir / name, snapshot / name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(REVISION)


class ConnectionCounter:
    """A local TCP endpoint that counts who tries to reach it (stands in for the hub)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_hub_model_loads_from_the_cache_without_network(
    cli: Cli, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "hf-cache"
    _hf_cache_with(tiny_model_dir, cache, "photoclip/tiny-clip")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    hub_stand_in = ConnectionCounter()
    monkeypatch.setenv("HF_ENDPOINT", hub_stand_in.url)
    folder = tmp_path / "photos"
    folder.mkdir()
    draw_picture("green", "triangle", random.Random(1)).save(folder / "g.png")
    # Without HF_HUB_OFFLINE: PhotoClip itself must go to the cache first.
    hub = Cli(cli.home, "hf-hub:photoclip/tiny-clip", hub_offline=False)
    hub.run("add", str(folder))
    assert hub.json("index")["encoded"] == 1
    hits = hub.json("search", "a green triangle")
    assert [Path(h["path"]).name for h in hits] == ["g.png"]
    assert hub.json("status")["model"] == "hf-hub:photoclip/tiny-clip"
    assert hub_stand_in.connections == 0  # cached weights never touch the network
    hub_stand_in.server.close()


def test_missing_hub_model_fails_fast_and_clearly(cli: Cli, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    folder = tmp_path / "photos"
    folder.mkdir()
    draw_picture("red", "square", random.Random(2)).save(folder / "r.png")
    missing = Cli(cli.home, "hf-hub:photoclip/not-downloaded", hub_offline=False)
    missing.run("add", str(folder))
    done = missing.run("index", check=False, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "hf-hub:photoclip/not-downloaded is not available" in done.stderr
    assert "local-dir:" in done.stderr  # tells how to use a model file offline
