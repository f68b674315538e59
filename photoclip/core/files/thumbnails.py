"""Thumbnails for the grid: made off the GUI thread, cached on disk by content and size.

Keyed by the photo's content hash (not its path), so a moved or renamed photo
keeps its thumbnail and an edited one gets a new one. Decoding goes through
``imaging.decode_for_model`` (JPEG draft mode, EXIF orientation, the same
pixel limits and format allowlist), so a thumbnail never costs a full decode
of a 12 MP photo and a hostile file is refused here exactly as in indexing.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PIL import Image

from ..models import Photo
from .atomic import write_bytes_atomically
from .imaging import ImageRejected, decode_for_model

log = logging.getLogger(__name__)
Decoded = TypeVar("Decoded")

DEFAULT_SIZE = 256  # pixels on the long side; the UI asks for its cell size x the screen scale
QUALITY = 85


class ThumbnailCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, content_hash: str, size: int) -> Path:
        # Two-level fan-out keeps directories small in a 100,000-photo library.
        return self.folder / str(size) / content_hash[:2] / f"{content_hash}.jpg"

    def cached(self, photo: Photo, size: int = DEFAULT_SIZE) -> Path | None:
        """The cached thumbnail if there is one (a stat, no decoding)."""
        if photo.content_hash is None:
            return None
        target = self.path_for(photo.content_hash, size)
        return target if _whole(target) else None

    def get(self, photo: Photo, size: int = DEFAULT_SIZE) -> Path | None:
        """The thumbnail's file, made if needed; None if the photo can't be read or decoded.

        Slow (reads and decodes the photo; decodes a cached file to check it): call it
        from a worker thread. A reader that decodes the file anyway calls load() instead.
        """
        if photo.content_hash is None:
            return None
        target = self.path_for(photo.content_hash, size)
        if _readable(target, size):
            return target
        return self._make(photo, photo.content_hash, size)

    def load(self, photo: Photo, size: int, decode: Callable[[Path], Decoded | None]) -> Decoded | None:
        """The thumbnail as ``decode`` reads it (the grid's QImage; None if it cannot), made
        if needed. The grid's hot path: the cached file gets only the cheap check (~25 us,
        against ~1 ms for get()'s decode) and is decoded once, by the reader; one that
        then fails to decode is made again from the photo."""
        if photo.content_hash is None:
            return None
        target = self.path_for(photo.content_hash, size)
        if _whole(target):
            decoded = decode(target)
            if decoded is not None:
                return decoded
            log.info("thumbnail %s damaged (it does not decode); made again", target)
        made = self._make(photo, photo.content_hash, size)
        return None if made is None else decode(made)

    def _make(self, photo: Photo, content_hash: str, size: int) -> Path | None:
        try:
            with open(photo.path, "rb") as source:  # decoded from the file, under the budget
                decoded = decode_for_model(source, size)
        except (OSError, ImageRejected) as exc:
            log.debug("no thumbnail for %s: %s", photo.path, exc)
            return None
        return self.save(content_hash, decoded.image, size)

    def save_from_decode(self, content_hash: str, image: Image.Image, original: tuple[int, int],
                         size: int = DEFAULT_SIZE) -> Path | None:
        """A thumbnail from a decode made for something else (the indexer's), when it is
        big enough: saves reading and decoding the photo a second time (a 12 MP JPEG
        is ~30-50 core-ms even in draft mode, making this thumbnail ~2 ms)."""
        if max(image.size) < min(size, max(original)):
            return None  # reduced below the thumbnail's size: get() decodes it properly later
        target = self.path_for(content_hash, size)
        if _whole(target):
            return target
        return self.save(content_hash, image.copy(), size)  # the caller still needs its image

    def save(self, content_hash: str, image: Image.Image, size: int) -> Path | None:
        """Shrink ``image`` (in place) to fit ``size`` and write it atomically (not
        fsynced: one per photo, and a file a crash leaves damaged is remade on read)."""
        target = self.path_for(content_hash, size)
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        encoded = io.BytesIO()
        try:
            image.save(encoded, "JPEG", quality=QUALITY)
            write_bytes_atomically(target, encoded.getvalue(), durable=False)
        except OSError as exc:  # a full disk, or a mode JPEG cannot hold: no thumbnail
            log.warning("cannot write thumbnail %s: %s", target, exc)
            return None
        return target


def _whole(path: Path) -> bool:
    """A cheap check (two small reads): a JPEG from its start to its end marker, as
    what a crash or a full disk leaves (empty, cut short) is not."""
    try:
        with open(path, "rb") as f:
            head = f.read(3)
            f.seek(-2, os.SEEK_END)
            return head == b"\xff\xd8\xff" and f.read(2) == b"\xff\xd9"
    except OSError:  # missing, or shorter than the seek
        return False


def _readable(path: Path, size: int) -> bool:
    """Whole and decodable (~1 ms at 256 px, in a worker thread): a damaged file is
    made again rather than handed to the grid as a blank or broken cell."""
    if not _whole(path):
        return False
    try:
        with Image.open(path) as image:
            if image.format != "JPEG" or max(image.size) > size:  # a flip in its header
                return False
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        log.info("thumbnail %s damaged (%s); made again", path, exc)
        return False
    return True
