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

Memory is bounded by bytes, not only pixels: before decoding, the peak is estimated
from the header (:mod:`.decode_estimate`) and reserved in a process-wide
:class:`DecodeBudget`; one over the whole budget is rejected with that reason.  The
conversions run tile by tile (:mod:`.pixels`), so the full-size image exists once.

This module is the pipeline: opening by content (:mod:`.formats`), the size check,
the reservation, the conversion, EXIF orientation and capture time (:mod:`.exif`), and
the mapping of every decoder failure to a reason.  It is GUI-free (no Qt) and silent
(no printing); it is safe to call from many threads at once.
"""

from __future__ import annotations

import io
import os
import re
import struct
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from . import exif
from .decode_budget import DecodeBudget, OverBudget, default_budget_bytes
from .decode_estimate import decode_peak_bytes, file_bytes_held, reopen_under_reservation
from .formats import ImageSource, open_image
from .pixels import convert_reduced

MAX_PIXELS: int = 200_000_000
"""Largest accepted image (width * height), checked from the header before decoding.

A sanity limit on what a photo can be; memory is guarded by DECODE_BUDGET (bytes)."""

DECODE_BUDGET = DecodeBudget(default_budget_bytes())
"""Shared by every decode in the process (indexer pool, thumbnails, search by image):
memory is process-wide, so its budget is too."""

# PIL warns above MAX_IMAGE_PIXELS and refuses above twice that.  Aligning it with our
# own limit means a legitimate 100 MP photo is not refused by PIL's lower default.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Pillow allocates pixels in blocks (16 MB by default).  glibc keeps freed blocks that
# size in the freeing thread's arena, for that thread only, so decode threads taking turns
# each kept a full image's worth (two 784 MB decodes in turn on two threads: 1.5 GB).
# Blocks over glibc's largest mmap threshold (32 MB) are mapped and unmapped instead: a
# decode's pixels go back to the system when they are freed, and the budget holds.
_PIL_BLOCK_BYTES = 64 << 20
if Image.core.get_block_size() < _PIL_BLOCK_BYTES:
    Image.core.set_block_size(_PIL_BLOCK_BYTES)


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
    img = open_image(source)
    try:
        width, height = img.size
        _check_size(width, height)
        # JPEG: DCT scaling to the smallest 1/2, 1/4, 1/8 with both sides >= min_side (a
        # square request is rotation-proof).  HEIF: embedded thumbnail if big enough.
        img.draft("RGB", (min_side, min_side))
        need = decode_peak_bytes(img, min_side, (width, height)) + file_bytes_held(img, file_size)
        reopen = reopen_under_reservation(img, file_size)
        if reopen:  # its bytes go while the reservation waits; it is read again under it
            img.close()
        with budget.reserve(need):
            if reopen:
                source.seek(start)  # type: ignore[union-attr]
                img = open_image(source)
                img.draft("RGB", (min_side, min_side))
            try:
                img.load()
                metadata = exif.read_exif(img)
                rgb = convert_reduced(img, min_side)
            finally:
                img.close()  # the full-size pixels go before their bytes are given back
            orientation = exif.orientation_of(metadata)
            rgb = exif.upright(rgb, orientation)
    except OverBudget as exc:
        raise ImageRejected(str(exc)) from None
    finally:
        img.close()
    if exif.swaps_sides(orientation):
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, taken_at=exif.taken_at(metadata))


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

