"""A `photoclip search` process with the model's query pack in place never imports
torch, and answers exactly as the torch path does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import load_settings
from tests.cli.conftest import Cli
from tests.synthetic import make_library

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.model

QUERY = "red circle"
PROBE = (
    "import sys, json\n"
    "from photoclip.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'open_clip'))\n"
    "sys.stderr.write('\\nHEAVY=' + json.dumps(heavy))\n"
    "sys.exit(code)\n"
)


class OnnxTextEncoder:
    """The torch path's queries: ClipEncoder's ONNX Runtime text tower (``OnnxText``),
    without exporting the image tower too (an Encoder for search only)."""

    def __init__(self, model_dir: Path, cache: Path) -> None:
        from photoclip.core.clip.onnx_text import onnx_int8_text

        spec = ModelSpec.parse(f"local-dir:{model_dir}")
        model, _, self.tokenizer = ClipEncoder(spec, "cpu", "fp32").load()._parts()
        self.model_id, self.dim = spec.model_id, 64
        self.text = onnx_int8_text(model, self.tokenizer, cache, spec.model_id)  # + the pack

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        features = self.text(self.tokenizer(list(texts))).numpy()
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def test_a_cold_search_with_a_query_pack_never_imports_torch(tmp_path: Path, tiny_vit_dir: Path) -> None:
    """The tiny ViT, whose text tower is the one the product exports (the ResNet tiny
    model's image tower stays on torch, so in the product its text tower does too)."""
    folder = tmp_path / "Pictures"
    folder.mkdir()
    make_library(folder, per_class=1, seed=4)
    cli = Cli(tmp_path / "home", f"local-dir:{tiny_vit_dir}")
    cli.run("add", str(folder))
    cli.run("--precision", "fp32", "index")
    paths = app_paths({"PHOTOCLIP_HOME": str(cli.home)})
    settings = load_settings(paths.settings)
    settings.model = cli.model
    torch_path = OnnxTextEncoder(tiny_vit_dir, paths.models_cache)
    with Library(paths, settings, encoder=torch_path) as library:  # type: ignore[arg-type]
        expected = [(str(h.path), round(h.score, 6)) for h in library.search(QUERY, top=20)]
    assert list((paths.models_cache / "onnx").glob("query-pack-tiny-vit-*.json"))
    assert len(expected) >= 10

    done = subprocess.run([sys.executable, "-c", PROBE, "--precision", "int8", "search", QUERY,
                           "--json"], capture_output=True, text=True, env=cli.env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.rsplit("HEAVY=", 1)[1]) == []
    assert [(h["path"], h["score"]) for h in json.loads(done.stdout)] == expected
