"""A generated photo corpus with known duplicate truth, for measuring issue 18's tiers.

``make_dupe_corpus`` draws camera originals (640x480 JPEGs with a capture time and a
camera) and derives from each the files a real library collects: an exact copy, the
same picture resized / recompressed / converted / cropped / brightened / rotated via
EXIF / stripped of metadata, burst frames (the same scene a second later with the
camera and subject moved a little) and hard negatives (another picture of the same
subject and colours, days away). ``DupeCorpus.pairs(tier)`` gives the true pairs per
tier and ``pair_scores`` scores predicted groups against them pairwise.

Everything is driven by one seed, so a seed always gives the same files.
"""

from __future__ import annotations

import io
import math
import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

try:
    from tests.synthetic import CLASSES, COLOURS, camera_exif
except ImportError:  # run as a script from tests/
    from synthetic import CLASSES, COLOURS, camera_exif  # type: ignore[no-redef]

FRAME = (640, 480)
NEAR_KINDS: tuple[str, ...] = (
    "copy", "resized50", "resized25", "jpeg60", "jpeg40", "png", "webp", "heic",
    "crop", "brighter", "darker", "exif_rotated", "stripped",
)
KINDS: tuple[str, ...] = ("original", *NEAR_KINDS, "burst", "negative")
TIERS: tuple[str, ...] = ("copies", "near", "similar")
CAMERAS: tuple[tuple[str, str], ...] = (
    ("Canon", "Canon EOS R6"), ("FUJIFILM", "X-T4"), ("Apple", "iPhone 13"), ("SONY", "ILCE-7M3"),
)
FIRST_DAY = datetime(2023, 5, 1, 9, 30, 0)
DAYS_APART = 7  # between originals; negatives fall 3 and 4 days after theirs
_MARGIN = 0.06  # world border around the frame, so a shifted camera still sees scene
_ORIENTATION = 0x0112
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class CorpusFile:
    """One generated file: which original it derives from, how, and its burst (or None)."""

    path: Path
    original: int
    kind: str
    burst: int | None


@dataclass(frozen=True)
class Scores:
    """Pairwise precision and recall; ``predicted`` and ``true`` count the pairs."""

    precision: float
    recall: float
    predicted: int
    true: int


@dataclass(frozen=True)
class DupeCorpus:
    """The files and their truth. ``skipped`` names kinds that could not be written (HEIC).

    Tier rules, on the ``original`` index (hard negatives have ids of their own):
    - copies: the original and its exact byte copy;
    - near: any two of an original and its copy/near-identical variants (copies included);
    - similar: near pairs plus any two files of one burst group, where an original's
      burst group is the original, its burst frames AND its near-identical variants
      (a resized export of a burst's first shot is still a shot of that burst). Burst
      frames are never near pairs, with the original or with each other.
    """

    files: tuple[CorpusFile, ...]
    skipped: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> tuple[CorpusFile, ...]:
        return tuple(f for f in self.files if f.kind == kind)

    def pairs(self, tier: str) -> frozenset[frozenset[Path]]:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; expected one of {TIERS}")
        members = {"copies": ("original", "copy"), "near": ("original", *NEAR_KINDS),
                   "similar": ("original", *NEAR_KINDS, "burst")}[tier]
        groups: dict[int, list[Path]] = {}
        for file in self.files:
            if file.kind in members:
                groups.setdefault(file.original, []).append(file.path)
        return frozenset(frozenset(pair) for paths in groups.values() for pair in combinations(paths, 2))


def pair_scores(truth: frozenset[frozenset[Path]], groups: Iterable[Iterable[Path]]) -> Scores:
    """Score predicted ``groups`` against ``truth`` pairs: every two files in one group
    are a predicted pair. Precision is 1.0 when nothing is predicted (no wrong claim was
    made), recall 1.0 when there is nothing to find."""
    predicted = frozenset(frozenset(pair) for group in groups
                          for pair in combinations(dict.fromkeys(Path(p) for p in group), 2))
    hits = len(predicted & truth)
    return Scores(precision=hits / len(predicted) if predicted else 1.0,
                  recall=hits / len(truth) if truth else 1.0,
                  predicted=len(predicted), true=len(truth))


@dataclass(frozen=True)
class Scene:
    """A world larger than the frame: textured background plus one shape at (cx, cy), in
    world pixels. A shot crops the frame out of it at a camera offset."""

    colour: str
    shape: str
    fill: tuple[int, int, int]
    background_seed: int
    cx: float
    cy: float
    extent: float
    tilt: float


def _world_size() -> tuple[int, int]:
    return round(FRAME[0] * (1 + 2 * _MARGIN)), round(FRAME[1] * (1 + 2 * _MARGIN))


def make_scene(colour: str, shape: str, rng: random.Random) -> Scene:
    """Shape spans 30-55% of the frame's short side, inside the centred square."""
    width, height = FRAME
    short = min(width, height)
    extent = short * rng.uniform(0.3, 0.55)
    half = extent / 2
    ox, oy = FRAME[0] * _MARGIN + (width - short) / 2, FRAME[1] * _MARGIN + (height - short) / 2
    jitter = [min(255, max(0, v + rng.randint(-18, 18))) for v in COLOURS[colour]]
    return Scene(colour, shape, (jitter[0], jitter[1], jitter[2]), rng.getrandbits(32),
                 ox + rng.uniform(half, short - half), oy + rng.uniform(half, short - half),
                 extent, math.radians(rng.uniform(-15, 15)))


def _background(seed: int) -> Image.Image:
    """Light tint, soft mottling at two scales and a few pale blobs: enough structure for
    a moved camera to show, cheap to draw (coarse noise upscaled)."""
    rng = np.random.default_rng(seed)
    size = _world_size()
    tint = rng.uniform(200, 240, size=3)
    coarse = rng.normal(0.0, 9.0, size=(6, 8, 3))
    fine = rng.normal(0.0, 5.0, size=(36, 48, 3))
    field = np.asarray(Image.fromarray(np.clip(tint + coarse, 0, 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC), dtype=np.float32)
    field += np.asarray(Image.fromarray(np.clip(128 + fine * 4, 0, 255).astype(np.uint8)).resize(
        size, Image.Resampling.BILINEAR), dtype=np.float32) / 4 - 32
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.uniform(0, size[0]), rng.uniform(0, size[1])
        rx, ry = rng.uniform(30, 110), rng.uniform(20, 80)
        shade = tuple(int(c) for c in np.clip(tint + rng.uniform(-35, 15), 0, 255))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=shade)
    return image


def _polygon(cx: float, cy: float, radius: float, sides: int, angle: float) -> list[tuple[float, float]]:
    return [(cx + radius * math.sin(angle + 2 * math.pi * k / sides),
             cy - radius * math.cos(angle + 2 * math.pi * k / sides)) for k in range(sides)]


def shoot(scene: Scene, camera: tuple[float, float] = (0.0, 0.0), subject: tuple[float, float] = (0.0, 0.0),
          noise_seed: int = 0) -> Image.Image:
    """The frame seen with the camera shifted by ``camera`` and the shape moved by
    ``subject`` (both fractions of the frame's width, height), plus per-shot sensor noise."""
    world = _background(scene.background_seed)
    cx, cy = scene.cx + subject[0] * FRAME[0], scene.cy + subject[1] * FRAME[1]
    half = scene.extent / 2
    draw = ImageDraw.Draw(world)
    if scene.shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=scene.fill)
    elif scene.shape == "square":
        draw.polygon(_polygon(cx, cy, scene.extent / 1.1 / math.sqrt(2), 4, math.pi / 4 + scene.tilt),
                     fill=scene.fill)
    else:
        draw.polygon(_polygon(cx, cy, half, 3, scene.tilt), fill=scene.fill)
    left = round(FRAME[0] * (_MARGIN + camera[0]))
    top = round(FRAME[1] * (_MARGIN + camera[1]))
    frame = np.asarray(world.crop((left, top, left + FRAME[0], top + FRAME[1])), dtype=np.float32)
    frame += np.random.default_rng(noise_seed).normal(0.0, 2.0, size=frame.shape)
    return Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8), "RGB")


def _offset(rng: random.Random, low: float, high: float) -> tuple[float, float]:
    """A move of ``low``-``high`` (fraction of the frame) in a random direction."""
    size, angle = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
    return size * math.cos(angle), size * math.sin(angle)


def _exif(taken: datetime, camera: tuple[str, str], orientation: int | None = None) -> bytes:
    exif = camera_exif(taken=taken.strftime(_EXIF_TIME), make=camera[0], model=camera[1])
    if orientation is not None:
        exif[_ORIENTATION] = orientation
    return exif.tobytes()


def _heif_available() -> bool:
    """pillow_heif installed and able to encode (checked once on a tiny picture)."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        Image.new("RGB", (16, 16)).save(io.BytesIO(), format="HEIF")
    except Exception:  # any failure means: skip HEIC, and say so
        return False
    return True


def _crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """Trim each side by 1.5-4%, so each axis loses 3-8% in all."""
    width, height = image.size
    left, right = (round(width * rng.uniform(0.015, 0.04)) for _ in range(2))
    top, bottom = (round(height * rng.uniform(0.015, 0.04)) for _ in range(2))
    return image.crop((left, top, width - right, height - bottom))


def _write_variants(folder: Path, index: int, original: Path, exif: bytes, rng: random.Random,
                    heif: bool) -> list[tuple[Path, str]]:
    """The copy and near-identical files of one original. All keep its EXIF except
    ``stripped`` (and ``exif_rotated``, whose EXIF adds Orientation 6)."""
    name = f"IMG_{index:04d}"
    pixels = Image.open(original).convert("RGB")
    width, height = pixels.size
    for sub in ("backup", "exports", "messenger"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    copy = folder / "backup" / f"{name}.jpg"
    shutil.copyfile(original, copy)
    written = [(copy, "copy")]
    plans: list[tuple[str, str, Image.Image, dict[str, object]]] = [
        ("resized50", f"exports/{name}_half.jpg", pixels.resize((width // 2, height // 2),
                                                                  Image.Resampling.LANCZOS), {"quality": 92}),
        ("resized25", f"messenger/{name}_small.jpg",
         pixels.resize((width // 4, height // 4), Image.Resampling.LANCZOS), {"quality": 92}),
        ("jpeg60", f"messenger/{name}_q60.jpg", pixels, {"quality": 60}),
        ("jpeg40", f"messenger/{name}_q40.jpg", pixels, {"quality": 40}),
        ("png", f"exports/{name}.png", pixels, {"compress_level": 1}),  # level 1: 4x faster
        ("webp", f"exports/{name}.webp", pixels, {"quality": 90}),
        # x265's ultrafast preset: 5x faster than the default, same fidelity here
        ("heic", f"exports/{name}.heic", pixels, {"quality": 90, "enc_params": {"preset": "ultrafast"}}),
        ("crop", f"exports/{name}_crop.jpg", _crop(pixels, rng), {"quality": 92}),
        ("brighter", f"exports/{name}_bright.jpg",
         ImageEnhance.Brightness(pixels).enhance(1.1), {"quality": 92}),
        ("darker", f"exports/{name}_dark.jpg", ImageEnhance.Brightness(pixels).enhance(0.9), {"quality": 92}),
    ]
    for kind, relative, image, options in plans:
        if kind == "heic" and not heif:
            continue
        image.save(folder / relative, exif=exif, **options)
        written.append((folder / relative, kind))
    # Orientation 6 tells a viewer to turn the stored pixels 90° clockwise, so store them
    # turned 90° anticlockwise: shown, it is the original again.
    rotated = folder / "exports" / f"{name}_rotated.jpg"
    exif_rotated = Image.Exif()
    exif_rotated.load(exif)
    exif_rotated[_ORIENTATION] = 6
    pixels.transpose(Image.Transpose.ROTATE_90).save(rotated, quality=92, exif=exif_rotated.tobytes())
    stripped = folder / "messenger" / f"{name}_stripped.jpg"
    pixels.save(stripped, quality=92)
    return [*written, (rotated, "exif_rotated"), (stripped, "stripped")]


def burst_frames(index: int) -> int:
    """Every other original starts a burst, alternately of 3 and 4 further frames."""
    return 0 if index % 2 else 3 + (index // 2) % 2


def negative_count(index: int) -> int:
    return 1 + index % 2


def make_dupe_corpus(folder: Path, originals: int = 12, seed: int = 0) -> DupeCorpus:
    """Write the corpus under ``folder`` (camera/, backup/, exports/, messenger/,
    bursts/, other_days/) and return its truth. Original ``i`` is of class
    ``CLASSES[i % 12]``, taken ``7 * i`` days after 2023-05-01; HEIC is skipped (and
    named in ``skipped``) when pillow_heif is missing or cannot encode. ``files`` come in
    creation order: each original, its variants, its burst frames, then its negatives."""
    rng = random.Random(seed)
    folder = Path(folder)
    for sub in ("camera", "bursts", "other_days"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    heif = _heif_available()
    files: list[CorpusFile] = []
    fresh = originals  # ids for hard negatives, shared by no other file
    for index in range(originals):
        colour, shape = CLASSES[index % len(CLASSES)]
        camera = CAMERAS[index % len(CAMERAS)]
        taken = FIRST_DAY + timedelta(days=DAYS_APART * index, minutes=17 * index)
        scene = make_scene(colour, shape, rng)
        original = folder / "camera" / f"IMG_{index:04d}.jpg"
        exif = _exif(taken, camera)
        shoot(scene, noise_seed=rng.getrandbits(32)).save(original, quality=92, exif=exif)
        frames = burst_frames(index)
        files.append(CorpusFile(original, index, "original", index if frames else None))
        files += [CorpusFile(path, index, kind, None)
                  for path, kind in _write_variants(folder, index, original, exif, rng, heif)]
        for frame in range(1, frames + 1):
            path = folder / "bursts" / f"IMG_{index:04d}_{frame}.jpg"
            shot = shoot(scene, _offset(rng, 0.02, 0.04), _offset(rng, 0.04, 0.08), rng.getrandbits(32))
            shot.save(path, quality=92, exif=_exif(taken + timedelta(seconds=frame), camera))
            files.append(CorpusFile(path, index, "burst", index))
        for number in range(negative_count(index)):
            path = folder / "other_days" / f"DSC_{index:04d}_{number}.jpg"
            other = make_scene(colour, shape, rng)
            shoot(other, noise_seed=rng.getrandbits(32)).save(
                path, quality=92, exif=_exif(taken + timedelta(days=3 + number, hours=2), camera))
            files.append(CorpusFile(path, fresh, "negative", None))
            fresh += 1
    return DupeCorpus(tuple(files), () if heif else ("heic",))
