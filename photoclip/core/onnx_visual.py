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

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

from .fast_layers import _is_vision_transformer, _return_freed_memory
from .onnx_export import export_visual, quantize_int8
from .precision import INT8_FLAGS, cpu_flags

log = logging.getLogger(__name__)

AGREEMENT = 0.999  # cosine with the fp32 tower, per generated picture
FORMAT = 1  # bump when the export or the quantization changes: old caches are rebuilt
MODEL_FILE = "visual-int8.onnx"
MANIFEST = "manifest.json"
SAMPLES = 32  # generated pictures in the agreement check: one batch, as the indexer encodes
# Intra-op threads for a session; 0: one per core. The decode workers share those
# cores, yet one thread fewer indexed slower (2 cores: 1.13x fp32 end to end with 1
# thread, 1.42x with 2; bench_precision --ort-threads).
THREADS = 0
# Session settings (ONNX Runtime's config keys). Spinning threads hold the cores the
# decode workers need between batches: with spinning on, 1.16x fp32 end to end
# instead of 1.42x (measured as above). Dynamic block sizing changed nothing.
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}


class OnnxUnavailable(Exception):
    """The ONNX Runtime int8 tower cannot be used here; the message says why."""


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
    if not _is_vision_transformer(visual):
        raise OnnxUnavailable(f"{type(visual).__name__} is not a plain open_clip vision transformer")
    try:
        import onnx  # noqa: F401  (the exporter and quantizer need it)
        import onnxruntime
    except ImportError as exc:
        raise OnnxUnavailable(f"the fast extra is not installed ({exc})") from None
    entry = _entry(target, visual, onnxruntime.__version__)
    signature = cpu_signature(onnxruntime.__version__)
    manifest = _read_manifest(entry)
    failed = manifest.get("failed", {}).get(signature)
    if failed:
        raise OnnxUnavailable(f"{failed} (remembered in {entry})")
    if not _intact(entry, manifest):
        manifest = _build(visual, entry, target.model_id)
    checked = signature in manifest.get("verified", {})
    if checked:  # the torch tower is not needed again: free it before ORT allocates
        _release(visual)
    try:
        session = _session(entry / MODEL_FILE, THREADS if threads is None else threads, onnxruntime)
    except Exception as exc:  # not expected of a file that matches its digest
        shutil.rmtree(entry, ignore_errors=True)
        reason = f"ONNX Runtime could not open {entry / MODEL_FILE} ({_first_line(exc)}); deleted"
        if checked:  # too late to fall back in this process: the torch tower is gone
            from .encoder import ModelUnavailable

            raise ModelUnavailable(f"{reason}, it is rebuilt on the next load") from exc
        raise OnnxUnavailable(reason) from exc
    if not checked:
        _check_agreement(visual, session, target, entry, manifest, signature)
        _release(visual)
    return OnnxVisual(session, visual.image_size, entry / MODEL_FILE)


def _release(visual: nn.Module) -> None:
    visual.to("meta")
    _return_freed_memory()


def cpu_signature(ort_version: str) -> str:
    """What the int8 kernels ORT picks depend on: a check passed on one CPU kind
    says nothing about another (without VNNI, int8 products can saturate)."""
    found = sorted(f for f in cpu_flags() if f in INT8_FLAGS or f.startswith("avx512"))
    return f"ort {ort_version}; " + (" ".join(found) or "no avx512/vnni")


# -- the cache -----------------------------------------------------------------------
def _entry(target: OnnxTarget, visual: nn.Module, ort_version: str) -> Path:
    """One folder per model id and weights: the key changes with anything that
    changes the exported file (weights, export format, torch/onnx/ORT versions)."""
    import onnx

    key = hashlib.blake2b(digest_size=8)
    for part in (str(FORMAT), target.model_id, weights_digest(visual), torch.__version__,
                 onnx.__version__, ort_version):
        key.update(part.encode() + b"\0")
    return target.cache_dir / "onnx" / f"{_slug(target.model_id)}-{key.hexdigest()}"


def weights_digest(module: nn.Module, samples: int = 4096) -> str:
    """Names, shapes and a strided sample of every tensor: cheap (runs on every load)
    and enough to tell weights apart (random inits included)."""
    digest = hashlib.blake2b(digest_size=8)
    for name, tensor in module.state_dict().items():
        flat = tensor.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // samples)].to("cpu", torch.float32)
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(sample.numpy().tobytes())
    return digest.hexdigest()


def _slug(model_id: str) -> str:
    """A readable folder name: the model's last path part ("random:ViT-B-32" ->
    "random_ViT-B-32", "local-dir:/models/my-clip" -> "my-clip")."""
    name = model_id.split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[-48:] or "model"


def _intact(entry: Path, manifest: dict[str, Any]) -> bool:
    path = entry / MODEL_FILE
    return path.is_file() and manifest.get("digest") == _file_digest(path)


def _file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(entry: Path) -> dict[str, Any]:
    try:
        return json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(entry: Path, manifest: dict[str, Any]) -> None:
    """Atomic; a failure only costs a second check on the next load (another
    process may have replaced the entry meanwhile)."""
    partial = entry / f"{MANIFEST}.{os.getpid()}.part"
    try:
        partial.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(partial, entry / MANIFEST)
    except OSError as exc:
        log.warning("could not record the ONNX model's state in %s: %s", entry, exc)


def _build(visual: nn.Module, entry: Path, model_id: str) -> dict[str, Any]:
    """Export + quantize into a scratch folder beside ``entry``, then move it into
    place (a crash leaves no half-written entry). Older entries of the same model
    (other weights or versions) are removed: one tower per model on disk."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        started = time.perf_counter()
        export_visual(visual, scratch / "visual-fp32.onnx")
        exported = time.perf_counter()
        quantize_int8(scratch / "visual-fp32.onnx", scratch / MODEL_FILE)
        (scratch / "visual-fp32.onnx").unlink()
        manifest = {"model_id": model_id, "format": FORMAT, "export_s": round(exported - started, 1),
                    "quantize_s": round(time.perf_counter() - exported, 1),
                    "bytes": (scratch / MODEL_FILE).stat().st_size,
                    "digest": _file_digest(scratch / MODEL_FILE), "verified": {}}
        _write_manifest(scratch, manifest)
        _remove_older_entries(entry, model_id)
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(scratch, entry)
    except OnnxUnavailable:
        raise
    except Exception as exc:
        log.debug("ONNX export failed", exc_info=True)
        raise OnnxUnavailable(f"export/quantization failed ({_first_line(exc)})") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _return_freed_memory()
    log.info("exported %s's image tower to ONNX int8 in %.0f s (%d MB, cached in %s)", model_id,
             manifest["export_s"] + manifest["quantize_s"], manifest["bytes"] >> 20, entry)
    return manifest


def _remove_older_entries(entry: Path, model_id: str) -> None:
    prefix = entry.name.rsplit("-", 1)[0] + "-"
    for other in entry.parent.glob(f"{prefix}*"):
        if other != entry and _read_manifest(other).get("model_id") == model_id:
            shutil.rmtree(other, ignore_errors=True)


# -- the session ----------------------------------------------------------------------------
def _session(path: Path, threads: int, onnxruntime: Any) -> Any:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# -- the agreement check -------------------------------------------------------------------
def _check_agreement(visual: nn.Module, session: Any, target: OnnxTarget, entry: Path,
                     manifest: dict[str, Any], signature: str) -> None:
    pixels = torch.stack([target.preprocess(p) for p in generated_pictures(SAMPLES)])
    with torch.inference_mode():
        expected = visual(pixels).float().numpy()
    try:
        got = session.run(None, {session.get_inputs()[0].name: pixels.numpy()})[0]
    except Exception as exc:  # an operator ORT cannot run for this architecture
        _remember_failure(entry, manifest, signature,
                          f"ONNX Runtime failed to run the int8 model ({_first_line(exc)})")
    cosine = float(_cosines(expected, got).min())
    if not cosine >= AGREEMENT:  # NaN fails too
        _remember_failure(entry, manifest, signature, f"ONNX Runtime int8 disagrees with fp32 "
                          f"(cosine {cosine:.5f} < {AGREEMENT} on generated pictures)")
    manifest.setdefault("verified", {})[signature] = round(cosine, 6)
    _write_manifest(entry, manifest)
    log.info("ONNX Runtime int8 agrees with fp32: cosine >= %.5f on %d generated pictures",
             cosine, SAMPLES)


def _remember_failure(entry: Path, manifest: dict[str, Any], signature: str, reason: str) -> NoReturn:
    """Never used on this kind of CPU: later loads fall back without trying again."""
    manifest.setdefault("failed", {})[signature] = f"{reason}; {signature}"
    _write_manifest(entry, manifest)
    raise OnnxUnavailable(manifest["failed"][signature])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
