"""How many bytes a decode will hold at its peak, estimated from the header alone.

Memory is bounded by bytes, not only pixels: before decoding, the peak is estimated (pixels
x bytes per pixel of the mode x the full-size copies the decoder makes, plus the working
tiles, the decoder's own buffers and the output) and reserved in a
:class:`~.decode_budget.DecodeBudget`.  The file's own bytes count too where a decoder
reads the whole file (WebP, HEIF, AVIF) or one whole TIFF strip.
"""

from __future__ import annotations

from PIL import Image

from .pixels import is_plain_rgb, reduce_factor, tile_size

# Full-size copies of the decoded pixels a format's decoder holds at its peak: WebP and
# pillow-heif decode into a buffer of their own first.  (TIFF reads a strip or tile at a
# time into a buffer of that size: see _tiff_buffer.)
_DECODER_COPIES = {"WEBP": 2, "HEIF": 2, "AVIF": 2}
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


def decode_peak_bytes(img: Image.Image, min_side: int, original: tuple[int, int] | None = None) -> int:
    """The most memory decoding ``img`` will hold, from its header alone (after ``draft``).

    ``original`` is the size before draft, for a progressive JPEG's coefficient buffer.
    """
    width, height = img.size
    factor = reduce_factor(img.size, min_side)
    decoded = width * height * _bytes_per_pixel(img.mode) * _DECODER_COPIES.get(img.format or "", 1)
    # The result (RGB is 4 bytes a pixel in PIL), twice: its copy while EXIF rotates it.
    output = -(-width // factor) * -(-height // factor) * 4
    tile_w, tile_h = tile_size(img.size, factor)
    scratch = 0 if is_plain_rgb(img) else tile_w * tile_h * _BAND_BYTES_PER_PIXEL
    buffers = _jpeg_coefficients(img, original) + _tiff_buffer(img)
    return decoded + 2 * output + scratch + buffers + _DECODE_OVERHEAD


def file_bytes_held(img: Image.Image, file_size: int | None) -> int:
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


def reopen_under_reservation(img: Image.Image, file_size: int | None) -> bool:
    """Whether a file's header image should be closed while its reservation waits and the
    file opened again under it: a big file whose decoder holds all of its bytes."""
    return file_size is not None and img.format in _WHOLE_FILE_FORMATS and file_size > _REOPEN_ABOVE_BYTES


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
