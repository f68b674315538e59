"""Weights download through huggingface_hub, against a local stand-in for the hub."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.clip.download import DownloadFailed, fetch, hub_files
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec

COMMIT = "0" * 40


@contextlib.contextmanager
def _serving(files: dict[str, bytes]) -> Iterator[str]:
    """A minimal HTTP hub serving the files of any repo (HEAD metadata + GET)."""

    class Handler(BaseHTTPRequestHandler):
        def _file(self) -> bytes | None:
            return files.get(self.path.rsplit("/", 1)[-1]) if "/resolve/" in self.path else None

        def _headers(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
            self.end_headers()

        def do_HEAD(self) -> None:  # http.server's naming
            body = self._file()
            if body is None:
                self.send_error(404)
                return
            self._headers(body)

        def do_GET(self) -> None:
            body = self._file()
            if body is None:
                self.send_error(404)
                return
            self._headers(body)
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture()
def hub() -> Iterator[tuple[str, dict[str, bytes]]]:
    # 25.6 MB: huggingface_hub writes 10 MB chunks, so progress comes in several steps.
    files = {"open_clip_config.json": b'{"model_cfg": {}}',
             "open_clip_model.safetensors": bytes(range(256)) * 100_000}
    with _serving(files) as endpoint:
        yield endpoint, files


def test_fetch_reports_bytes_and_fills_the_cache(hub, tmp_path: Path) -> None:
    endpoint, files = hub
    seen: list[tuple[int, int]] = []
    paths = fetch("org/tiny-clip", [["open_clip_config.json"],
                                    ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]],
                  lambda done, total: seen.append((done, total)),
                  endpoint=endpoint, cache_dir=tmp_path / "hf")
    assert [p.read_bytes() for p in paths] == list(files.values())
    total = sum(len(b) for b in files.values())
    assert seen[-1] == (total, total)
    assert len(seen) > 2, "progress arrives while downloading, not only at the end"
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert all(t == total for _, t in seen)


def test_a_missing_file_says_which(hub, tmp_path: Path) -> None:
    endpoint, _ = hub
    with pytest.raises(DownloadFailed, match=r"none of open_clip_pytorch_model\.bin"):
        fetch("org/tiny-clip", [["open_clip_pytorch_model.bin"]], lambda d, t: None,
              endpoint=endpoint, cache_dir=tmp_path / "hf")


def test_hub_files_prefer_safetensors_like_open_clip() -> None:
    repo, files = hub_files("ViT-B-32", "laion2b_s34b_b79k")
    assert repo == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert files == [["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]]
    assert hub_files("hf-hub:org/repo", None) == (
        "org/repo", [["open_clip_config.json"],
                     ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]])
    assert hub_files("ViT-B-32", None) is None


@pytest.mark.slow
def test_a_hub_model_downloads_once_with_progress_then_loads_offline(
        tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real path of a first run: not cached → fetched with progress → loaded."""
    from huggingface_hub import constants

    files = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    with _serving(files) as endpoint:
        # As if HF_ENDPOINT had pointed at this server when huggingface_hub was imported.
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
        encoder = ClipEncoder(ModelSpec.parse("hf-hub:org/tiny-clip"), "cpu")
        seen: list[tuple[int, int]] = []
        encoder.on_download = lambda done, total: seen.append((done, total))
        vectors = encoder.load().encode_texts(["a red circle"])
        total = sum(len(b) for b in files.values())
        assert seen and seen[-1] == (total, total)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        reference = ClipEncoder(ModelSpec.parse(f"local-dir:{tiny_model_dir}"), "cpu")
        assert np.allclose(vectors, reference.encode_texts(["a red circle"]), atol=1e-5)
    # Cached now: a second start loads without the hub (the server is gone).
    again = ClipEncoder(ModelSpec.parse("hf-hub:org/tiny-clip"), "cpu")
    again.on_download = lambda done, total: pytest.fail("downloaded twice")
    assert again.load().dim == reference.dim


def test_xet_transfer_bytes_are_not_counted_twice() -> None:
    """huggingface_hub's Xet downloads report file bytes and network bytes on one
    bar; only the file's count toward the model's size."""
    from photoclip.core.clip.download import _ByteCounter

    seen: list[tuple[int, int]] = []
    counter = _ByteCounter(100 << 20, lambda done, total: seen.append((done, total)))
    bar = counter.progress_class()(total=100 << 20)
    for _ in range(10):
        bar.update(10 << 20)
        bar.update_transfer(10 << 20)
    counter.finish()
    assert counter.done == 100 << 20 and seen[-1] == (100 << 20, 100 << 20)
    assert all(done <= total for done, total in seen)
