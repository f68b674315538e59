"""Decoded pixels of any mode to a small 8-bit RGB image, tile by tile.

Photos come as CMYK scans, 16-bit PNG exports, float TIFFs, transparent screenshots and
palette GIFs; the model wants 8-bit RGB at ~224 px.  Converting the whole image first
would copy it several times (alpha compositing, 16-bit and float scaling), so each
conversion runs on one tile at a time and is box-reduced as it goes: the full-size image
exists once.  The tile geometry is public because the decode's memory estimate
(:mod:`.decode_estimate`) counts the scratch a tile needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_KEYED_MODES = frozenset({"1", "L", "P", "RGB"})  # may carry a "transparency" colour key
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
# Transparent pixels are shown over white, as image viewers and browsers show them, and
# encoded so: the vector is of the picture the user sees.
_BACKGROUND = (255, 255, 255)
_BAND_PIXELS = 1 << 18  # conversions run on tiles this big: a few MB of scratch each


def reduce_factor(size: tuple[int, int], min_side: int) -> int:
    """The integer box-reduction that lands the short side in [min_side, 2*min_side).

    Box averaging is anti-aliased and very fast; the final bicubic resize to the exact
    model size is left to the model's preprocessing, as for DCT-scaled JPEGs.
    """
    return max(1, min(size) // min_side)


def is_plain_rgb(img: Image.Image) -> bool:
    """RGB with no colour key: nothing to convert, and no conversion scratch needed."""
    return img.mode == "RGB" and "transparency" not in img.info


def tile_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """(columns, rows) of a conversion tile: whole rows where they fit in _BAND_PIXELS,
    else narrower; always whole reduction blocks, so at least factor x factor."""
    width, height = size
    block_rows = _BAND_PIXELS // max(1, width * factor)
    if block_rows >= 1:
        return width, min(height, block_rows * factor)
    block_cols = max(1, _BAND_PIXELS // (factor * factor))
    return min(width, block_cols * factor), min(height, factor)


def convert_reduced(img: Image.Image, min_side: int) -> Image.Image:
    """``_to_rgb8(img)`` box-reduced by ``reduce_factor``, tile by tile, so no conversion
    copies the full image.

    Tiles are whole multiples of the reduction factor, so the result is exactly that of
    converting the whole image and then reducing it.
    """
    factor = reduce_factor(img.size, min_side)
    if is_plain_rgb(img):  # nothing to convert: a plain Image, not the decoder object
        return img.reduce(factor) if factor > 1 else img.copy()
    value_range = _sample_range(img) if img.mode in ("I", "F") else None
    width, height = img.size
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for box in _tiles(img.size, factor):
        part = _to_rgb8(img.crop(box), value_range)
        out.paste(part.reduce(factor) if factor > 1 else part, (box[0] // factor, box[1] // factor))
    return out


def _tiles(size: tuple[int, int], factor: int) -> Iterator[tuple[int, int, int, int]]:
    width, height = size
    cols, rows = tile_size(size, factor)
    for top in range(0, height, rows):
        for left in range(0, width, cols):
            yield left, top, min(width, left + cols), min(height, top + rows)


def _sample_range(img: Image.Image) -> tuple[float, float]:
    """(min, max) of an I or F image, tile by tile, NaN and infinities read as 0."""
    low, high = float("inf"), float("-inf")
    for box in _tiles(img.size, 1):
        arr = _finite(np.asarray(img.crop(box)))
        low, high = min(low, float(arr.min())), max(high, float(arr.max()))
    return low, high


def _finite(arr: np.ndarray) -> np.ndarray:
    return np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _to_rgb8(img: Image.Image, value_range: tuple[float, float] | None = None) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB without clipping or black transparency.

    ``value_range``: the (min, max) of the whole image when ``img`` is one tile of it.
    """
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        return _scale_to_8bit(img, value_range).convert("RGB")
    if mode in _ALPHA_MODES or (mode in _KEYED_MODES and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return img
    return img.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV, RGBX


def _scale_to_8bit(img: Image.Image, value_range: tuple[float, float] | None = None) -> Image.Image:
    """16-bit -> 8-bit by /257 (PIL's convert would clip to white); floats by their range."""
    arr = np.asarray(img)
    if img.mode in _SIXTEEN_BIT_MODES:
        out = (arr.astype(np.uint32) + 128) // 257
    else:
        low, high = value_range if value_range is not None else _sample_range(img)
        if img.mode == "I" and _fits_uint16(low, high, arr.size):
            out = (arr.astype(np.uint32) + 128) // 257
        else:
            span = high - low if high > low else 1.0
            out = np.rint((_finite(arr) - low) * (255.0 / span))
    return Image.fromarray(np.ascontiguousarray(out, dtype=np.uint8))


def _fits_uint16(low: float, high: float, size: int) -> bool:
    """Mode "I" usually holds 16-bit samples (PNG/TIFF); only then is /257 the right scale."""
    return size == 0 or (low >= 0 and high <= 0xFFFF)
