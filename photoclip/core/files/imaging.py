"""Safe, fast decoding of photos from real-world libraries for the CLIP indexer.

Photo libraries contain everything: CMYK scans, 16-bit PNG exports, transparent
screenshots, animated GIFs, truncated downloads, mislabelled PDFs, and the odd
decompression bomb.  :func:`decode_for_model` turns one file (its raw bytes, or
the file itself, open for reading) into a small 8-bit RGB image that the model
preprocessing can consume, or raises :class:`ImageRejected` with a short human
reason.  It never raises anything else for bad input, so one broken file can never
stop an indexing run.

Speed matters as much as safety: the model only needs ~224 px, so JPEGs are
decoded with DCT scaling (``draft``) and everything else is box-reduced right
after loading, instead of keeping 12 MP buffers around.

Memory is bounded by bytes, not only pixels: before decoding, the peak a decode
will need is estimated from the header (pixels x bytes per pixel of the mode x
the full-size copies the decoder makes, plus the working tiles and the output)
and reserved in a process-wide :class:`DecodeBudget`; one over the whole budget
is rejected with that reason.  Conversions that used to copy the full image
several times (alpha compositing, 16-bit and float scaling) run tile by tile
and are box-reduced as they go, so the full-size image exists once.

This module is GUI-free (no Qt) and silent (no printing); it is safe to call
from many threads at once.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from .decode_budget import DecodeBudget, OverBudget, default_budget_bytes

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)

MAX_PIXELS: int = 200_000_000
"""Largest accepted image (width * height), checked from the header before decoding.

A sanity limit on what a photo can be; memory is guarded by DECODE_BUDGET (bytes)."""

DECODE_BUDGET = DecodeBudget(default_budget_bytes())
"""Shared by every decode in the process (indexer pool, thumbnails, search by image):
memory is process-wide, so its budget is too."""

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

# Full-size copies of the decoded pixels a format's decoder holds at its peak: WebP and
# pillow-heif decode into a buffer of their own first.  (TIFF reads a strip or tile at a
# time into a buffer of that size: see _tiff_buffer.)
_DECODER_COPIES = {"WEBP": 2, "HEIF": 2, "AVIF": 2}
_BAND_PIXELS = 1 << 18  # conversions run on tiles this big: a few MB of scratch each
# Scratch per tile pixel at the peak of the worst conversion (floats: the crop, a float64
# copy, nan_to_num's copy, two arithmetic temporaries, the 8-bit and RGB results).
_BAND_BYTES_PER_PIXEL = 64
_DECODE_OVERHEAD = 8 << 20  # decoder state, row buffers, EXIF: small, but not nothing
# Decoding from an open file reads it a block at a time, except these, which read the whole
# file into memory when opened (WebP, pillow-heif, Pillow's AVIF): its size joins the estimate.
_WHOLE_FILE_FORMATS = frozenset({"WEBP", "HEIF", "AVIF"})
# Such a file bigger than this is opened twice: once for its header, then (its bytes let go
# while the reservation waits) again under the reservation.  Below it, the bytes held while
# waiting are a few MB a worker, not worth a second parse of every WebP and HEIC photo.
_REOPEN_ABOVE_BYTES = 16 << 20

ImageSource = bytes | bytearray | memoryview | BinaryIO
"""A whole file's bytes, or a file open for binary reading (decoded from where it stands)."""

# Pillow allocates pixels in blocks (16 MB by default).  glibc keeps freed blocks that
# size in the freeing thread's arena, for that thread only, so decode threads taking turns
# each kept a full image's worth (two 784 MB decodes in turn on two threads: 1.5 GB).
# Blocks over glibc's largest mmap threshold (32 MB) are mapped and unmapped instead: a
# decode's pixels go back to the system when they are freed, and the budget holds.
_PIL_BLOCK_BYTES = 64 << 20
if Image.core.get_block_size() < _PIL_BLOCK_BYTES:
    Image.core.set_block_size(_PIL_BLOCK_BYTES)

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


def decode_for_model(
    source: ImageSource, min_side: int = 224, budget: DecodeBudget | None = None
) -> DecodedImage:
    """Decode ``source`` (a whole file's bytes, or a file open for reading) into a small
    RGB image for the model.

    The decode first reserves its estimated peak memory in ``budget`` (by default the
    process-wide DECODE_BUDGET), waiting while other decodes hold it.  A file is read from
    where it stands, a block at a time, so its bytes are never all held (where a decoder
    must hold them, the estimate counts them); the caller keeps it open and closes it.
    Raises ImageRejected for empty, truncated, corrupt, oversized or non-image input,
    and for one that needs more memory than the whole budget.
    """
    if min_side < 1:
        raise ValueError("min_side must be positive")
    file_size = None if isinstance(source, (bytes, bytearray, memoryview)) else _remaining(source)
    if not (len(source) if file_size is None else file_size):  # type: ignore[arg-type]
        raise ImageRejected("empty file")
    try:
        return _decode(source, min_side, DECODE_BUDGET if budget is None else budget, file_size)
    except ImageRejected:
        raise
    except Exception as exc:  # PIL raises a zoo of types for bad data; none may escape
        raise ImageRejected(_reason_for(exc)) from exc


def _remaining(file: BinaryIO) -> int:
    """Bytes from the file's position to its end (OSError is the caller's: a read failure)."""
    start = file.tell()
    try:
        return os.fstat(file.fileno()).st_size - start
    except (AttributeError, io.UnsupportedOperation):  # a file-like object with no descriptor
        end = file.seek(0, io.SEEK_END)
        file.seek(start)
        return end - start


def _decode(source: ImageSource, min_side: int, budget: DecodeBudget, file_size: int | None) -> DecodedImage:
    """Open, size-check, draft, reserve, load, convert+reduce and orient, in that order."""
    start = None if file_size is None else source.tell()  # type: ignore[union-attr]
    img = _open_image(source)
    try:
        width, height = img.size
        _check_size(width, height)
        # JPEG: DCT scaling to the smallest 1/2, 1/4, 1/8 with both sides >= min_side (a
        # square request is rotation-proof).  HEIF: embedded thumbnail if big enough.
        img.draft("RGB", (min_side, min_side))
        need = decode_peak_bytes(img, min_side, (width, height)) + _file_bytes_held(img, file_size)
        reopen = (file_size is not None and img.format in _WHOLE_FILE_FORMATS
                  and file_size > _REOPEN_ABOVE_BYTES)
        if reopen:  # its bytes go while the reservation waits; it is read again under it
            img.close()
        with budget.reserve(need):
            if reopen:
                source.seek(start)  # type: ignore[union-attr]
                img = _open_image(source)
                img.draft("RGB", (min_side, min_side))
            try:
                img.load()
                exif = _read_exif(img)
                rgb = _convert_reduced(img, min_side)
            finally:
                img.close()  # the full-size pixels go before their bytes are given back
            orientation = _orientation(exif)
            for method in _TRANSPOSE.get(orientation, ()):
                rgb = rgb.transpose(method)
    except OverBudget as exc:
        raise ImageRejected(str(exc)) from None
    finally:
        img.close()
    if orientation in _ROTATING_ORIENTATIONS:
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, taken_at=_taken_at(exif))


def _file_bytes_held(img: Image.Image, file_size: int | None) -> int:
    """Bytes of a file being decoded from disk that the decoder holds at once: all of them
    for WebP and HEIF, one raw (compressed) strip or tile for TIFF (libtiff reads or maps
    each whole: a one-strip file is all of it), a block for the rest.  From bytes: none
    beyond those the caller already holds."""
    if file_size is None:
        return 0
    if img.format in _WHOLE_FILE_FORMATS:
        return file_size
    if img.format != "TIFF":
        return 0
    try:
        tags = img.tag_v2  # type: ignore[attr-defined]
        counts = tags.get(325, tags.get(279, (file_size,)))  # TileByteCounts, StripByteCounts
        counts = counts if isinstance(counts, tuple) else (counts,)
        return min(file_size, max(int(count) for count in counts))
    except Exception:  # odd tags: assume the worst, the whole file in one strip
        return file_size


def decode_peak_bytes(img: Image.Image, min_side: int, original: tuple[int, int] | None = None) -> int:
    """The most memory decoding ``img`` will hold, from its header alone (after ``draft``).

    ``original`` is the size before draft, for a progressive JPEG's coefficient buffer.
    """
    width, height = img.size
    factor = _reduce_factor(img.size, min_side)
    decoded = width * height * _bytes_per_pixel(img.mode) * _DECODER_COPIES.get(img.format or "", 1)
    # The result (RGB is 4 bytes a pixel in PIL), twice: its copy while EXIF rotates it.
    output = -(-width // factor) * -(-height // factor) * 4
    tile_w, tile_h = _tile_size(img.size, factor)
    scratch = 0 if _is_plain_rgb(img) else tile_w * tile_h * _BAND_BYTES_PER_PIXEL
    buffers = _jpeg_coefficients(img, original) + _tiff_buffer(img)
    return decoded + 2 * output + scratch + buffers + _DECODE_OVERHEAD


def _bytes_per_pixel(mode: str) -> int:
    """PIL stores 1, L and P in a byte, 16-bit modes in two, everything else in four."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith(("I;16", "BGR;1")) else 4


def _tiff_buffer(img: Image.Image) -> int:
    """libtiff reads one whole strip or tile before unpacking it (a one-strip file: all of it)."""
    if img.format != "TIFF":
        return 0
    width, height = img.size
    try:
        tags = img.tag_v2  # type: ignore[attr-defined]
        bits = tags.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        pixel_bytes = max(_bytes_per_pixel(img.mode), -(-max(bits) * int(tags.get(277, 1)) // 8))
        if 322 in tags and 323 in tags:  # tiled
            return int(tags[322]) * int(tags[323]) * pixel_bytes
        return min(height, int(tags.get(278, height))) * width * pixel_bytes
    except Exception:  # odd tags: assume the worst, one strip of the whole image
        return width * height * 8


def _jpeg_coefficients(img: Image.Image, original: tuple[int, int] | None) -> int:
    """libjpeg keeps every DCT coefficient of a progressive JPEG (2 bytes each, full size)."""
    if img.format != "JPEG" or not (img.info.get("progressive") or img.info.get("progression")):
        return 0
    width, height = original or img.size
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)] * len(img.getbands())
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    return sum(2 * (width * layer[1] // h_max + 8) * (height * layer[2] // v_max + 8) for layer in layers)


def _open_image(source: ImageSource) -> Image.Image:
    """Identify by content among whitelisted formats, with bomb warnings made errors.

    A file is left open for the caller to close."""
    formats = _formats()
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else _Lent(source)
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "possible formats" chatter; we never print
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(fp, formats=formats)


class _Lent:
    """The caller's file as lent to PIL, which closes the file of an image it closes:
    closing this leaves the file open (and everything else goes to the file)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)

    def close(self) -> None:
        pass


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


def _convert_reduced(img: Image.Image, min_side: int) -> Image.Image:
    """``_reduce(_to_rgb8(img))``, tile by tile, so no conversion copies the full image.

    Tiles are whole multiples of the reduction factor, so the result is exactly that of
    converting the whole image and then reducing it.
    """
    factor = _reduce_factor(img.size, min_side)
    if _is_plain_rgb(img):  # nothing to convert: a plain Image, not the decoder object
        return img.reduce(factor) if factor > 1 else img.copy()
    value_range = _sample_range(img) if img.mode in ("I", "F") else None
    width, height = img.size
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for box in _tiles(img.size, factor):
        part = _to_rgb8(img.crop(box), value_range)
        out.paste(part.reduce(factor) if factor > 1 else part, (box[0] // factor, box[1] // factor))
    return out


def _is_plain_rgb(img: Image.Image) -> bool:
    return img.mode == "RGB" and "transparency" not in img.info


def _tile_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """(columns, rows) of a conversion tile: whole rows where they fit in _BAND_PIXELS,
    else narrower; always whole reduction blocks, so at least factor x factor."""
    width, height = size
    block_rows = _BAND_PIXELS // max(1, width * factor)
    if block_rows >= 1:
        return width, min(height, block_rows * factor)
    block_cols = max(1, _BAND_PIXELS // (factor * factor))
    return min(width, block_cols * factor), min(height, factor)


def _tiles(size: tuple[int, int], factor: int) -> Iterator[tuple[int, int, int, int]]:
    width, height = size
    cols, rows = _tile_size(size, factor)
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
        background = Image.new("RGBA", rgba.size, (*_GREY, 255))
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


def _reduce_factor(size: tuple[int, int], min_side: int) -> int:
    """The integer box-reduction that lands the short side in [min_side, 2*min_side).

    Box averaging is anti-aliased and very fast; the final bicubic resize to the exact
    model size is left to the model's preprocessing, as for DCT-scaled JPEGs.
    """
    return max(1, min(size) // min_side)


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
