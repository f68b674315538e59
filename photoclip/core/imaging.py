"""Safe, fast decoding of photos from real-world libraries for the CLIP indexer.

Photo libraries contain everything: CMYK scans, 16-bit PNG exports, transparent
screenshots, animated GIFs, truncated downloads, mislabelled PDFs, and the odd
decompression bomb.  :func:`decode_for_model` turns the raw bytes of one file
into a small 8-bit RGB image that the model preprocessing can consume, or raises
:class:`ImageRejected` with a short human reason.  It never raises anything else
for bad input, so one broken file can never stop an indexing run.

Speed matters as much as safety: the model only needs ~224 px, so JPEGs are
decoded with DCT scaling (``draft``) and everything else is box-reduced right
after loading, instead of keeping 12 MP buffers around.

This module is GUI-free (no Qt) and silent (no printing); it is safe to call
from many threads at once.
"""

from __future__ import annotations

import importlib.util
import io
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image, UnidentifiedImageError, features

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)

MAX_PIXELS: int = 200_000_000
"""Largest accepted image (width * height), checked from the header before decoding."""

# PIL warns above MAX_IMAGE_PIXELS and refuses above twice that.  Aligning it with our
# own limit means a legitimate 100 MP photo is not refused by PIL's lower default.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _allowed_formats() -> tuple[str, ...]:
    """Whitelist of PIL plugins; anything else (EPS/PS/PDF -> Ghostscript!) is never tried."""
    names = ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"]
    if importlib.util.find_spec("pillow_heif") is not None:
        names.append("HEIF")
    if features.check_module("avif"):  # Pillow's own AVIF plugin (HEIF container, AV1 codec)
        names.append("AVIF")
    return tuple(names)


ALLOWED_FORMATS: tuple[str, ...] = _allowed_formats()

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_KEYED_MODES = frozenset({"1", "L", "P", "RGB"})  # may carry a "transparency" colour key
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_GREY = (128, 128, 128)
_ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_EXIF_DATE_RE = re.compile(r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")

_heif_lock = threading.Lock()
_heif_enabled: bool | None = None
_plugins_lock = threading.Lock()
_open_formats: tuple[str, ...] | None = None
# warnings.catch_warnings swaps a process-global filter list; two threads doing it at once
# can leave a filter installed forever, so the (cheap, header-only) open is serialised.
_open_lock = threading.Lock()


class ImageRejected(Exception):
    """A file that cannot (or must not) be decoded; ``reason`` is short and human-readable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    """A model-ready image plus the facts about the original that the index stores."""

    image: Image.Image  # RGB, 8-bit, oriented, short side >= min_side where possible
    width: int  # full-size width after EXIF orientation
    height: int  # full-size height after EXIF orientation
    taken_at: float | None  # EXIF capture time as POSIX timestamp


def enable_heif() -> bool:
    """Register pillow-heif's opener once; False when pillow-heif is not usable.

    Called lazily so importing this module stays cheap and works without pillow-heif.
    """
    global _heif_enabled
    if _heif_enabled is not None:
        return _heif_enabled
    with _heif_lock:
        if _heif_enabled is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_enabled = True
            except Exception:  # ImportError, or a broken native library
                _heif_enabled = False
    return _heif_enabled


def _formats() -> tuple[str, ...]:
    """ALLOWED_FORMATS that are actually registered (Image.open raises KeyError otherwise)."""
    global _open_formats
    if _open_formats is None:
        enable_heif()
        with _plugins_lock:  # Image.init() imports plugins; do it once, not racing
            Image.init()
            _open_formats = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)
    return _open_formats


def decode_for_model(data: bytes, min_side: int = 224) -> DecodedImage:
    """Decode ``data`` (a whole file) into a small RGB image for the model.

    Raises ImageRejected for empty, truncated, corrupt, oversized or non-image input.
    """
    if min_side < 1:
        raise ValueError("min_side must be positive")
    if not data:
        raise ImageRejected("empty file")
    try:
        return _decode(data, min_side)
    except ImageRejected:
        raise
    except Exception as exc:  # PIL raises a zoo of types for bad data; none may escape
        raise ImageRejected(_reason_for(exc)) from exc


def _decode(data: bytes, min_side: int) -> DecodedImage:
    """Open, size-check, draft, load, convert, reduce and orient, in that order for speed."""
    with _open_image(data) as img:
        width, height = img.size
        _check_size(width, height)
        # JPEG: DCT scaling to the smallest 1/2, 1/4, 1/8 with both sides >= min_side (a
        # square request is rotation-proof).  HEIF: embedded thumbnail if big enough.
        img.draft("RGB", (min_side, min_side))
        img.load()
        exif = _read_exif(img)
        rgb = _reduce(_to_rgb8(img), min_side)
        if rgb is img:  # hand back a plain Image, not the decoder object and its state
            rgb = img.copy()
    orientation = _orientation(exif)
    for method in _TRANSPOSE.get(orientation, ()):
        rgb = rgb.transpose(method)
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, taken_at=_taken_at(exif))


def _open_image(data: bytes) -> Image.Image:
    """Identify by content among whitelisted formats, with bomb warnings made errors."""
    formats = _formats()
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "possible formats" chatter; we never print
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=formats)


def _check_size(width: int, height: int) -> None:
    """Refuse bombs from the header alone, even if PIL's own limit was disabled."""
    if width <= 0 or height <= 0:
        raise ImageRejected("image has no pixels")
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"image too large: {width}x{height} pixels (limit {MAX_PIXELS // 1_000_000} MP)")


def _reason_for(exc: BaseException) -> str:
    """Map a decoder exception to a short reason a user can act on."""
    limit = f"(limit {MAX_PIXELS // 1_000_000} MP)"
    text = str(exc)
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        match = re.search(r"(\d+) pixels", text)
        size = f"{int(match.group(1)) / 1e6:.0f} MP" if match else "header size"
        return f"image too large: {size} {limit}"
    if isinstance(exc, UnidentifiedImageError):
        return "not a supported image format"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode image"
    lowered = text.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "end of file" in lowered:
        return "truncated image data"
    if isinstance(exc, (OSError, ValueError, SyntaxError, struct.error)):
        detail = text.strip().splitlines()[0][:80] if text.strip() else type(exc).__name__
        return f"corrupt image data ({detail})"
    return f"corrupt image data ({type(exc).__name__})"


def _to_rgb8(img: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB without clipping or black transparency."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        return _scale_to_8bit(img).convert("RGB")
    if mode in _ALPHA_MODES or (mode in _KEYED_MODES and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_GREY, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "RGB":
        return img
    return img.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV, RGBX


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit -> 8-bit by /257 (PIL's convert would clip to white); floats by their range."""
    arr = np.asarray(img)
    if img.mode in _SIXTEEN_BIT_MODES or (img.mode == "I" and _fits_uint16(arr)):
        out = (arr.astype(np.uint32) + 128) // 257
    else:
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(arr.min()), float(arr.max())
        span = high - low if high > low else 1.0
        out = np.rint((arr - low) * (255.0 / span))
    return Image.fromarray(np.ascontiguousarray(out, dtype=np.uint8))


def _fits_uint16(arr: np.ndarray) -> bool:
    """Mode "I" usually holds 16-bit samples (PNG/TIFF); only then is /257 the right scale."""
    return arr.size == 0 or (int(arr.min()) >= 0 and int(arr.max()) <= 0xFFFF)


def _reduce(img: Image.Image, min_side: int) -> Image.Image:
    """Box-reduce by an integer factor so the short side lands in [min_side, 2*min_side).

    Box averaging is anti-aliased and very fast; the final bicubic resize to the exact
    model size is left to the model's preprocessing, as for DCT-scaled JPEGs.
    """
    factor = min(img.size) // min_side
    if factor < 2:
        return img
    return img.reduce(factor)


def _read_exif(img: Image.Image) -> Image.Exif | None:
    """EXIF is optional metadata: a malformed block must not reject a good photo."""
    try:
        return img.getexif()
    except Exception:
        return None


def _orientation(exif: Image.Exif | None) -> int:
    """EXIF orientation 1..8, defaulting to 1 (as is) for missing or garbage values."""
    if exif is None:
        return 1
    try:
        value = int(exif.get(_TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if value in _TRANSPOSE else 1


def _taken_at(exif: Image.Exif | None) -> float | None:
    """DateTimeOriginal (else DateTime) as a timestamp; naive times are local time."""
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(_TAG_EXIF_IFD)
        candidates = [
            (sub.get(_TAG_DATETIME_ORIGINAL), sub.get(_TAG_OFFSET_TIME_ORIGINAL)),
            (exif.get(_TAG_DATETIME), None),
        ]
    except Exception:
        return None
    for raw, offset in candidates:
        stamp = _parse_exif_datetime(raw, offset)
        if stamp is not None:
            return stamp
    return None


def _parse_exif_datetime(raw: object, offset: object = None) -> float | None:
    """Parse "YYYY:MM:DD HH:MM:SS" (tolerating -, / separators and NUL padding)."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    match = _EXIF_DATE_RE.search(raw)
    if match is None:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
        tz = _parse_offset(offset)
        if tz is not None:
            moment = moment.replace(tzinfo=tz)
        return moment.timestamp()  # naive -> interpreted as local time
    except (ValueError, OverflowError, OSError):
        return None


def _parse_offset(offset: object) -> timezone | None:
    """EXIF 2.31 OffsetTimeOriginal ("+02:00") makes the capture time unambiguous."""
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if not isinstance(offset, str):
        return None
    match = _EXIF_OFFSET_RE.fullmatch(offset.strip("\x00 "))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)
