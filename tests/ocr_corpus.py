"""Deterministic pictures with known text, and pictures with none, for OCR tests and benchmarks.

Every generator takes an explicit ``random.Random`` so a seed always gives the same pixels.
Categories: UI-like screenshots, receipts (condensed/mono fonts, prices), documents
(paragraphs), photographed-looking text (perspective, rotation up to ±15°, blur, low
contrast, JPEG noise), and no-text pictures (tests/synthetic.py shapes, noise, gradients).
Text mixes English with Portuguese, French and German words (accents, ß).
"""

from __future__ import annotations

import io
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

try:
    from tests.synthetic import CLASSES, draw_picture
except ImportError:  # run as a script from tests/
    from synthetic import CLASSES, draw_picture  # type: ignore[no-redef]

WORDS = (  # noqa: SIM905 (a word list reads best as prose)
    "password network settings battery account invoice payment delivery street "
    "station ticket window library garden coffee market summer history museum "
    "Rua Augusta São Paulo Lisboa coração informação obrigado pão "
    "élève café théâtre fenêtre château français déjà "
    "Straße Bahnhof Größe Mädchen Frühstück Brücke schön Übersicht"
).split()
ITEMS = ("MILK", "BREAD", "COFFEE", "APPLES", "CHEESE", "PÃO", "CAFÉ", "BUTTER", "EGGS", "WATER")


@dataclass(frozen=True)
class Sample:
    """One corpus picture and the words drawn on it (empty for a no-text picture)."""

    name: str
    category: str
    image: Image.Image
    words: tuple[str, ...]


@cache
def font_path(style: str = "sans") -> str | None:
    """A DejaVu font file from the system (fc-list), or None to use PIL's own."""
    wanted = {"sans": "DejaVuSans.ttf", "condensed": "DejaVuSansCondensed.ttf",
              "mono": "DejaVuSansMono.ttf", "serif": "DejaVuSerif.ttf"}[style]
    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True,
                                text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    return next((p for p in listed.splitlines() if Path(p).name == wanted), None)


def font(size: int, style: str = "sans") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(style)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _phrase(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _draw_lines(draw: ImageDraw.ImageDraw, lines: list[tuple[str, int, int, int, str]],
                fill: tuple[int, int, int]) -> list[str]:
    """Draws (text, x, y, size, style) lines; returns their words."""
    words: list[str] = []
    for text, x, y, size, style in lines:
        draw.text((x, y), text, font=font(size, style), fill=fill)
        words += text.split()
    return words


def screenshot(rng: random.Random, size: tuple[int, int] = (900, 1400)) -> Sample:
    """A phone-app-like screen: a title bar, list rows at 18-30 px, small captions."""
    width, height = size
    dark = rng.random() < 0.3
    bg, fg = ((30, 30, 34), (235, 235, 235)) if dark else ((250, 250, 250), (20, 20, 20))
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 90), fill=(40, 90, 200))
    words = _draw_lines(draw, [(_phrase(rng, 2).title(), 30, 25, 34, "sans")], (255, 255, 255))
    y = 120
    while y < height - 80:
        title_size = rng.choice((22, 26, 30))
        draw.line((20, y - 12, width - 20, y - 12), fill=(200, 200, 200), width=1)
        rows = [(_phrase(rng, rng.randint(2, 4)), 30, y, title_size, "sans"),
                (_phrase(rng, rng.randint(3, 5)), 30, y + title_size + 8, 18, "sans")]
        words += _draw_lines(draw, rows, fg)
        y += title_size + 70
    return Sample("", "screenshot", image, tuple(words))


def receipt(rng: random.Random) -> Sample:
    """A till receipt: condensed header, monospaced items with prices, a TOTAL line."""
    image = Image.new("RGB", (520, 900), (252, 250, 244))
    draw = ImageDraw.Draw(image)
    lines = [("MERCADO CENTRAL", 110, 30, 30, "condensed"),
             ("Rua Augusta 123 Lisboa", 100, 72, 20, "condensed")]
    total = 0.0
    y = 140
    for _ in range(rng.randint(5, 9)):
        price = rng.randint(50, 2500) / 100
        total += price
        lines.append((f"{rng.choice(ITEMS):<12}{price:>8.2f}", 40, y, 24, "mono"))
        y += 42
    lines.append((f"{'TOTAL':<12}{total:>8.2f}", 40, y + 30, 26, "mono"))
    lines.append((f"NIF {rng.randint(100000000, 999999999)}", 40, y + 90, 20, "mono"))
    words = _draw_lines(draw, lines, (25, 25, 25))
    return Sample("", "receipt", image, tuple(words))


def document(rng: random.Random) -> Sample:
    """A printed page: a heading and justified-looking paragraphs of 20 px serif text."""
    image = Image.new("RGB", (1000, 1300), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    lines = [(_phrase(rng, 3).upper(), 80, 70, 32, "serif")]
    y = 150
    for _ in range(3):
        for _ in range(rng.randint(5, 8)):
            lines.append((_phrase(rng, rng.randint(6, 9)), 80, y, 20, "serif"))
            y += 34
        y += 30
    words = _draw_lines(draw, lines, (10, 10, 10))
    return Sample("", "document", image, tuple(words))


def _perspective(image: Image.Image, rng: random.Random) -> Image.Image:
    """A mild keystone, as when a sign or page is photographed at an angle."""
    w, h = image.size
    d = 0.08
    quad = [rng.uniform(0, d) * w, rng.uniform(0, d) * h, rng.uniform(0, d) * w, h - rng.uniform(0, d) * h,
            w - rng.uniform(0, d) * w, h - rng.uniform(0, d) * h, w - rng.uniform(0, d) * w,
            rng.uniform(0, d) * h]
    return image.transform(image.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC,
                           fillcolor=(128, 128, 128))


def photographed(rng: random.Random) -> Sample:
    """A sign with 3-5 short lines, warped, rotated ±15°, blurred, low-contrast, JPEG'd."""
    sign = Image.new("RGB", (800, 500), (235, 228, 210))
    draw = ImageDraw.Draw(sign)
    lines = [(_phrase(rng, rng.randint(1, 3)), 40, 40 + 90 * i, rng.choice((40, 48, 56)), "sans")
             for i in range(rng.randint(3, 5))]
    words = _draw_lines(draw, lines, (40, 40, 60))
    sign = _perspective(sign, rng)
    sign = sign.rotate(rng.uniform(-15, 15), Image.Resampling.BICUBIC, expand=True,
                       fillcolor=(110, 120, 100))
    scene = _natural(rng, (1200, 900))
    scene.paste(sign, (rng.randint(0, 1200 - sign.width), rng.randint(0, max(0, 900 - sign.height))))
    scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.6)))
    contrast = rng.uniform(0.5, 0.8)
    scene = Image.blend(Image.new("RGB", scene.size, (128, 128, 128)), scene, contrast)
    return Sample("", "photographed", _jpeg(scene, rng.randint(35, 60)), tuple(words))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _natural(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Natural-looking texture: a smooth two-colour gradient plus blurred multi-scale noise."""
    w, h = size
    np_rng = np.random.default_rng(rng.randrange(2**32))
    top, bottom = np_rng.uniform(40, 220, 3), np_rng.uniform(40, 220, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    pixels = top * (1 - t) + bottom * t + np.zeros((h, w, 3))
    for scale, amplitude in ((64, 40), (8, 20), (1, 8)):
        small = np_rng.normal(0, amplitude, (max(1, h // scale), max(1, w // scale), 3))
        noise = Image.fromarray(np.clip(small + 128, 0, 255).astype(np.uint8))
        layer = noise.resize(size, Image.Resampling.BICUBIC)
        pixels += np.asarray(layer, dtype=np.float64) - 128
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def no_text_shape(rng: random.Random) -> Sample:
    colour, shape = rng.choice(CLASSES)
    image = draw_picture(colour, shape, rng, size=(rng.choice((640, 1024)), rng.choice((480, 768))))
    return Sample("", "no_text_shapes", image, ())


def no_text_natural(rng: random.Random) -> Sample:
    image = _natural(rng, rng.choice(((1024, 768), (1600, 1200), (768, 1024))))
    return Sample("", "no_text_natural", _jpeg(image, rng.randint(70, 92)), ())


GENERATORS: dict[str, Callable[[random.Random], Sample]] = {
    "screenshot": screenshot, "receipt": receipt, "document": document, "photographed": photographed,
    "no_text_shapes": no_text_shape, "no_text_natural": no_text_natural,
}


def corpus(per_category: int, seed: int = 17,
           categories: tuple[str, ...] = tuple(GENERATORS)) -> list[Sample]:
    """per_category samples of each category, the same for a given seed."""
    samples = []
    for category in categories:
        rng = random.Random(f"{seed}-{category}")
        for index in range(per_category):
            sample = GENERATORS[category](rng)
            samples.append(Sample(f"{category}-{index:03d}", category, sample.image, sample.words))
    return samples
