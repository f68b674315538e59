"""The CLI's encoder for `photoclip search`: text queries from the query pack, torch
only when something else is needed.

``PackFirstEncoder`` answers ``encode_texts`` (and ``model_id``, ``dim``,
``logit_scale``) from the model's query pack (``query_pack``) where the full encoder,
with these settings, would run its text tower on the same ONNX Runtime int8 tower:
then the vectors are the same bits, and the ranking the same. Anything else (an
image query not in the library, no pack, settings under which torch would run
another text tower) builds and loads the real ``ClipEncoder``.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .encoder import ClipEncoder, ModelSpec
from .precision import onnx_runtime_installed, resolve_precision
from .query_pack import PackedTextEncoder, PackFiles, PackUnusable

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


def pack_first_encoder(model: str, device: str, precision: str, cache_dir: Path) -> PackFirstEncoder:
    """What `photoclip search` encodes with (the arguments of ``ClipEncoder``)."""
    return PackFirstEncoder(ClipEncoder(ModelSpec.parse(model), device, precision,
                                        cache_dir=cache_dir), cache_dir)


def torch_would_use_the_pack_tower(device: str, precision: str) -> bool:
    """Whether ``ClipEncoder`` with these settings runs queries on the ONNX Runtime int8
    text tower (the one a pack is made from), told without importing torch. "auto"
    picks a GPU where torch finds one: any sign of one, and the pack is not used."""
    if device not in ("cpu", "auto") or (device == "auto" and _may_have_gpu()):
        return False
    return onnx_runtime_installed() and resolve_precision(precision, "cpu") == "int8-onnx"


def _may_have_gpu() -> bool:
    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # Apple MPS
    if sys.platform.startswith("linux"):
        return any(Path(p).exists() for p in ("/proc/driver/nvidia/version", "/dev/nvidia0",
                                               "/dev/kfd"))  # CUDA, ROCm
    return Path("C:/Windows/System32/nvcuda.dll").exists() if sys.platform == "win32" else True


class PackFirstEncoder:
    """An ``Encoder``: queries from the pack while it serves, the rest from ``clip``."""

    def __init__(self, clip: ClipEncoder, cache_dir: Path) -> None:
        self.clip = clip
        self.model_id = clip.model_id
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._pack: PackedTextEncoder | None = None
        self._opened = not torch_would_use_the_pack_tower(clip.requested_device,
                                                          clip.requested_precision)

    @property
    def answered_from_pack(self) -> bool:
        """Whether the pack serves queries (opened on the first one)."""
        return self._packed() is not None

    def _packed(self) -> PackedTextEncoder | None:
        with self._lock:
            if not self._opened:
                self._opened = True
                try:
                    self._pack = PackedTextEncoder.open(self._cache_dir, self.model_id)
                except PackUnusable as exc:
                    self._set_aside(exc)
            return self._pack

    def _set_aside(self, exc: PackUnusable) -> None:
        """No pack from now on; a damaged one is deleted (the model load rewrites it)."""
        self._pack = None
        if exc.damaged:
            log.warning("the query pack of %s is damaged (%s); it is made again", self.model_id, exc)
            PackFiles.of(self._cache_dir, self.model_id).remove()
        else:
            log.debug("query pack not used: %s", exc)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        pack = None if self._clip_loaded() else self._packed()
        if pack is not None:
            try:
                return pack.encode_text(texts)
            except PackUnusable as exc:
                with self._lock:
                    self._set_aside(exc)
        return self.clip.encode_texts(texts)

    def _clip_loaded(self) -> bool:
        return self.clip.device != "unloaded"

    @property
    def dim(self) -> int:
        pack = None if self._clip_loaded() else self._packed()
        return pack.dim if pack is not None else self.clip.load().dim

    @property
    def logit_scale(self) -> float:
        pack = None if self._clip_loaded() else self._packed()
        return pack.logit_scale if pack is not None else self.clip.load().logit_scale

    @property
    def input_size(self) -> int:
        return self.clip.load().input_size

    # What the Library records after indexing: the model's, once it is loaded.
    @property
    def device(self) -> str:
        return self.clip.device

    @property
    def precision(self) -> str:
        return self.clip.precision

    @property
    def text_precision(self) -> str:
        return self.clip.text_precision

    def preprocess(self, image: Image.Image) -> Any:
        return self.clip.preprocess(image)

    def encode_images(self, inputs: Sequence[Any]) -> np.ndarray:
        return self.clip.encode_images(inputs)

    def load(self) -> PackFirstEncoder:
        self.clip.load()
        return self
