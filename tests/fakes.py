"""Fast stand-ins for slow parts, for unit tests only (integration tests use open_clip)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings

# The four colours of tests/synthetic.py, as the fake model "sees" them.
FAKE_COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 220), "yellow": (235, 210, 40),
}


class FakeEncoder:
    """Embeds a picture by its most saturated colour; a text by the colour word in it.

    Deterministic, instant, and good enough that "red" finds red pictures, so
    indexer and search logic can be tested without torch.
    """

    model_id = "fake:colour-v1"
    dim = 8
    input_size = 32
    logit_scale = 100.0

    def __init__(self) -> None:
        self.images_encoded = 0
        self.batches: list[int] = []
        self.loads = 0
        self._lock = threading.Lock()

    def load(self) -> FakeEncoder:
        with self._lock:
            self.loads += 1
        return self

    def preprocess(self, image: Image.Image) -> np.ndarray:
        small = np.asarray(image.convert("RGB").resize((16, 16)), dtype=np.float32).reshape(-1, 3)
        saturation = small.max(axis=1) - small.min(axis=1)
        return small[int(saturation.argmax())]

    def _vector(self, rgb: np.ndarray) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for i, colour in enumerate(FAKE_COLOURS.values()):
            vector[i] = np.exp(-np.linalg.norm(rgb - np.array(colour)) / 60.0)
        vector[4:7] = rgb / 2550.0  # keeps different pictures apart
        vector[7] = 0.01
        return vector / np.linalg.norm(vector)

    def encode_images(self, inputs: Sequence[Any]) -> np.ndarray:
        self.images_encoded += len(inputs)
        self.batches.append(len(inputs))
        return np.stack([self._vector(np.asarray(x)) for x in inputs])

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        vectors = []
        for text in texts:
            words = text.lower().split()
            rgb = next((np.array(c, np.float32) for n, c in FAKE_COLOURS.items() if n in words),
                       np.array((128, 128, 128), np.float32))
            vectors.append(self._vector(rgb))
        return np.stack(vectors)


class CountingEncoder:
    """Wraps a real encoder and counts the pictures it encodes (exactly-once checks)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.images_encoded = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_images(self, inputs: Sequence[Any]) -> np.ndarray:
        with self._lock:
            self.images_encoded += len(inputs)
        return self.inner.encode_images(inputs)


def fake_indexed_library(home: Path, photos: Path) -> Library:
    """A library at ``home`` with ``photos`` added and indexed by the FakeEncoder (no
    model; no label sets): for tests about what is done with indexed photos."""
    library = Library(app_paths({"PHOTOCLIP_HOME": str(home)}),
                      Settings(batch_size=8, decode_workers=1, label_sets=[]), encoder=FakeEncoder())
    library.add_folder(photos)
    library.index_photos()
    return library
