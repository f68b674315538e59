"""Text in photos, read offline with RapidOCR (the `ocr` extra).

RapidOCR runs the PP-OCR text detector and recogniser that ship inside its wheel on ONNX
Runtime, so nothing is downloaded at run time. Most photos hold no text, so a reading
starts with a cheap probe: the detector alone on a small copy of the photo. Only when the
probe finds text does the full pass (detector at working size, then the recogniser on
each found line) run. Lines the recogniser is unsure of are dropped: on pictures without
text they are where false text comes from (benchmarks/bench_ocr.py measured the bar).

rapidocr (and OpenCV under it) is imported inside functions only: importing photoclip
never loads it.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

OCR_MISSING = 'Reading text in photos needs the "ocr" extra: pip install "photoclip[ocr]"'

# The working size handed to the engine: bounds its memory (the detector's feature maps
# grow with the pixel count) while keeping screenshot text of 12 px and up readable.
MAX_SIDE = 2048
# The probe's size: the detector finds text lines well below the size at which they can
# be read, so a small copy answers "any text here?" at a fraction of the cost.
PROBE_SIDE = 640
# A probe box covering this share of the frame or more is the detector's answer to a flat
# picture, not a text line.
FRAME_SHARE = 0.8
# Recognised lines under this confidence are dropped (chosen on the no-text corpus: see
# benchmarks/results/bench_ocr.json; real text on clean images reads at 0.9 and above).
MIN_CONFIDENCE = 0.75
# The detector's per-box score bar (RapidOCR's default is 0.5).
BOX_THRESHOLD = 0.6

Point = tuple[float, float]


class OcrUnavailable(RuntimeError):
    """Raised by TextReader when the `ocr` extra is not installed (the message says so)."""


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its text, its 4 corners in the original image's pixels."""

    text: str
    box: tuple[Point, ...]
    confidence: float


@dataclass(frozen=True)
class PhotoText:
    """All lines read in one photo, top to bottom, the engine that read them, and the
    size (width, height) of the image their boxes are in."""

    lines: tuple[TextLine, ...]
    engine: str
    size: tuple[int, int]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def ocr_available() -> bool:
    """True when the `ocr` extra (rapidocr) is installed."""
    return importlib.util.find_spec("rapidocr") is not None


def engine_version() -> str:
    """The engine, its version and models, as stored beside each reading."""
    from rapidocr._version import __version__ as version

    # The probe's size and the confidence bar decide what is kept as much as the models
    # do: a change to either reads every photo again.
    return (f"rapidocr {version} PP-OCRv6 det small + rec small (multilingual); "
            f"probe {PROBE_SIDE} px, confidence {MIN_CONFIDENCE}")


def _engine_params(probe: bool, min_confidence: float) -> dict[str, Any]:
    """RapidOCR settings: a detector-only probe, or the full detector + recogniser."""
    from rapidocr import EngineType, LangDet, LangRec, ModelType, OCRVersion

    params: dict[str, Any] = {
        "Global.log_level": "error",  # an empty detection is the common case, not a warning
        # We hand it images already within MAX_SIDE; it must not resize them again.
        "Global.max_side_len": MAX_SIDE,
        "Global.text_score": min_confidence,
        # The angle classifier only fixes upside-down lines, rare in photos: skip it.
        "Global.use_cls": False,
        "Det.engine_type": EngineType.ONNXRUNTIME,
        "Det.lang_type": LangDet.EN,
        "Det.model_type": ModelType.SMALL,
        "Det.ocr_version": OCRVersion.PPOCRV6,
        "Det.box_thresh": BOX_THRESHOLD,
        # "max": shrink to the bound, never enlarge (RapidOCR's "min" upscales the short side).
        "Det.limit_type": "max",
        "Det.limit_side_len": PROBE_SIDE if probe else MAX_SIDE,
        "Rec.engine_type": EngineType.ONNXRUNTIME,
        "Rec.lang_type": LangRec.EN,  # routed to the multilingual PP-OCRv6 model
        "Rec.model_type": ModelType.SMALL,
        "Rec.ocr_version": OCRVersion.PPOCRV6,
    }
    if probe:
        params["Global.use_rec"] = False
    return params


def _shrunk(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    """An RGB copy whose long side is at most max_side, and the scale applied to it."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    longest = max(rgb.size)
    if longest <= max_side:
        return rgb, 1.0
    scale = max_side / longest
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    return rgb.resize(size, Image.Resampling.BILINEAR), scale


def _box_area(box: Any) -> float:
    """Area of a 4-corner box (shoelace formula)."""
    xs, ys = [float(x) for x, _ in box], [float(y) for _, y in box]
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2


def _lines_from(result: Any, scale: float, min_confidence: float) -> tuple[TextLine, ...]:
    """RapidOCR's output as TextLines, boxes scaled back to the original image."""
    if result.txts is None or result.boxes is None or result.scores is None:
        return ()
    lines = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        if score < min_confidence or not text.strip():
            continue
        corners = tuple((float(x) / scale, float(y) / scale) for x, y in box)
        lines.append(TextLine(text=text.strip(), box=corners, confidence=float(score)))
    return tuple(lines)


class TextReader:
    """Reads the text in photos. Loads the models once; safe to share between threads.

    Calls are serialised: RapidOCR keeps per-call state on its objects, and ONNX Runtime
    already spreads one call over the cores.
    """

    def __init__(self, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._lock = threading.Lock()
        self._probe: Any = None
        self._full: Any = None
        self.engine = ""

    def _load(self) -> None:
        """Builds both engines on first use (each loads its ONNX sessions lazily)."""
        if self._full is not None:
            return
        if not ocr_available():
            raise OcrUnavailable(OCR_MISSING)
        from rapidocr import RapidOCR

        self._probe = RapidOCR(params=_engine_params(True, self.min_confidence))
        self._full = RapidOCR(params=_engine_params(False, self.min_confidence))
        self.engine = engine_version()

    def has_text(self, image: Image.Image) -> bool:
        """The probe alone: does the detector see any text line on a small copy?"""
        with self._lock:
            self._load()
            return self._probe_finds_text(image)

    def _probe_finds_text(self, image: Image.Image) -> bool:
        small, _ = _shrunk(image, PROBE_SIDE)
        boxes = getattr(self._probe(small), "boxes", None)
        if boxes is None:
            return False
        # On a flat picture the detector answers with one box over the whole frame (score
        # ~0.6): no text line fills the frame, so such a box is not text.
        frame = small.width * small.height
        return any(_box_area(box) < FRAME_SHARE * frame for box in boxes)

    def read(self, image: Image.Image, full: Callable[[], Image.Image] | None = None) -> PhotoText:
        """The text lines in image (none when the probe finds no text).

        ``full``: where ``image`` is a small decode made for the probe, the larger one to
        read from once the probe finds text (most photos never need it decoded)."""
        with self._lock:
            self._load()
            if not self._probe_finds_text(image):
                return PhotoText(lines=(), engine=self.engine, size=image.size)
            source = image if full is None else full()
            working, scale = _shrunk(source, MAX_SIDE)
            lines = _lines_from(self._full(working), scale, self.min_confidence)
            return PhotoText(lines=lines, engine=self.engine, size=source.size)
