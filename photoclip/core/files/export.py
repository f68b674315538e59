"""Copies of photos for elsewhere: the original files, or resized JPEGs, into a folder
the user chose. Reads photos, never writes them; a name already taken in the target is
never overwritten ("IMG_1 (2).jpg")."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from .atomic import fsync_file, temp_sibling, write_bytes_atomically
from .imaging import decode_for_model

EXPORT_QUALITY = 90


def free_name(folder: Path, name: str) -> Path:
    """``folder / name``, or "stem (2).ext", "stem (3).ext"... where that is taken."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while target.exists():
        target = folder / f"{stem} ({number}){suffix}"
        number += 1
    return target


def copy_originals(paths: Iterable[Path], folder: Path) -> list[Path]:
    """Copy each file (with its dates) into ``folder``; returns where each went. Each copy
    is made beside its target and renamed into place, so a copy cut short by a full disk
    or a crash never sits there under the photo's name."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in paths:
        target = free_name(folder, path.name)
        tmp = temp_sibling(target)
        try:
            shutil.copy2(path, tmp)
            fsync_file(tmp)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        copied.append(target)
    return copied


def export_resized(paths: Iterable[Path], folder: Path, long_side: int = 2048) -> list[Path]:
    """A JPEG of each photo at most ``long_side`` pixels long, upright (EXIF orientation
    applied), transparent parts over white, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        with path.open("rb") as file:
            image = decode_for_model(file, long_side).image  # upright, RGB, reduced cheaply
        if max(image.size) > long_side:
            scale = long_side / max(image.size)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.Resampling.LANCZOS)
        target = free_name(folder, f"{path.stem}.jpg")
        write_bytes_atomically(target, _jpeg(image))
        written.append(target)
    return written


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=EXPORT_QUALITY, optimize=True)
    return out.getvalue()
