"""A corpus of bad and awkward "photos", as found in real libraries.

``make_bad_corpus`` writes files with image extensions into a folder and returns
``{file name: "rejected" | "accepted"}``.  Rejected files must be refused with a
reason (never crash, never reach Ghostscript); accepted ones are legitimate but
awkward images (CMYK, 16-bit, transparency, animation, EXIF rotation, ...).

Everything is generated in-process, deterministically and quickly (well under 2 s).
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REJECTED = "rejected"
ACCEPTED = "accepted"

ORIENTATION_TAG = 0x0112
EXIF_IFD_TAG = 0x8769
DATETIME_ORIGINAL_TAG = 0x9003

BOMB_SIDE = 30_000  # 900 MP declared: over twice PIL's limit -> DecompressionBombError
MODERATE_BOMB_SIDE = 15_000  # 225 MP: over our 200 MP limit, under twice PIL's limit

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, idat: bytes) -> bytes:
    """Assemble a PNG from an already-compressed IDAT (lets us craft what PIL can't write)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=4)
def bomb_png(side: int) -> bytes:
    """A genuine 1-bit all-black PNG of side x side: ~100 KB on disk, gigapixels decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = 1000
    parts = [compressor.compress(row * rows_per_block) for _ in range(side // rows_per_block)]
    parts.append(compressor.compress(row * (side % rows_per_block)))
    parts.append(compressor.flush())
    return png_bytes(side, side, 1, 0, b"".join(parts))


def rgb16_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """16-bit-per-channel RGB PNG (PIL cannot write these from an array)."""
    pixel = struct.pack(">HHH", *rgb)
    raw = (b"\x00" + pixel * width) * height
    return png_bytes(width, height, 16, 2, zlib.compress(raw))


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """Encode an image in memory."""
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """Incompressible content, so a truncated file really lacks pixel data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def halves(size: tuple[int, int], mode: str, left: object, right: object) -> Image.Image:
    """An image whose left half is one colour and right half another."""
    img = Image.new(mode, size, left)
    img.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return img


def rotated_jpeg() -> bytes:
    """Stored 400x300 landscape, red top-left quadrant, EXIF orientation 6 + capture date.

    Displayed (rotated 90 degrees clockwise) it is 300x400 with the red quadrant top-right.
    """
    img = Image.new("RGB", (400, 300), WHITE)
    img.paste(RED, (0, 0, 200, 150))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    exif.get_ifd(EXIF_IFD_TAG)[DATETIME_ORIGINAL_TAG] = "2021:06:15 14:30:00"
    return encode(img, "JPEG", quality=95, exif=exif)


def _animated(fmt: str, **params: object) -> bytes:
    """Three frames red, green, blue: a decoder must return the red first frame."""
    frames = [Image.new("RGB", (32, 32), colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], **params)


def _transparent_gif() -> bytes:
    """Paletted GIF: left half transparent index 0 (red), right half opaque blue."""
    img = halves((32, 32), "P", 0, 1)
    img.putpalette([*RED, *BLUE] + [0] * (254 * 3))
    return encode(img, "GIF", transparency=0)


def _not_images() -> dict[str, bytes]:
    """Documents and junk with image extensions."""
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("photo.jpg", b"not really")
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n0 0 moveto showpage\n%%EOF\n"
    dos_eps = b"\xc5\xd0\xd3\xc6" + struct.pack("<6I", 30, len(eps), 0, 0, 0, 0) + b"\xff\xff"
    return {
        "empty.jpg": b"",
        "empty.heic": b"",
        "text.png": b"This is a shopping list, not a picture.\nmilk\neggs\n",
        "document.jpg": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        "vector.jpg": eps,
        "vector_dos.tif": dos_eps + eps,
        "drawing.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"'
        b' width="10" height="10"><rect width="10" height="10"/></svg>',
        "archive.jpg": zipped.getvalue(),
        "random.webp": np.random.default_rng(7).integers(0, 256, 4096, np.uint8).tobytes(),
    }


def _broken_images() -> dict[str, bytes]:
    """Real image formats with missing data or absurd dimensions."""
    jpeg = encode(noise_image(256, 192, seed=1), "JPEG", quality=90)
    png = encode(noise_image(128, 96, seed=2), "PNG")
    return {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "bomb.png": bomb_png(BOMB_SIDE),
        "bomb_moderate.png": bomb_png(MODERATE_BOMB_SIDE),
    }


def _awkward_images() -> dict[str, bytes]:
    """Legitimate images that naive decoding gets wrong."""
    grey16 = halves((64, 32), "I;16", 32896, 65535)
    return {
        "cmyk.jpg": encode(halves((64, 32), "CMYK", (0, 255, 255, 0), (255, 255, 0, 0)), "JPEG"),
        "gray16.png": encode(grey16, "PNG"),
        "gray16.tif": encode(grey16, "TIFF"),
        "rgb16.png": rgb16_png(16, 8, (65535, 32896, 0)),
        "rgba.png": encode(halves((64, 32), "RGBA", (*RED, 0), (*BLUE, 255)), "PNG"),
        "transparent.gif": _transparent_gif(),
        "animated.gif": _animated("GIF", duration=100, loop=0),
        "animated.png": _animated("PNG", duration=100),
        "animated.webp": _animated("WEBP", duration=100, lossless=True),
        "rotated.jpg": rotated_jpeg(),
        "png_named.jpg": encode(Image.new("RGB", (40, 30), GREEN), "PNG"),
        "tiny.png": encode(Image.new("RGB", (1, 1), BLUE), "PNG"),
        "tiny.bmp": encode(Image.new("RGB", (1, 1), RED), "BMP"),
        "panorama.jpg": encode(Image.new("RGB", (2000, 100), (40, 90, 160)), "JPEG"),
    }


def make_bad_corpus(folder: Path) -> dict[str, str]:
    """Write the corpus into ``folder``; return {file name: "rejected" | "accepted"}."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for files, kind in (
        (_not_images(), REJECTED),
        (_broken_images(), REJECTED),
        (_awkward_images(), ACCEPTED),
    ):
        for name, data in files.items():
            (folder / name).write_bytes(data)
            expected[name] = kind
    return expected
