"""What a photo looks like, in two numbers kept for finding duplicates: a perceptual hash
and a sharpness measure, both taken from the decode indexing already makes (no second
decode of the file).

The hash is imagehash's pHash (the `dupes` extra): the DCT of a 32x32 grey copy, its
8x8 lowest frequencies against their median, 64 bits. Resizing, recompressing, format
changes, small brightness changes and stripped metadata leave it within a few bits;
a different picture of the same subject lands ~20-32 bits away. The decode is already
turned upright (EXIF orientation), so a copy rotated by its EXIF tag hashes alike.

Sharpness is the variance of the Laplacian of a grey copy at a fixed size (antialiased
down to SHARPNESS_SIDE, so decodes of different sizes and decoders compare fairly),
divided by the copy's own variance (so a brighter or contrastier copy of the same
picture is not "sharper"): a burst's blurred frame scores lower. A decode smaller than
SHARPNESS_SIDE gives no sharpness (None) rather than one that can't be compared.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
from PIL import Image

DUPES_MISSING = ('Finding near-identical photos needs the "dupes" extra: pip install "photoclip[dupes]" '
                 "(without it only exact copies and CLIP's similarity are used)")
SHARPNESS_SIDE = 192  # the grey copy's long side for the sharpness measure
HASH_BITS = 64


@dataclass(frozen=True)
class Looks:
    """``phash``: 64 bits as a signed integer (SQLite's), None without the extra;
    ``sharpness``: the Laplacian's variance over the picture's, None when too small."""

    phash: int | None
    sharpness: float | None


def hashing_available() -> bool:
    return importlib.util.find_spec("imagehash") is not None


def looks_of(image: Image.Image) -> Looks:
    """The hash and sharpness of a decoded (upright) picture. Cheap: ~1-2 ms."""
    grey = image.convert("L")
    return Looks(phash=_phash(grey), sharpness=_sharpness(grey))


def _phash(grey: Image.Image) -> int | None:
    if not hashing_available():
        return None
    import imagehash

    bits = imagehash.phash(grey).hash.flatten()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def _sharpness(grey: Image.Image) -> float | None:
    scale = SHARPNESS_SIDE / max(grey.size)
    if scale > 1:
        return None
    size = (max(3, round(grey.width * scale)), max(3, round(grey.height * scale)))
    pixels = np.asarray(grey.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    spread = float(pixels.var())
    if spread < 1e-3:
        return 0.0  # a flat picture: nothing to be sharp
    laplacian = (pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:]
                 - 4 * pixels[1:-1, 1:-1])
    return float(laplacian.var()) / spread


def hash_distance(a: int, b: int) -> int:
    """Bits that differ between two stored hashes (0 to 64)."""
    return ((a ^ b) & ((1 << HASH_BITS) - 1)).bit_count()
