"""The ONNX Runtime int8 image tower: built once per model, checked against fp32, and
every way it can be unavailable falls back to PyTorch int8 and says why."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.clip import onnx_visual, precision
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.synthetic import make_library

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.model

AGREEMENT = 0.999  # cosine with fp32 per picture, as every fast path


def _load(model_dir: Path, cache: Path, requested: str = "int8-onnx") -> ClipEncoder:
    return ClipEncoder(ModelSpec.parse(f"local-dir:{model_dir}"), "cpu", requested,
                       cache_dir=cache).load()


def _manifest(cache: Path, tower: str = "visual") -> dict:
    (found,) = [m for m in map(json.loads, (p.read_text() for p in cache.glob("onnx/*/manifest.json")))
                if m["tower"] == tower]
    return found


def _count_exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = onnx_visual.export_visual

    def counted(visual: object, path: Path) -> None:
        calls.append(path)
        real(visual, path)

    monkeypatch.setattr(onnx_visual, "export_visual", counted)
    return calls


def test_the_tower_is_exported_once_and_rebuilt_when_damaged(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exported, quantized and checked on the first load; the second load opens the
    cached file (no export, no second check) and gives the same vectors; a cached
    file that no longer matches its digest is rebuilt. (Agreement with fp32 on
    generated pictures: test_precision's test_fast_paths_keep_the_answers_...)"""
    exports = _count_exports(monkeypatch)
    first = _load(tiny_vit_dir, tmp_path / "cache")
    assert first.precision == "int8-onnx" and len(exports) == 1
    assert isinstance(first._parts()[0].visual, onnx_visual.OnnxVisual)
    manifest = _manifest(tmp_path / "cache")
    assert min(manifest["verified"].values()) >= AGREEMENT and manifest["bytes"] > 0
    pictures = [first.preprocess(p) for p in onnx_visual.generated_pictures(8, seed=11)]
    vectors = first.encode_images(pictures)

    monkeypatch.setattr(onnx_visual, "_agreement_probe", _must_not_run)
    second = _load(tiny_vit_dir, tmp_path / "cache")
    assert second.precision == "int8-onnx" and len(exports) == 1
    assert np.array_equal(second.encode_images(pictures), vectors)

    monkeypatch.undo()
    exports = _count_exports(monkeypatch)
    (model,) = (tmp_path / "cache").glob(f"onnx/*/{onnx_visual.MODEL_FILE}")
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8-onnx"
    assert len(exports) == 1


def _must_not_run(*args: object) -> None:
    raise AssertionError("checked again")


def test_without_onnxruntime_pytorch_int8_runs(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The fast extra not installed: auto/int8 pick PyTorch int8 without trying; asked for
    by name, the failed import is logged and PyTorch int8 runs."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    precision.onnx_runtime_installed.cache_clear()
    try:
        assert not precision.onnx_runtime_installed()
        assert _load(tiny_vit_dir, tmp_path / "cache", "int8").precision == "int8"
        with caplog.at_level(logging.WARNING, logger="photoclip"):
            assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
    finally:
        precision.onnx_runtime_installed.cache_clear()
    assert "fast extra is not installed" in caplog.text
    assert not (tmp_path / "cache").exists()


def test_a_failed_export_falls_back_and_says_why(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(visual: object, path: Path) -> None:
        raise RuntimeError("Exporting the operator 'aten::frobnicate' is not supported")

    monkeypatch.setattr(onnx_visual, "export_visual", broken)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
    assert "export failed (Exporting the operator 'aten::frobnicate'" in caplog.text
    assert list((tmp_path / "cache" / "onnx").iterdir()) == []  # no half-written entry


def test_a_failed_quantization_falls_back_and_is_remembered(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A quantizer that fails on this model fails the same way on every load: the
    next load falls back at once instead of spending the export again."""
    def broken(source: Path, target: Path) -> None:
        raise ValueError("Unsupported data type for MatMulInteger")

    monkeypatch.setattr(onnx_visual, "quantize_int8", broken)
    exports = _count_exports(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
        assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
    assert len(exports) == 1
    assert "quantization failed (Unsupported data type for MatMulInteger)" in caplog.text
    assert "remembered in" in caplog.text


def test_disagreement_falls_back_and_is_remembered(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A tower that misses the bar is never used; the next load falls back at once
    instead of exporting again."""
    monkeypatch.setattr(onnx_visual, "AGREEMENT", 1.5)  # no tower can pass
    exports = _count_exports(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
        assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8"
    assert len(exports) == 1
    assert "disagrees with fp32" in caplog.text and "remembered in" in caplog.text
    assert "failed" in _manifest(tmp_path / "cache")


def test_the_library_caches_under_the_app_dir_and_status_names_the_runtime(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder Library builds (no cache folder given) keeps the tower in the app's
    model cache; `status` says ONNX Runtime encoded."""
    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home))
    photos = tmp_path / "photos"
    make_library(photos, per_class=1, seed=5)
    settings = Settings(model=f"local-dir:{tiny_vit_dir}", device="cpu", precision="int8",
                        label_sets=[])
    with Library(app_paths(), settings) as library:
        library.add_folder(photos)
        assert library.index_photos().encoded == 12
        state = library.status()
    assert (state.last_precision, state.last_text_precision) == ("int8-onnx", "int8-onnx")
    said = precision.describe_precision(state.last_precision, state.last_text_precision)
    assert said.startswith("int8 image encoder (ONNX Runtime")
    assert said.endswith("; int8 text encoder (ONNX Runtime)")
    assert list((app_paths().models_cache / "onnx").glob(f"*/{onnx_visual.MODEL_FILE}"))


def test_a_failure_of_the_fp32_side_of_the_check_is_not_held_against_onnx(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ONNX Runtime's own failures are remembered: running out of memory while the
    fp32 reference is computed fails that load, and the next one checks again."""
    real = onnx_visual.generated_pictures
    calls = []

    def once_out_of_memory(count: int, seed: int = 7) -> list:
        calls.append(count)
        if len(calls) == 1:
            raise MemoryError
        return real(count, seed)

    monkeypatch.setattr(onnx_visual, "generated_pictures", once_out_of_memory)
    with pytest.raises(MemoryError):
        _load(tiny_vit_dir, tmp_path / "cache")
    assert _load(tiny_vit_dir, tmp_path / "cache").precision == "int8-onnx"
    assert "failed" not in _manifest(tmp_path / "cache")


@pytest.mark.parametrize(("flags", "reduced"), [
    ({"avx2", "fma"}, True), ({"avx2", "avx512f", "avx512_vnni"}, False), ({"avx_vnni"}, False),
    (set(), True)])
def test_weights_lose_a_bit_only_where_int8_products_can_saturate(
        monkeypatch: pytest.MonkeyPatch, flags: set[str], reduced: bool) -> None:
    from photoclip.core.clip import onnx_export

    monkeypatch.setattr(onnx_export, "cpu_flags", lambda: frozenset(flags))
    assert onnx_export.weights_need_reduced_range() is reduced
