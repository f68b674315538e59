"""The image tower on ONNX Runtime int8: the fastest CPU path (``precision`` "int8-onnx").

Once per model (and per onnxruntime/torch version) the fp32 open_clip vision
transformer is exported to ONNX, quantized dynamically to int8 (int8 weights, per
output channel; activations quantized per batch; see ``onnx_export``) and kept in
the app's cache (ViT-B-32: ~20 s, 85 MB); later loads only open it. Before its
first use on a CPU, its vectors are checked against the fp32 torch tower on
generated pictures (cosine >= ``AGREEMENT`` each); a model that fails is
remembered, so the next load falls back at once instead of exporting again.
Every failure (onnxruntime missing, an export or
quantization error, disagreement) raises ``OnnxUnavailable`` with the reason, and
the caller falls back to the PyTorch int8 path.

Imports torch, onnx and onnxruntime: loaded with the model only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import OnnxUnavailable
from .onnx_cache import cache_entry, import_runtime, load_checked
from .onnx_export import export_visual, quantize_int8
from .torch_helpers import is_vision_transformer, return_freed_memory

log = logging.getLogger(__name__)

AGREEMENT = 0.999  # cosine with the fp32 tower, per generated picture
FORMAT = 1  # bump when the export or the quantization changes: old caches are rebuilt
MODEL_FILE = "visual-int8.onnx"
SAMPLES = 32  # generated pictures in the agreement check: one batch, as the indexer encodes
# Intra-op threads for a session; 0: one per core. The decode workers share those
# cores, yet one thread fewer indexed slower (2 cores: 1.13x fp32 end to end with 1
# thread, 1.42x with 2; bench_precision --ort-threads).
THREADS = 0


@dataclass(frozen=True)
class OnnxTarget:
    """Where the exported tower is cached and what identifies it."""

    cache_dir: Path  # the app's model cache; the tower goes under ``onnx/``
    model_id: str  # the encoder's model id (names the cache entry)
    preprocess: Callable[[Any], Any]  # PIL image -> model input (for the agreement check)


class OnnxVisual(nn.Module):
    """Stands in for open_clip's image tower: the same call, run by an ONNX Runtime
    session (thread-safe). Holds no torch weights."""

    def __init__(self, session: Any, image_size: Any, path: Path) -> None:
        super().__init__()
        self.session = session
        self.image_size = image_size
        self.path = path
        self._input = session.get_inputs()[0].name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {self._input: pixels})[0])


def onnx_int8_visual(visual: nn.Module, target: OnnxTarget, threads: int | None = None) -> OnnxVisual:
    """``visual`` (an fp32 open_clip vision transformer) as a checked ONNX Runtime int8
    tower, built or reused from the cache. Raises OnnxUnavailable, with ``visual``
    untouched, when it cannot be used; on success ``visual``'s weights are released
    (it is left on the meta device), so the torch tower costs no memory from then on."""
    if not is_vision_transformer(visual):
        raise OnnxUnavailable(f"{type(visual).__name__} is not a plain open_clip vision transformer")
    onnxruntime = import_runtime()
    entry = cache_entry(target.cache_dir, target.model_id, "visual", visual, MODEL_FILE, FORMAT,
                        onnxruntime.__version__)

    session = load_checked(
        entry, lambda path: export_visual(visual, path), quantize_int8,
        lambda: _agreement_probe(visual, target), AGREEMENT, f"{SAMPLES} generated pictures",
        THREADS if threads is None else threads, release=lambda: _release(visual))
    return OnnxVisual(session, visual.image_size, entry.model_path)


def _release(visual: nn.Module) -> None:
    visual.to("meta")
    return_freed_memory()


def _agreement_probe(visual: nn.Module, target: OnnxTarget,
                     ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The fp32 tower's features for the generated pictures, and the session's inputs."""
    pixels = torch.stack([target.preprocess(p) for p in generated_pictures(SAMPLES)])
    with torch.inference_mode():
        expected = visual(pixels).float().numpy()
    return expected, {"pixels": pixels.numpy()}  # the input's name in export_visual


def generated_pictures(count: int, seed: int = 7) -> list[Any]:
    """Varied, photo-like RGB pictures (no files needed): smooth colour fields,
    gradients, hard-edged shapes, fine texture and noise, in several sizes and
    aspect ratios, so the check sees the ranges real photos put through the model."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    pictures = []
    for i in range(count):
        width, height = int(rng.integers(160, 480)), int(rng.integers(160, 480))
        coarse = rng.random((int(rng.integers(2, 9)), int(rng.integers(2, 9)), 3)) * 255
        field = Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.BICUBIC)
        picture = np.asarray(field, dtype=np.float32)
        ramp = np.linspace(0, rng.uniform(-80, 80), width, dtype=np.float32)
        picture = picture + ramp[None, :, None] + rng.normal(0, 4 + 6 * (i % 3), picture.shape)
        image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, 6))):
            box = sorted(rng.integers(0, width, 2).tolist()) + sorted(rng.integers(0, height, 2).tolist())
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((box[0], box[2], box[1], box[3]), fill=colour)
        pictures.append(image)
    return pictures
