"""Fast CPU paths: chosen from the CPU, and they agree with fp32 (the answers don't change)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from PIL import Image

from photoclip.core import precision
from photoclip.core.encoder import ClipEncoder, ModelSpec
from photoclip.core.fast_layers import (
    LinearAttention,
    PatchEmbedding,
    apply_precision,
    encode_text_trimmed,
)
from photoclip.core.precision import resolve_precision
from tests.synthetic import make_library

AGREEMENT = 0.999  # cosine with fp32, per image: the bar every fast path must clear


@pytest.mark.parametrize(("flags", "expected"), [
    ({"avx2", "avx512f", "avx512_vnni"}, "int8"),
    ({"avx2", "amx_int8", "amx_bf16", "avx512_bf16"}, "int8"),
    ({"avx2", "avx512_bf16"}, "bf16"),  # native bf16 without int8 dot products
    ({"avx2", "avx512f"}, "fp32"),  # neither: bf16 would be emulated, 5x slower
    (set(), "fp32"),
])
def test_auto_picks_what_the_cpu_runs_natively(monkeypatch: pytest.MonkeyPatch, flags: set[str],
                                               expected: str) -> None:
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(precision.platform, "machine", lambda: "x86_64")
    assert resolve_precision("auto", "cpu") == expected


def test_a_forced_precision_is_kept_and_gpus_use_autocast() -> None:
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("int8", "cuda") == "fp16"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp8", "cpu")


def _small_vit() -> CLIP:
    torch.manual_seed(0)
    return CLIP(64, CLIPVisionCfg(layers=3, width=192, patch_size=8, image_size=64, head_width=32),
                CLIPTextCfg(context_length=16, width=64, heads=2, layers=1)).eval().requires_grad_(False)


def _pictures(tmp_path: Path, size: int) -> torch.Tensor:
    """Generated pictures the model never saw, normalised as CLIP's preprocessing does."""
    make_library(tmp_path / "pics", per_class=2, seed=21, formats=("PNG", "JPEG"))
    mean = torch.tensor([0.481, 0.458, 0.408]).view(3, 1, 1)
    std = torch.tensor([0.269, 0.261, 0.276]).view(3, 1, 1)
    tensors = []
    for path in sorted(p for p in (tmp_path / "pics").rglob("*") if p.is_file()):
        rgb = Image.open(path).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
        tensors.append((torch.from_numpy(np.array(rgb)).permute(2, 0, 1) / 255 - mean) / std)
    return torch.stack(tensors)


def _cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=-1)


def test_int8_vision_transformer_agrees_with_fp32_on_every_picture(tmp_path: Path) -> None:
    reference = _small_vit()
    fast = copy.deepcopy(reference)
    fast.visual, used = apply_precision(fast.visual, "int8")
    assert used == "int8"
    # Every matrix product reached: no float Linear left in the blocks, the patch
    # embedding is a (quantized) linear layer too.
    floats = [n for n, m in fast.visual.transformer.named_modules() if type(m) is torch.nn.Linear]
    assert floats == []
    assert isinstance(fast.visual.conv1, PatchEmbedding)
    pictures = _pictures(tmp_path, 64)
    with torch.inference_mode():
        agreement = _cosines(reference.encode_image(pictures), fast.encode_image(pictures))
    assert len(agreement) == 24 and agreement.min() >= AGREEMENT, agreement.min()


def test_bf16_agrees_with_fp32(tmp_path: Path) -> None:
    reference = _small_vit()
    fast = copy.deepcopy(reference)
    fast.visual, used = apply_precision(fast.visual, "bf16")
    pictures = _pictures(tmp_path, 64)
    with torch.inference_mode():
        agreement = _cosines(reference.encode_image(pictures),
                             fast.encode_image(pictures.to(torch.bfloat16)))
    assert used == "bf16" and agreement.min() >= AGREEMENT, agreement.min()


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
    tokens = tokenizer(["a red circle", "a photo of a small blue square on grass", "x"])
    with torch.inference_mode():
        trimmed = encode_text_trimmed(model, tokens)
        full = model.encode_text(tokens)
    assert torch.allclose(trimmed, full, atol=1e-5)


@pytest.mark.model
def test_the_tiny_model_reports_the_path_it_really_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The tiny test model's image tower is a ResNet: int8 is for vision transformers,
    so asking for it gives fp32 (said, not silently quantized another way)."""
    spec = ModelSpec.parse(f"local-dir:{tiny_model_dir}")
    asked = ClipEncoder(spec, "cpu", "int8").load()
    reference = ClipEncoder(spec, "cpu", "fp32").load()
    assert asked.precision == "fp32"
    make_library(tmp_path / "pics", per_class=1, seed=3)
    pictures = [reference.preprocess(Image.open(p).convert("RGB"))
                for p in sorted((tmp_path / "pics").rglob("*")) if p.is_file()]
    agreement = (asked.encode_images(pictures) * reference.encode_images(pictures)).sum(1)
    assert agreement.min() >= AGREEMENT
