"""Fast CPU paths: chosen from the CPU, and they agree with fp32 (the answers don't change)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from PIL import Image

from photoclip.core.clip import precision
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.clip.fast_layers import LinearAttention, apply_precision, encode_text_trimmed
from photoclip.core.clip.precision import resolve_precision
from photoclip.core.clip.torch_helpers import PatchEmbedding
from photoclip.core.clip.torch_helpers import trimmable as _trimmable
from tests.synthetic import CLASSES, make_library

AGREEMENT = 0.999  # cosine with fp32, per image: the bar every fast path must clear


@pytest.mark.parametrize("onnx_installed", [True, False], ids=["fast-extra", "no-extra"])
@pytest.mark.parametrize(("flags", "expected"), [
    ({"avx2", "avx512f", "avx512_vnni"}, "int8"),
    ({"avx2", "amx_int8", "amx_bf16", "avx512_bf16"}, "int8"),
    ({"avx2", "avx512_bf16"}, "bf16"),  # native bf16 without int8 dot products
    ({"avx2", "avx512f"}, "fp32"),  # neither: bf16 would be emulated, 5x slower
    (set(), "fp32"),
])
def test_auto_picks_what_the_cpu_runs_natively(monkeypatch: pytest.MonkeyPatch, flags: set[str],
                                               expected: str, onnx_installed: bool) -> None:
    """int8 runs on ONNX Runtime where the fast extra is installed, else on PyTorch."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(precision, "onnx_runtime_installed", lambda: onnx_installed)
    if expected == "int8" and onnx_installed:
        expected = "int8-onnx"
    assert resolve_precision("auto", "cpu") == expected


def test_a_forced_precision_is_kept_and_gpus_use_autocast(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("int8", "cuda") == "fp16"
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("fp32", "cuda") == "fp32"  # a GPU user can still force fp32
    assert resolve_precision("bf16", "cuda") == "bf16"
    assert resolve_precision("int8-pytorch", "cpu") == "int8"  # a runtime by name (benchmarks)
    monkeypatch.setattr(precision, "onnx_runtime_installed", lambda: True)
    assert resolve_precision("int8", "cpu") == "int8-onnx"
    monkeypatch.setattr(precision, "onnx_runtime_installed", lambda: False)
    assert resolve_precision("int8", "cpu") == "int8"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp8", "cpu")


def test_status_says_which_int8_runtime_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f", "avx512_vnni"}))
    assert precision.describe_precision("int8-onnx") == "int8 image encoder (ONNX Runtime, avx512_vnni)"
    assert precision.describe_precision("int8") == "int8 image encoder (PyTorch, avx512_vnni)"
    monkeypatch.setattr(precision, "cpu_flags", frozenset)
    assert precision.describe_precision("int8-onnx") == "int8 image encoder (ONNX Runtime)"


def _small_vit() -> CLIP:
    torch.manual_seed(0)
    return CLIP(64, CLIPVisionCfg(layers=3, width=192, patch_size=8, image_size=64, head_width=32),
                CLIPTextCfg(context_length=16, width=64, heads=2, layers=1)).eval().requires_grad_(False)


def test_int8_reaches_every_matrix_product_of_a_vision_transformer() -> None:
    fast = _small_vit()
    fast.visual, used = apply_precision(fast.visual, "int8")
    assert used == "int8"
    floats = [n for n, m in fast.visual.transformer.named_modules() if type(m) is torch.nn.Linear]
    assert floats == []  # attention's packed projection included
    assert isinstance(fast.visual.conv1, PatchEmbedding)


def _top10(vectors: np.ndarray, query: np.ndarray) -> set[int]:
    return set(np.argsort(-(vectors @ query))[:10].tolist())


@pytest.mark.model
@pytest.mark.parametrize(("requested", "runs_as"), [
    ("auto", None), ("int8-pytorch", "int8"), ("int8-onnx", "int8-onnx"), ("bf16", "bf16")])
def test_fast_paths_keep_the_answers_of_a_trained_model(tiny_vit_dir: Path, tmp_path: Path,
                                                        requested: str, runs_as: str | None) -> None:
    """The repo's tiny trained ViT, through the product's encoder, on generated pictures
    it never saw: every picture's vector within the bar, and search rankings (top-10
    for each query) the same as fp32's for at least 95% of queries. int8-onnx goes
    through the real export, quantization and check (into a fresh cache)."""
    if requested == "int8-onnx":
        pytest.importorskip("onnxruntime")
    spec = ModelSpec.parse(f"local-dir:{tiny_vit_dir}")
    reference = ClipEncoder(spec, "cpu", "fp32").load()
    fast = ClipEncoder(spec, "cpu", requested, cache_dir=tmp_path / "cache").load()
    assert runs_as is None or fast.precision == runs_as
    if runs_as == "int8-onnx":  # queries on the int8 text tower too, not a silent fallback
        assert fast.text_precision == "int8-onnx"
    make_library(tmp_path / "pics", per_class=4, seed=21, formats=("PNG", "JPEG"))
    pictures = [reference.preprocess(Image.open(p).convert("RGB"))
                for p in sorted((tmp_path / "pics").rglob("*")) if p.is_file()]
    expected, got = reference.encode_images(pictures), fast.encode_images(pictures)
    assert len(pictures) == 48 and (expected * got).sum(1).min() >= AGREEMENT
    texts = [template.format(f"{colour} {shape}") for colour, shape in CLASSES
             for template in ("a {}", "a picture of a {}")]
    # Each side searches with its own query vectors: int8-onnx encodes queries in int8 too.
    queries, fast_queries = reference.encode_texts(texts), fast.encode_texts(texts)
    assert (queries * fast_queries).sum(1).min() >= AGREEMENT
    _assert_rankings_kept(expected, got, queries, fast_queries)


def _assert_rankings_kept(expected: np.ndarray, got: np.ndarray, queries: np.ndarray,
                          fast_queries: np.ndarray) -> None:
    """Every query whose fp32 10th and 11th photos are further apart than the largest
    score change the fast path made anywhere keeps its top-10 exactly (a swap there
    would be a real ranking change); near ties may swap, but 90% of all top-10s stay.
    (Measured on an AVX2-only CPU: the two changed top-10s of 24 both sat on gaps of
    0.002, the scores moved by up to 0.016.)"""
    reference, fast = expected @ queries.T, got @ fast_queries.T
    moved = float(np.abs(fast - reference).max())
    same, clear = [], []
    for column in range(reference.shape[1]):
        ranked = np.sort(reference[:, column])[::-1]
        same.append(_top10(expected, queries[column]) == _top10(got, fast_queries[column]))
        clear.append(ranked[9] - ranked[10] > 2 * moved)
    assert all(s for s, c in zip(same, clear, strict=True) if c), "a clear top-10 changed"
    assert sum(same) / len(same) >= 0.9, f"{sum(same)} of {len(same)} top-10s unchanged"


def test_rewritten_layers_compute_the_same_function() -> None:
    torch.manual_seed(1)
    attention = torch.nn.MultiheadAttention(96, 3, batch_first=True).eval()
    x = torch.randn(4, 17, 96)
    with torch.inference_mode():
        expected = attention(x, x, x, need_weights=False)[0]
        assert torch.allclose(LinearAttention(attention)(x, x, x)[0], expected, atol=1e-5)
    conv = torch.nn.Conv2d(3, 48, kernel_size=8, stride=8, bias=False).eval()
    images = torch.randn(2, 3, 32, 40)
    with torch.inference_mode():
        assert torch.allclose(PatchEmbedding(conv)(images), conv(images), atol=1e-5)


@pytest.mark.model
def test_queries_encode_the_same_with_only_their_real_tokens(tiny_model_dir: Path) -> None:
    encoder = ClipEncoder(ModelSpec.parse(f"local-dir:{tiny_model_dir}"), "cpu", "fp32").load()
    model, _, tokenizer = encoder._parts()
    assert _trimmable(model)  # the trimmed path runs, not open_clip's fallback
    tokens = tokenizer(["a red circle", "a photo of a small blue square on grass", "x"])
    assert int(tokens.argmax(dim=-1).max()) + 1 < tokens.shape[1]  # something is trimmed
    with torch.inference_mode():
        trimmed = encode_text_trimmed(model, tokens)
        full = model.encode_text(tokens)
    assert torch.allclose(trimmed, full, atol=1e-5)


@pytest.mark.model
def test_the_tiny_model_reports_the_path_it_really_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The tiny test model's image tower is a ResNet: int8 is for vision transformers,
    so asking for it gives fp32 (said, not silently quantized another way)."""
    spec = ModelSpec.parse(f"local-dir:{tiny_model_dir}")
    asked = ClipEncoder(spec, "cpu", "int8", cache_dir=tmp_path / "cache").load()
    reference = ClipEncoder(spec, "cpu", "fp32").load()
    assert asked.precision == "fp32"
    assert not (tmp_path / "cache").exists()  # nothing exported for a tower int8 skips
    make_library(tmp_path / "pics", per_class=1, seed=3)
    pictures = [reference.preprocess(Image.open(p).convert("RGB"))
                for p in sorted((tmp_path / "pics").rglob("*")) if p.is_file()]
    agreement = (asked.encode_images(pictures) * reference.encode_images(pictures)).sum(1)
    assert agreement.min() >= AGREEMENT
