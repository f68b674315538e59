"""Which precision the image encoder runs in: int8, bf16 or fp32, from what the CPU does.

Chosen from what the CPU does natively (``resolve_precision``):

* **int8** where the CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI,
  AMX), on one of two runtimes. With the optional ``fast`` extra installed
  (onnxruntime + onnx + onnx-ir), **int8-onnx**: the image tower exported to ONNX once per
  model, quantized dynamically to int8 and run by ONNX Runtime (``onnx_visual``),
  after a check that it agrees with fp32; any failure falls back to the next one.
  Otherwise **int8** (PyTorch): the image tower's matrix products run on int8
  weights with activations quantized per batch (dynamic quantization, fbgemm). To reach *every*
  matrix product, two of open_clip's layers are rewritten into equivalent linear
  layers first: attention's packed input projection (``nn.MultiheadAttention``
  keeps it as a bare tensor, which quantization skips) and the patch embedding
  (a stride-32 32x32 convolution, which is a matrix product over patches). On
  ViT-B-32 this agrees with fp32 at cosine >= 0.9996 per image
  (benchmarks/bench_precision.py) and runs ~1.6x faster. ONNX Runtime runs the same
  tower 2-3x faster than fp32: its kernels fuse activation quantization, the int8
  product and the rescale, and attention runs as one fused operator.
* **bf16** only where the CPU has native bf16 (AVX-512 BF16, AMX): weights cast
  to bf16. Without native support bf16 is emulated and ~5x *slower* than fp32
  (measured), so it is never picked there. Weights are cast rather than using
  ``torch.autocast``, which copies attention weights into large broadcasts and
  ran at 0.25x fp32.
* **fp32** otherwise, and whenever asked for.

* On a CUDA GPU: fp16 autocast, unless fp32 or bf16 is forced.

Queries: where the image tower runs int8 on ONNX Runtime, the text tower does too,
with 8-bit block-quantized weights (``onnx_text``: a query reads a quarter of fp32's
bytes); everywhere else it is fp32, run over the query's real tokens only
(``fast_layers.encode_text_trimmed``).
Torch-free at import (`photoclip status` and settings use it); the layers that do
the work are in ``fast_layers``.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
from functools import lru_cache

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")  # what a user may ask for
# An int8 runtime asked for by name (benchmarks, tests); not a setting.
INT8_RUNTIMES = ("int8-onnx", "int8-pytorch")
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty where unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def int8_engine() -> str | None:
    """The quantized-kernel engine for x86 (fbgemm), or None if this torch has none."""
    import torch

    engines = torch.backends.quantized.supported_engines
    for engine in ("x86", "fbgemm"):
        if engine in engines:
            return engine
    return None


@lru_cache(maxsize=1)
def onnx_runtime_installed() -> bool:
    """onnxruntime and onnx (the ``fast`` extra) are importable; found without importing."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def resolve_precision(requested: str, device: str) -> str:
    """What the image encoder will run in on ``device``: "fp32", "bf16", "int8" (PyTorch),
    "int8-onnx" (ONNX Runtime; the encoder falls back to "int8" if it cannot be used)
    or "fp16" (CUDA autocast)."""
    if requested not in PRECISIONS + INT8_RUNTIMES:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if device == "cuda":
        # Tensor cores: fp16 autocast unless the user forces fp32 or bf16 (int8 is a
        # CPU path: a GPU asked for int8 runs fp16).
        return requested if requested in ("fp32", "bf16") else "fp16"
    if device != "cpu":
        return "fp32"
    if requested == "auto":
        if platform.machine().lower() in ("x86_64", "amd64") and _has(INT8_FLAGS):
            if onnx_runtime_installed():
                return "int8-onnx"
            if int8_engine() is not None:
                return "int8"
        return "bf16" if _has(BF16_FLAGS) else "fp32"
    if requested == "int8" and onnx_runtime_installed():
        return "int8-onnx"
    if requested == "int8-onnx" or not requested.startswith("int8"):
        return requested
    if int8_engine() is None:
        log.warning("int8 was asked for, but this PyTorch has no x86 int8 kernels: fp32")
        return "fp32"
    return "int8"


def _has(names: tuple[str, ...]) -> bool:
    return any(name in cpu_flags() for name in names)


def describe_precision(precision: str, text_precision: str | None = None) -> str:
    """For `photoclip status`: which path encodes images (and, when known, queries),
    and why (no torch import)."""
    image = _describe_image_precision(precision)
    if text_precision == "int8-onnx":
        return f"{image}; int8 text encoder (ONNX Runtime)"
    if text_precision is not None:
        return f"{image}; {text_precision} text encoder"
    return image


def _describe_image_precision(precision: str) -> str:
    flags = cpu_flags()
    if precision in ("int8", "int8-onnx"):
        found = [f for f in INT8_FLAGS if f in flags]
        runtime = "ONNX Runtime" if precision == "int8-onnx" else "PyTorch"
        return f"int8 image encoder ({runtime}" + (f", {found[0]})" if found else ")")
    if precision == "bf16":
        return "bf16 image encoder" + ("" if _has(BF16_FLAGS)
                                       else " (emulated: no native bf16 on this CPU, slow)")
    if precision == "fp16":
        return "fp16 autocast on the GPU"
    return "fp32"
