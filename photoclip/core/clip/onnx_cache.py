"""The on-disk cache of exported ONNX towers, shared by the image tower
(``onnx_visual``) and the text tower (``onnx_text``).

One folder per model, tower and weights under ``<models cache>/onnx/``, holding the
quantized model and a manifest: its digest (a damaged file is rebuilt), the CPU
kinds it was checked on and how well it agreed with fp32, and the kinds where it
failed (remembered, so a load falls back at once instead of exporting again).
Folders are built in a scratch folder and moved into place: a crash never leaves
half an entry.

Imports torch (weights digests); onnx and onnxruntime only where asked.
"""

from __future__ import annotations

import contextlib
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

from ..files.atomic import fsync_dir, fsync_file, write_text_atomically
from .errors import ModelRejected, ModelUnavailable, OnnxUnavailable
from .ort_session import SESSION_CONFIG, cpu_signature, open_session  # noqa: F401 (SESSION_CONFIG: bench_precision)
from .torch_helpers import return_freed_memory

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class _QuantizationFailed(Exception):
    pass


@dataclass(frozen=True)
class CacheEntry:
    """One exported tower: its folder, its model file and what it belongs to."""

    folder: Path
    file_name: str
    model_id: str
    tower: str  # "visual" or "text"

    @property
    def model_path(self) -> Path:
        return self.folder / self.file_name

    def manifest(self) -> dict[str, Any]:
        return _read_manifest(self.folder)

    def intact(self, manifest: dict[str, Any]) -> bool:
        return self.model_path.is_file() and manifest.get("digest") == _file_digest(self.model_path)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Atomic; a failure only costs a second check on the next load (another
        process may have replaced the entry meanwhile)."""
        try:  # fsynced: a manifest a crash left empty would cost a rebuild
            write_text_atomically(self.folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        except OSError as exc:
            log.warning("could not record the ONNX model's state in %s: %s", self.folder, exc)

    def remember_failure(self, manifest: dict[str, Any], signature: str, reason: str) -> NoReturn:
        """Never used on this kind of CPU: later loads fall back without trying again."""
        manifest.setdefault("failed", {})[signature] = f"{reason}; {signature}"
        with contextlib.suppress(OSError):  # not remembered then: write_manifest says so
            self.folder.mkdir(parents=True, exist_ok=True)  # a failed build has none
        self.write_manifest(manifest)
        raise ModelRejected(manifest["failed"][signature])

    def remember_agreement(self, manifest: dict[str, Any], signature: str, cosine: float) -> None:
        manifest.setdefault("verified", {})[signature] = round(cosine, 6)
        self.write_manifest(manifest)

    def build(self, export: Callable[[Path], None],
              quantize: Callable[[Path, Path], None]) -> dict[str, Any]:
        """``export(path)`` writes the fp32 tower, ``quantize(source, target)`` its int8
        model (in a scratch folder, moved into place when done). Older entries of the
        same model and tower (other weights or versions) are removed: one per model."""
        scratch = None
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)  # a full or read-only
            scratch = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}-",  # disk falls
                                            dir=self.folder.parent))  # back too
            started = time.perf_counter()
            fp32 = scratch / f"{self.tower}-fp32.onnx"
            try:
                export(fp32)
            except Exception as exc:
                log.debug("ONNX export failed", exc_info=True)
                raise OnnxUnavailable(f"export failed ({first_line(exc)})") from exc
            try:
                quantize(fp32, scratch / self.file_name)
            except (MemoryError, OSError):
                raise  # this machine's state, not the quantization's: tried again next time
            except Exception as exc:
                raise _QuantizationFailed(f"quantization failed ({first_line(exc)})") from exc
            fp32.unlink()
            fsync_file(scratch / self.file_name)  # on disk before its manifest says it is whole
            manifest = {"model_id": self.model_id, "tower": self.tower,
                        "build_s": round(time.perf_counter() - started, 1),
                        "bytes": (scratch / self.file_name).stat().st_size,
                        "digest": _file_digest(scratch / self.file_name), "verified": {}}
            CacheEntry(scratch, self.file_name, self.model_id, self.tower).write_manifest(manifest)
            self._remove_older_entries()
            shutil.rmtree(self.folder, ignore_errors=True)
            os.replace(scratch, self.folder)
            fsync_dir(self.folder.parent)
        except (OnnxUnavailable, _QuantizationFailed):
            raise
        except Exception as exc:  # memory, disk: tried again on the next load
            log.debug("building the ONNX model failed", exc_info=True)
            raise OnnxUnavailable(f"could not build the int8 model ({first_line(exc)})") from exc
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            return_freed_memory()
        log.info("exported %s's %s tower to ONNX int8 in %.0f s (%d MB, cached in %s)",
                 self.model_id, self.tower, manifest["build_s"], manifest["bytes"] >> 20,
                 self.folder)
        return manifest

    def _remove_older_entries(self) -> None:
        prefix = self.folder.name.rsplit("-", 1)[0] + "-"
        for other in self.folder.parent.glob(f"{prefix}*"):
            manifest = _read_manifest(other)
            if (other != self.folder and manifest.get("model_id") == self.model_id
                    and manifest.get("tower", "visual") == self.tower):
                shutil.rmtree(other, ignore_errors=True)


def import_runtime() -> Any:
    """onnxruntime, after checking that onnx (the exporter and quantizer) is there too."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise OnnxUnavailable(f"the fast extra is not installed ({exc})") from None
    return onnxruntime


def cache_entry(cache_dir: Path, model_id: str, tower: str, weights: nn.Module, file_name: str,
                version: int, ort_version: str) -> CacheEntry:
    """The entry for ``weights`` (the tower's modules): the key changes with anything
    that changes the exported file (weights, export format, torch/onnx/ORT versions)."""
    import onnx

    key = hashlib.blake2b(digest_size=8)
    for part in (str(version), model_id, weights_digest(weights), torch.__version__,
                 onnx.__version__, ort_version):
        key.update(part.encode() + b"\0")
    kind = "" if tower == "visual" else f"{tower}-"  # image towers kept their old names
    folder = cache_dir / "onnx" / f"{_slug(model_id)}-{kind}{key.hexdigest()}"
    return CacheEntry(folder, file_name, model_id, tower)


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


def _file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, or {} when it has none or one that cannot be trusted: then
    its model is rebuilt (a damaged manifest is the disk's fault, not the model's, so
    none of what it says, a remembered failure included, is believed)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ONNX cache manifest %s unreadable (%s); the model is rebuilt", path,
                    first_line(exc))
        return {}
    problem = _manifest_problem(manifest)
    if problem:
        log.warning("ONNX cache manifest %s damaged (%s); the model is rebuilt", path, problem)
        return {}
    return manifest


def _manifest_problem(manifest: Any) -> str | None:
    """What is wrong with a parsed manifest's types (the keys the loader relies on)."""
    if not isinstance(manifest, dict):
        return f"a {type(manifest).__name__}, not an object"
    for key in ("digest", "model_id", "tower"):
        if key in manifest and not isinstance(manifest[key], str):
            return f"{key} is not a string"
    for key, kind in (("failed", str), ("verified", float)):
        entries = manifest.get(key, {})
        if not isinstance(entries, dict) or not all(
                isinstance(k, str) and _is_kind(v, kind) for k, v in entries.items()):
            return f"{key} is not a table of {kind.__name__}s"
    return None


def _is_kind(value: Any, kind: type) -> bool:
    if kind is float:  # a cosine: a finite number (not a bool, not a string)
        return isinstance(value, int | float) and not isinstance(value, bool) and -1 <= value <= 1
    return isinstance(value, kind)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def load_checked(entry: CacheEntry, export: Callable[[Path], None],
                 quantize: Callable[[Path, Path], None],
                 probe: Callable[[], tuple[np.ndarray, dict[str, np.ndarray]]],
                 bar: float, probes: str, threads: int,
                 release: Callable[[], None] | None = None, spinning: bool = False) -> Any:
    """An ONNX Runtime session for ``entry``, built (``CacheEntry.build``) if missing or
    damaged, and checked once per CPU kind: ``probe()`` gives the fp32 torch tower's
    features on ``probes`` and the session inputs for them; every row the session
    returns must reach cosine ``bar`` with its fp32 row.
    ``release`` frees the torch tower once it is no longer needed (before the session
    allocates, when already checked). Raises OnnxUnavailable with the reason,
    ModelRejected where this entry's model is at fault; a failed quantization or check
    is remembered (a failure of the fp32 side is not: it raises as is)."""
    import onnxruntime

    signature = cpu_signature(onnxruntime.__version__)
    manifest = entry.manifest()
    failed = manifest.get("failed", {}).get(signature)
    if failed:
        raise ModelRejected(f"{failed} (remembered in {entry.folder})")
    if not entry.intact(manifest):
        try:
            manifest = entry.build(export, quantize)
        except _QuantizationFailed as exc:  # the same on every load: remembered
            entry.remember_failure({"model_id": entry.model_id, "tower": entry.tower},
                                   signature, str(exc))
    checked = signature in manifest.get("verified", {})
    if checked and release is not None:
        release()
    try:
        session = open_session(entry.model_path, threads, onnxruntime, spinning)
    except Exception as exc:  # not expected of a file that matches its digest
        shutil.rmtree(entry.folder, ignore_errors=True)
        reason = f"ONNX Runtime could not open {entry.model_path} ({first_line(exc)}); deleted"
        if checked and release is not None:  # too late to fall back: the torch tower is gone
            raise ModelUnavailable(f"{reason}, it is rebuilt on the next load") from exc
        raise ModelRejected(reason) from exc
    if not checked:
        expected, inputs = probe()  # outside the try: only ONNX Runtime's failures are its own
        try:
            cosine = float(cosines(expected, session.run(None, inputs)[0]).min())
        except Exception as exc:  # an operator ORT cannot run for this architecture
            entry.remember_failure(manifest, signature,
                                   f"ONNX Runtime failed to run the int8 model ({first_line(exc)})")
        if not cosine >= bar:  # NaN fails too
            entry.remember_failure(manifest, signature, f"ONNX Runtime int8 disagrees with "
                                   f"fp32 (cosine {cosine:.5f} < {bar} on {probes})")
        entry.remember_agreement(manifest, signature, cosine)
        log.info("ONNX Runtime int8 %s tower agrees with fp32: cosine >= %.5f on %s",
                 entry.tower, cosine, probes)
        if release is not None:
            release()
    return session
