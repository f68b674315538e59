"""Deterministic synthetic pictures: one coloured shape on a light background.

Used both to train the tiny test CLIP model (tests/make_tiny_clip.py) and to
build photo libraries for tests. Everything is driven by an explicit
``random.Random`` so that a given seed always yields the same pixels and files.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 30),
    "green": (30, 150, 45),
    "blue": (35, 65, 215),
    "yellow": (235, 195, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
CLASSES: list[tuple[str, str]] = [(c, s) for c in COLOURS for s in SHAPES]

# Format name -> extensions to rotate through (mixed case on purpose: real
# libraries contain ``IMG_0001.JPG`` next to ``scan.jpeg``).
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".JPG", ".jpeg"),
    "PNG": (".png", ".PNG"),
    "WEBP": (".webp",),
    "GIF": (".gif",),
    "TIFF": (".tif", ".TIFF"),
    "BMP": (".bmp",),
}
DEFAULT_FORMATS: tuple[str, ...] = tuple(_EXTENSIONS)
_SIZES: tuple[tuple[int, int], ...] = (
    (64, 64),
    (96, 72),
    (160, 120),
    (240, 320),
    (400, 300),
    (512, 512),
    (640, 480),
    (600, 900),
    (1024, 768),
    (1200, 800),
)
_SUBFOLDERS: tuple[str, ...] = ("", "", "2023", "2023/holiday", "misc")
_JITTER = 18  # per-channel colour jitter; small enough to keep colours apart
_NOISE_CELLS = 24  # noise grid resolution; upscaled so big images stay fast


def caption(colour: str, shape: str) -> str:
    """Text that describes a picture, e.g. ``"a red circle"``."""
    return f"a {colour} {shape}"


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Light random tint with soft low-frequency mottling.

    Noise is generated on a coarse grid and upscaled, so the cost does not grow
    with the pixel count beyond a single resize.
    """
    tint = np.array([rng.randint(205, 250) for _ in range(3)], dtype=np.float32)
    np_rng = np.random.default_rng(rng.getrandbits(32))
    noise = np_rng.normal(0.0, 4.0, size=(_NOISE_CELLS, _NOISE_CELLS, 3))
    small = np.clip(tint + noise, 195, 255).astype(np.uint8)
    return Image.fromarray(small, "RGB").resize(size, Image.Resampling.BILINEAR)


def _jittered(colour: str, rng: random.Random) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, v + rng.randint(-_JITTER, _JITTER))) for v in COLOURS[colour])
    return r, g, b


def _polygon(cx: float, cy: float, radius: float, sides: int, angle: float) -> list[tuple[float, float]]:
    """Regular polygon; ``angle`` 0 puts a vertex straight up."""
    return [
        (
            cx + radius * math.sin(angle + 2 * math.pi * k / sides),
            cy - radius * math.cos(angle + 2 * math.pi * k / sides),
        )
        for k in range(sides)
    ]


def draw_picture(
    colour: str,
    shape: str,
    rng: random.Random,
    size: tuple[int, int] = (96, 96),
) -> Image.Image:
    """Render one filled ``shape`` of ``colour`` on a light background.

    The shape spans 30-70% of the short side and always lies inside the
    centred square of the image, so CLIP's resize + centre-crop keeps it whole.
    """
    if colour not in COLOURS or shape not in SHAPES:
        raise ValueError(f"unknown class {colour!r} {shape!r}")
    width, height = size
    image = _background(size, rng)
    short = min(width, height)
    extent = short * rng.uniform(0.3, 0.7)  # bounding size of the shape
    half = extent / 2
    left, top = (width - short) / 2, (height - short) / 2
    cx = left + rng.uniform(half, short - half)
    cy = top + rng.uniform(half, short - half)
    fill = _jittered(colour, rng)
    tilt = math.radians(rng.uniform(-15, 15))
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=fill)
    elif shape == "square":
        # Circumradius of a square whose side is ``extent / 1.1`` so a tilted
        # square still fits in the extent box.
        draw.polygon(_polygon(cx, cy, extent / 1.1 / math.sqrt(2), 4, math.pi / 4 + tilt), fill=fill)
    else:
        draw.polygon(_polygon(cx, cy, half, 3, tilt), fill=fill)
    return image


def _save(image: Image.Image, path: Path, fmt: str) -> None:
    if fmt == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    options: dict[str, object] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    image.save(path, format=fmt, **options)


def make_library(
    folder: Path,
    per_class: int = 3,
    seed: int = 0,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
) -> list[tuple[Path, str, str]]:
    """Write ``per_class`` pictures of every class under ``folder``.

    Formats, extensions (including upper-case ones), sizes (64-1200 px, mixed
    aspect ratios) and subfolders are rotated so every variety appears.
    Returns ``(path, colour, shape)`` for every file, in creation order.
    """
    unknown = set(formats) - set(_EXTENSIONS)
    if unknown:
        raise ValueError(f"unsupported formats: {sorted(unknown)}")
    rng = random.Random(seed)
    folder = Path(folder)
    written: list[tuple[Path, str, str]] = []
    used: dict[str, int] = dict.fromkeys(formats, 0)
    for index in range(per_class * len(CLASSES)):
        colour, shape = CLASSES[index % len(CLASSES)]
        # Shift the format cycle each round so a class is not tied to a format.
        fmt = formats[(index + index // len(CLASSES)) % len(formats)]
        extensions = _EXTENSIONS[fmt]
        ext = extensions[used[fmt] % len(extensions)]
        used[fmt] += 1
        size = _SIZES[rng.randrange(len(_SIZES))]
        target = folder / _SUBFOLDERS[index % len(_SUBFOLDERS)]
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{colour}_{shape}_{index:03d}{ext}"
        _save(draw_picture(colour, shape, rng, size), path, fmt)
        written.append((path, colour, shape))
    return written


def camera_exif(
    taken: str | None = None, *, offset: str | None = None, make: str | None = None,
    model: str | None = None, gps: tuple[float, float] | None = None,
) -> Image.Exif:
    """EXIF as a camera writes it: ``taken`` "YYYY:MM:DD HH:MM:SS" (DateTimeOriginal),
    ``offset`` "+01:00" (OffsetTimeOriginal), make, model, and a GPS position in
    degrees written as degree/minute/second rationals with N/S and E/W refs."""
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if gps is not None:
        def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
            value = abs(value)
            degrees, minutes = int(value), int(value * 60) % 60
            seconds = round((value * 3600) % 60 * 1000)
            return IFDRational(degrees), IFDRational(minutes), IFDRational(seconds, 1000)

        lat, lon = gps
        exif.get_ifd(0x8825).update({1: "N" if lat >= 0 else "S", 2: dms(lat),
                                     3: "E" if lon >= 0 else "W", 4: dms(lon)})
    return exif


def save_camera_photo(
    path: Path, colour: str, shape: str, exif: Image.Exif, *, seed: int = 0,
    size: tuple[int, int] = (160, 120),
) -> Path:
    """A JPEG of one synthetic class carrying ``exif`` (see ``camera_exif``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_picture(colour, shape, random.Random(seed), size).save(
        path, format="JPEG", quality=90, exif=exif.tobytes())
    return path
