"""CLIP behind a small ``Encoder`` protocol.

The indexer and search only see ``Encoder``: unit tests pass a fake, the app
and integration tests pass ``ClipEncoder`` (open_clip). torch and open_clip are
imported on first use, never at module import, so `photoclip --help` and
`photoclip status` stay instant.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .download import DownloadProgress, fetch, hub_files, hub_offline, hub_reachable
from .errors import DownloadFailed, ModelUnavailable
from .precision import describe_precision, resolve_precision

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

TEXT_CACHE_SIZE = 256
RANDOM_MODEL_SEED = 0  # random:ARCH models (benchmarks): the same weights in every process


class Encoder(Protocol):
    """What the core needs from an image/text embedding model."""

    model_id: str  # recorded with every vector: vectors of different models never mix
    dim: int
    input_size: int  # the short side (px) the model looks at; decoding reduces to it
    logit_scale: float  # cosine -> logit (CLIP's learned temperature; ~100), set by load()

    def preprocess(self, image: Image.Image) -> Any:
        """Turn a decoded RGB image into model input (runs in decode workers)."""

    def encode_images(self, inputs: Sequence[Any]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    def load(self) -> Encoder:
        """Load the weights now (idempotent); raises ModelUnavailable."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value.

    ``ARCH:PRETRAINED`` (open_clip pretrained tag or a checkpoint file),
    ``hf-hub:ORG/REPO``, ``local-dir:PATH``, or ``random:ARCH`` (random init,
    for speed benchmarks only: same compute, meaningless answers).
    """

    text: str
    open_clip_name: str
    pretrained: str | None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if text.startswith("local-dir:"):
            folder = Path(text[len("local-dir:") :]).expanduser().absolute()
            return cls(f"local-dir:{folder}", f"local-dir:{folder}", None)
        if text.startswith("hf-hub:"):
            return cls(text, text, None)
        if text.startswith("random:"):
            return cls(text, text[len("random:") :], None)
        arch, sep, pretrained = text.partition(":")
        if not sep or not arch or not pretrained:
            raise ValueError(
                f"invalid model {text!r}: use ARCH:WEIGHTS (e.g. ViT-B-32:laion2b_s34b_b79k), "
                "hf-hub:ORG/REPO or local-dir:PATH"
            )
        if pretrained.endswith((".safetensors", ".pt", ".pth", ".bin")):
            pretrained = str(Path(pretrained).expanduser().absolute())
            return cls(f"{arch}:{pretrained}", arch, pretrained)
        return cls(text, arch, pretrained)

    @property
    def model_id(self) -> str:
        """What vectors are tagged with. Local weights get a fingerprint of the file,
        so weights replaced in place never mix their vectors with the old ones'."""
        weights = self.local_weights
        if weights is None or not weights.is_file():
            return self.text
        return f"{self.text}#{weights_fingerprint(weights)}"

    @property
    def local_weights(self) -> Path | None:
        if self.open_clip_name.startswith("local-dir:"):
            return Path(self.open_clip_name[len("local-dir:") :]) / "open_clip_model.safetensors"
        if self.pretrained and Path(self.pretrained).is_absolute():
            return Path(self.pretrained)
        return None


def weights_fingerprint(path: Path, sample: int = 1 << 20) -> str:
    """Size plus the first and last MiB: cheap (status runs it) and survives copying."""
    digest = hashlib.blake2b(digest_size=6)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        digest.update(str(size).encode())
        digest.update(f.read(sample))
        f.seek(max(0, size - sample))
        digest.update(f.read(sample))
    return digest.hexdigest()


def pick_device(requested: str = "auto") -> str:
    """auto: CUDA, then Apple MPS, then CPU. An explicit device must exist."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("--device cuda was asked for, but no CUDA GPU is available")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ModelUnavailable("--device mps was asked for, but Apple MPS is not available")
    return requested


def _is_out_of_memory(exc: BaseException) -> bool:
    return "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError"


def encode_halving_on_oom(
    encode: Callable[[Sequence[Any]], np.ndarray], items: Sequence[Any]
) -> np.ndarray:
    """Encode ``items``; a batch that runs out of memory is halved and retried, never dropped."""
    try:
        return encode(items)
    except (RuntimeError, MemoryError) as exc:
        if not _is_out_of_memory(exc) or len(items) <= 1:
            raise
        log.warning("out of memory on a batch of %d; retrying in halves", len(items))
        _empty_device_cache()
        middle = len(items) // 2
        return np.concatenate(
            [encode_halving_on_oom(encode, items[:middle]),
             encode_halving_on_oom(encode, items[middle:])]
        )


def _empty_device_cache() -> None:
    torch = sys.modules.get("torch")  # only a loaded model can run out of memory
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _normalise(features: Any) -> np.ndarray:
    array = features.float().cpu().numpy()
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


class ClipEncoder:
    """An open_clip model, loaded once on first use (thread-safe)."""

    def __init__(self, spec: ModelSpec, device: str = "auto", precision: str = "auto",
                 cache_dir: Path | None = None) -> None:
        self.spec = spec
        self.cache_dir = cache_dir  # AppPaths.models_cache (ONNX int8 tower); None: app_paths()'s
        # Not part of the model id: every precision agrees with fp32 within the bar
        # (cosine >= 0.999), so switching it needs no re-encode.
        self.model_id = spec.model_id
        self.requested_device = device
        self.requested_precision = precision
        self.precision = "unloaded"  # the image tower's
        self.text_precision = "unloaded"
        self._fast_text: Callable[[Any], Any] | None = None  # ONNX Runtime text tower
        self._lock = threading.Lock()  # guards the one-time load
        self._loaded: tuple[Any, Any, Any] | None = None  # model, preprocess, tokenizer
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._text_lock = threading.Lock()  # the cache is shared by search threads
        self.device = "unloaded"
        # Called with (bytes so far, bytes in all) while weights download (the app's progress).
        self.on_download: DownloadProgress | None = None
        self.dim = 0
        self.input_size = 224
        # CLIP's learned temperature: cosines times this are the logits it was trained
        # on, so label probabilities mean the same for every model (about 100 for CLIP).
        self.logit_scale = 100.0

    def load(self) -> ClipEncoder:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
        return self

    def _load(self) -> tuple[Any, Any, Any]:
        from ..paths import app_paths
        from .fast_layers import apply_precision, fast_text_encoder
        from .onnx_visual import OnnxTarget

        device = pick_device(self.requested_device)
        model, preprocess, tokenizer = _create_open_clip(self.spec, self.on_download)
        model = model.to(device).eval()
        model.requires_grad_(False)  # autograd bookkeeping costs up to 40% on CPU
        onnx = OnnxTarget(self.cache_dir or app_paths().models_cache, self.model_id, preprocess)
        wanted = resolve_precision(self.requested_precision, device)
        model.visual, precision = apply_precision(model.visual, wanted, onnx)
        self._fast_text, self.text_precision = fast_text_encoder(model, tokenizer, precision, onnx)
        if wanted == "int8-onnx" and self.text_precision != "int8-onnx":
            from .query_pack import discard_query_pack  # queries are torch's here: the CLI's too

            discard_query_pack(onnx.cache_dir, self.model_id)
        self.device, self.precision = device, precision
        self.dim = int(model.text_projection.shape[1]) if _has_text_projection(model) else int(
            _probe_dim(model, tokenizer, device)
        )
        scale = getattr(model, "logit_scale", None)
        if scale is not None:
            self.logit_scale = float(scale.detach().float().exp().cpu())
        size = model.visual.image_size
        self.input_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        log.info("loaded %s on %s, %s, %s text encoder (dim %d)", self.model_id, device,
                 describe_precision(precision), self.text_precision, self.dim)
        return model, preprocess, tokenizer

    def _parts(self) -> tuple[Any, Any, Any]:
        return self._loaded or self.load()._loaded  # type: ignore[return-value]

    def preprocess(self, image: Image.Image) -> Any:
        return self._parts()[1](image)

    def encode_images(self, inputs: Sequence[Any]) -> np.ndarray:
        return encode_halving_on_oom(self._encode_image_batch, inputs)

    def _encode_image_batch(self, inputs: Sequence[Any]) -> np.ndarray:
        import torch

        model = self._parts()[0]
        batch = torch.stack(list(inputs))
        if self.device == "cuda":
            batch = batch.pin_memory().to("cuda", non_blocking=True)
        if self.precision == "bf16":
            batch = batch.to(torch.bfloat16)
        with torch.inference_mode(), self._autocast():
            return _normalise(model.encode_image(batch.to(self.device)))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts; repeated queries are served from a small LRU cache."""
        with self._text_lock:
            found = {t: self._text_cache[t] for t in texts if t in self._text_cache}
            for text in found:
                self._text_cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            vectors = encode_halving_on_oom(self._encode_text_batch, missing)
            found.update(zip(missing, vectors, strict=True))
            with self._text_lock:
                self._text_cache.update(zip(missing, vectors, strict=True))
                while len(self._text_cache) > TEXT_CACHE_SIZE:
                    self._text_cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def _encode_text_batch(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from .fast_layers import encode_text_trimmed

        model, _, tokenizer = self._parts()
        tokens = tokenizer(list(texts)).to(self.device)
        with torch.inference_mode(), self._autocast():
            if self._fast_text is not None:
                return _normalise(self._fast_text(tokens))
            return _normalise(encode_text_trimmed(model, tokens))

    def _autocast(self) -> Any:
        import torch

        if self.device == "cuda" and self.precision == "fp16":  # tensor cores; vectors
            return torch.autocast("cuda", dtype=torch.float16)  # are cast back to float32
        return contextlib.nullcontext()


def _has_text_projection(model: Any) -> bool:
    projection = getattr(model, "text_projection", None)
    return projection is not None and hasattr(projection, "shape") and len(projection.shape) == 2


def _probe_dim(model: Any, tokenizer: Any, device: str) -> int:
    import torch

    with torch.inference_mode():
        return int(model.encode_text(tokenizer(["probe"]).to(device)).shape[1])


def _create_open_clip(spec: ModelSpec, on_download: DownloadProgress | None = None,
                      ) -> tuple[Any, Any, Any]:
    """Build model, eval transform and tokenizer; turn every load failure into ModelUnavailable.

    Hub weights load from the Hugging Face cache first, without touching the
    network (PhotoClip runs locally; cached weights need no check online). Only
    when they are not cached, and the hub is reachable, are they downloaded,
    reported to ``on_download`` in bytes. Without network, huggingface_hub would
    retry for about a minute; the reachability check makes that fail at once.
    """
    if spec.open_clip_name.startswith("local-dir:"):
        _check_local_dir(Path(spec.open_clip_name[len("local-dir:") :]))
    if not _needs_hub(spec):
        return _build_or_explain(spec)
    try:
        with hub_offline():
            return _build(spec)
    except Exception as cached_exc:
        if not hub_reachable():
            raise ModelUnavailable(_unavailable_message(spec, cached_exc, offline=True)) from None
    log.warning("downloading %s into the Hugging Face cache (once)", spec.text)
    hub = hub_files(spec.open_clip_name, spec.pretrained)
    if hub is None:  # weights from a plain URL: open_clip fetches them itself
        return _build_or_explain(spec)
    try:
        fetch(*hub, on_download or (lambda done, total: None))
    except DownloadFailed as exc:
        raise ModelUnavailable(_unavailable_message(spec, exc)) from exc
    with hub_offline():  # now cached: open_clip must not fetch anything else
        return _build_or_explain(spec)


def _build(spec: ModelSpec) -> tuple[Any, Any, Any]:
    import open_clip
    import torch

    # random:ARCH is the same random model in every process (seeded, without touching
    # the caller's random state): benchmarks compare runs, and its exported ONNX
    # towers are cached like those of real weights instead of rebuilt on each start.
    seeded = spec.text.startswith("random:")
    with torch.random.fork_rng(devices=[], enabled=seeded):  # CPU generator only
        if seeded:
            torch.manual_seed(RANDOM_MODEL_SEED)
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.open_clip_name, pretrained=spec.pretrained, weights_only=True
        )
    return model, preprocess, open_clip.get_tokenizer(spec.open_clip_name)


def _build_or_explain(spec: ModelSpec) -> tuple[Any, Any, Any]:
    try:
        return _build(spec)
    except Exception as exc:
        raise ModelUnavailable(_unavailable_message(spec, exc)) from exc


def _needs_hub(spec: ModelSpec) -> bool:
    if spec.open_clip_name.startswith("hf-hub:"):
        return True
    return spec.pretrained is not None and not Path(spec.pretrained).is_file()


def _check_local_dir(folder: Path) -> None:
    for name in ("open_clip_config.json", "open_clip_model.safetensors"):
        if not (folder / name).is_file():
            raise ModelUnavailable(
                f"model local-dir:{folder} cannot be used: the folder has no {name} "
                "(it needs open_clip_config.json and open_clip_model.safetensors)"
            )


def _unavailable_message(spec: ModelSpec, exc: Exception, offline: bool = False) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if offline:
        reason = "no network, and its weights are not in the Hugging Face cache"
    return (
        f"model {spec.text} is not available ({reason[:160]}). Its weights are downloaded "
        "once into the Hugging Face cache when online; offline, give a local checkpoint "
        "with --model local-dir:PATH (a folder with open_clip_config.json and "
        "open_clip_model.safetensors) or --model ARCH:FILE.safetensors"
    )
