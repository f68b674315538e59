"""The text pass: reading the text in indexed photos, after CLIP indexing.

Search comes first: this pass only looks at photos already indexed, and runs after
indexing (``photoclip index`` before it exits, the live worker a batch at a time when
nothing is pending). The work list is whatever the catalog has not read with this
engine (``Catalog.photos_missing_text``), and each batch is saved in one transaction,
so a run that is stopped or killed loses at most the batch in flight and the next run
resumes where it stopped. A photo with no text is saved with no lines (never read
again); a file that cannot be decoded now is skipped this run and asked again next run.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PIL import Image

from .catalog.store import Catalog
from .catalog.text import Line
from .files.imaging import ImageRejected, decode_for_model
from .files.ocr import MAX_SIDE, PROBE_SIDE, PhotoText, TextReader, engine_version, ocr_available
from .models import Photo

log = logging.getLogger(__name__)

BATCH = 32  # photos per transaction: OCR takes 0.3-4 s a photo here, so a kill loses little
# Decode size when the photo's size is unknown: the integer reduction keeps the short
# side at least this, which leaves 12 px screenshot text readable.
FALLBACK_MIN_SIDE = 1024

# (done, total) after each photo
TextProgress = Callable[[int, int], None]


class PhotoReader(Protocol):
    """What the pass needs of a reader (``files.ocr.TextReader``; tests pass fakes)."""

    engine: str

    def read(self, image: Image.Image, full: Callable[[], Image.Image] | None = None) -> PhotoText:
        """The text in ``image``; ``full`` gives a larger decode to read from when
        ``image`` (decoded for the probe) shows text."""
        ...


def reader_engine(reader: PhotoReader) -> str:
    """The engine string readings are stored under. TextReader only knows its own once
    its models are loaded; ``engine_version`` tells it without loading them."""
    return reader.engine or engine_version()


def read_text_in_photos(
    catalog: Catalog, reader: PhotoReader, *, progress: TextProgress | None = None,
    cancel: threading.Event | None = None, batches: int | None = None,
) -> int:
    """Read and save the text of the indexed photos not read by ``reader``'s engine yet
    (all, or ``batches`` batches); returns how many photos were read. Call while holding
    the writer lock."""
    engine = reader_engine(reader)
    total = catalog.count_missing_text(engine)
    done = 0
    passed: set[int] = set()  # unreadable now, or read by another engine: not again this run
    while not _stopped(cancel) and (batches is None or batches > 0):
        batches = None if batches is None else batches - 1
        todo = [row for row in catalog.photos_missing_text(BATCH + len(passed), engine)
                if row[0] not in passed][:BATCH]
        if not todo:
            break
        photos = catalog.photos_by_ids([photo_id for photo_id, _ in todo])
        read: list[tuple[int, list[Line], str]] = []
        for photo_id, path in todo:
            if _stopped(cancel):  # the batch so far is kept: each photo was read whole
                break
            passed.add(photo_id)
            text = _read_one(reader, path, photos.get(photo_id))
            if text is not None:
                read.append((photo_id, stored_lines(text), text.engine))
            if progress is not None:
                progress(done + len(read), total)
        catalog.save_text_many(read)
        done += len(read)
    return done


def _stopped(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _min_side(photo: Photo | None, long_side: int) -> int:
    """The short side to decode at so the long side is at least ``long_side`` (the reader
    shrinks larger ones itself): the decode's integer reduction never goes below."""
    if photo is None or not photo.width or not photo.height:
        return FALLBACK_MIN_SIDE
    short, long = sorted((photo.width, photo.height))
    return max(1, min(short, math.ceil(long_side * short / long)))


def _decode(path: Path, min_side: int) -> Image.Image:
    with path.open("rb") as file:
        return decode_for_model(file, min_side).image


def _read_one(reader: PhotoReader, path: Path, photo: Photo | None) -> PhotoText | None:
    """The photo's text, or None when its file cannot be decoded now (asked again next run).

    Decoded twice at most: small for the detector's probe (JPEG's reduced decode makes
    that a fraction of a full one), and at reading size only when the probe sees text,
    which most photos never need."""
    try:
        small = _decode(path, _min_side(photo, PROBE_SIDE))
        return reader.read(small, lambda: _decode(path, _min_side(photo, MAX_SIDE)))
    except (OSError, ImageRejected) as exc:
        log.info("text of %s not read now (%s); asked again next run", path, exc)
        return None


def stored_lines(text: PhotoText) -> list[Line]:
    """The lines with their boxes as fractions of the picture's width and height (as
    shown, after its EXIF orientation), whatever size it was decoded at for reading."""
    width, height = text.size
    return [(line.text, tuple((x / width, y / height) for x, y in line.box), line.confidence)
            for line in text.lines]


# Overrides the ``ocr`` setting for one run ("off": scripts, tests, a slow machine).
OCR_ENV = "PHOTOCLIP_OCR"


def text_reader_for(mode: str) -> PhotoReader | None:
    """The reader the ``ocr`` setting asks for: none when "off", or when the `ocr` extra
    is missing (``Library.read_text`` then refuses for "all"). Loads no model."""
    mode = os.environ.get(OCR_ENV) or mode
    if mode == "off" or not ocr_available():
        return None
    return _shared_reader()


@functools.cache
def _shared_reader() -> TextReader:
    # One per process: its models load once (~1 s), and it is safe to share between threads.
    return TextReader()
