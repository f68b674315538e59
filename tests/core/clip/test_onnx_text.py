"""The ONNX Runtime text tower (int8 weights): queries agree with fp32, it is built
once per model, and every way it can be unavailable falls back to the fp32 torch
text tower and says why, leaving the image tower on its fast path."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.clip import onnx_export, onnx_text
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.model

AGREEMENT = 0.999
QUERIES = [
    "a red circle", "a photo of a small blue square on green grass", "x", "",
    "two yellow triangles and a purple circle next to each other on a white table",
    "Ünïcödé 東京 🙂", "a red circle",  # a repeat inside one batch
]


def _load(model_dir: Path, cache: Path, requested: str = "int8-onnx") -> ClipEncoder:
    return ClipEncoder(ModelSpec.parse(f"local-dir:{model_dir}"), "cpu", requested,
                       cache_dir=cache).load()


def _text_manifest(cache: Path, tower: str = "text") -> dict:
    (found,) = [m for m in map(json.loads, (p.read_text() for p in cache.glob("onnx/*/manifest.json")))
                if m["tower"] == tower]
    return found


def _disagreeing(source: Path, target: Path) -> None:
    """A quantizer whose model runs but answers differently: every matrix shuffled."""
    from onnx import numpy_helper

    model = onnx.load(str(source))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.ndim == 2:
            init.CopyFrom(numpy_helper.from_array(
                rng.permutation(weights.reshape(-1)).reshape(weights.shape), init.name))
    onnx.save(model, str(target))


def _count_exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = onnx_text.export_text

    def counted(tower: object, width: int, path: Path) -> None:
        calls.append(path)
        real(tower, width, path)

    monkeypatch.setattr(onnx_text, "export_text", counted)
    return calls


def test_queries_agree_with_fp32_and_the_tower_is_built_once(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short, long, empty and non-ASCII queries, one at a time and in a mixed-length
    batch, within the bar of the fp32 torch tower; the torch transformer's weights
    are released; a second load reuses the cached, checked tower."""
    reference = _load(tiny_vit_dir, tmp_path / "unused", "fp32")
    exports = _count_exports(monkeypatch)
    fast = _load(tiny_vit_dir, tmp_path / "cache")
    assert (fast.precision, fast.text_precision) == ("int8-onnx", "int8-onnx")
    assert len(exports) == 1 and _text_manifest(tmp_path / "cache")["verified"]
    ops = {node.op_type for node in onnx.load(str(fast._fast_text.path)).graph.node}
    assert {"MatMulInteger", "MatMulNBits"} <= ops and "MatMul" not in ops  # the first recipe
    expected = reference.encode_texts(QUERIES)
    batch = fast.encode_texts(QUERIES)
    fast._text_cache.clear()
    one_by_one = np.concatenate([fast.encode_texts([q]) for q in QUERIES])
    for got in (batch, one_by_one):
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert (got * expected).sum(1).min() >= AGREEMENT
    model = fast._parts()[0]
    assert all(p.is_meta for p in model.transformer.parameters())  # torch weights released

    monkeypatch.setattr(onnx_text, "_agreement_probe", _must_not_run)
    again = _load(tiny_vit_dir, tmp_path / "cache")
    assert again.text_precision == "int8-onnx" and len(exports) == 1
    assert np.array_equal(again.encode_texts(QUERIES), batch)


def _must_not_run(*args: object) -> None:
    raise AssertionError("checked again")


def test_a_failed_export_falls_back_to_fp32_text_and_says_why(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(tower: object, width: int, path: Path) -> None:
        raise RuntimeError("Exporting the operator 'aten::frobnicate' is not supported")

    monkeypatch.setattr(onnx_text, "export_text", broken)
    reference = _load(tiny_vit_dir, tmp_path / "unused", "fp32")
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        fast = _load(tiny_vit_dir, tmp_path / "cache")
    assert (fast.precision, fast.text_precision) == ("int8-onnx", "fp32")
    assert "text tower not used: export failed (Exporting the operator" in caplog.text
    assert np.allclose(fast.encode_texts(QUERIES), reference.encode_texts(QUERIES), atol=1e-5)


def test_disagreement_falls_back_and_is_remembered(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(onnx_text, "AGREEMENT", 1.5)  # no tower can pass
    exports = _count_exports(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        assert _load(tiny_vit_dir, tmp_path / "cache").text_precision == "fp32"
        assert _load(tiny_vit_dir, tmp_path / "cache").text_precision == "fp32"
    assert len(exports) == len(onnx_text.RECIPES)  # each tried once, on the first load only
    assert "disagrees with fp32" in caplog.text and "probe texts" in caplog.text
    for recipe in onnx_text.RECIPES:
        assert "failed" in _text_manifest(tmp_path / "cache", recipe.tower)


def test_a_recipe_that_disagrees_gives_way_to_the_next_for_good(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fastest recipe answering differently from fp32 is caught by the check; the
    next one serves queries, on this load and the following ones without a new
    export or check."""
    first, second = onnx_text.RECIPES
    monkeypatch.setattr(onnx_text, "RECIPES", (
        onnx_text.Recipe(first.name, first.tower, _disagreeing), second))
    reference = _load(tiny_vit_dir, tmp_path / "unused", "fp32")
    exports = _count_exports(monkeypatch)
    fast = _load(tiny_vit_dir, tmp_path / "cache")
    assert fast.text_precision == "int8-onnx" and len(exports) == 2
    (reason,) = _text_manifest(tmp_path / "cache", first.tower)["failed"].values()
    assert "disagrees with fp32" in reason
    assert _text_manifest(tmp_path / "cache", second.tower)["verified"]
    expected = reference.encode_texts(QUERIES)
    assert (fast.encode_texts(QUERIES) * expected).sum(1).min() >= AGREEMENT

    monkeypatch.setattr(onnx_text, "_agreement_probe", _must_not_run)
    again = _load(tiny_vit_dir, tmp_path / "cache")
    assert again.text_precision == "int8-onnx" and len(exports) == 2
    assert (again.encode_texts(QUERIES) * expected).sum(1).min() >= AGREEMENT


def test_a_recipe_whose_quantization_fails_gives_way_to_the_next_for_good(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(source: Path, target: Path) -> None:
        raise ValueError("Unsupported data type for MatMulInteger")

    first, second = onnx_text.RECIPES
    monkeypatch.setattr(onnx_text, "RECIPES", (
        onnx_text.Recipe(first.name, first.tower, broken), second))
    exports = _count_exports(monkeypatch)
    assert _load(tiny_vit_dir, tmp_path / "cache").text_precision == "int8-onnx"
    assert _load(tiny_vit_dir, tmp_path / "cache").text_precision == "int8-onnx"
    assert len(exports) == 2  # the first recipe's failure is not paid for again
    (reason,) = _text_manifest(tmp_path / "cache", first.tower)["failed"].values()
    assert "quantization failed (Unsupported data type" in reason


def test_fp32_and_pytorch_int8_keep_the_torch_text_tower(tiny_vit_dir: Path, tmp_path: Path) -> None:
    for requested in ("fp32", "int8-pytorch"):
        encoder = _load(tiny_vit_dir, tmp_path / "cache", requested)
        assert encoder.text_precision == "fp32"
    assert not list(tmp_path.glob("cache/onnx/*"))


def test_importing_the_weight_quantizer_leaves_the_root_logger_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime's weight quantizer calls logging.basicConfig(level=INFO) when
    imported, which would print every INFO line of the app to stderr."""
    (tmp_path / "chatty_module.py").write_text(
        "import logging\nlogging.basicConfig(level=logging.INFO)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "chatty_module", raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in the app before it logs: basicConfig acts
    monkeypatch.setattr(root, "level", logging.WARNING)
    handlers, level = list(root.handlers), root.level
    module = onnx_export._import_keeping_root_logger("chatty_module")
    assert module.__name__ == "chatty_module"
    assert root.handlers == handlers and root.level == level


def test_an_unusable_weight_quantizer_falls_back_before_exporting(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """An ONNX Runtime without the 8-bit weight quantizer (older than 1.22, or onnx-ir
    missing) is found out before any export is spent on it."""
    monkeypatch.setitem(sys.modules, "onnxruntime.quantization.matmul_nbits_quantizer", None)
    exports = _count_exports(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        fast = _load(tiny_vit_dir, tmp_path / "cache")
    assert (fast.precision, fast.text_precision) == ("int8-onnx", "fp32")
    assert exports == [] and "weight quantizer cannot be imported" in caplog.text


def test_any_text_tower_error_leaves_queries_on_fp32_and_images_fast(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A surprise on the text side (here: no room left for the cache entry) does not
    stop the model from loading; the image tower keeps its fast path."""
    def full_disk(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    reference = _load(tiny_vit_dir, tmp_path / "unused", "fp32")
    _load(tiny_vit_dir, tmp_path / "cache")  # the image tower cached, as after an upgrade
    for entry in (tmp_path / "cache" / "onnx").glob("*-text-*"):
        for file in entry.iterdir():
            file.unlink()
        entry.rmdir()
    monkeypatch.setattr("tempfile.mkdtemp", full_disk)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        fast = _load(tiny_vit_dir, tmp_path / "cache")
    assert (fast.precision, fast.text_precision) == ("int8-onnx", "fp32")
    assert "No space left on device" in caplog.text
    assert np.allclose(fast.encode_texts(QUERIES), reference.encode_texts(QUERIES), atol=1e-5)
