"""The viewer's info panel: what PhotoClip knows of the photo on show (when and where it
was taken, with what, its exposure, size, folder, tags and where they came from, the
text read in it, the stack it belongs to).

``read_photo_info`` gathers it all in one go and is Qt-free: the viewer runs it off the
GUI thread (it reads the catalog and the photo's EXIF header) and hands the rows to
``InfoPanel``, which only shows them.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ..core.files.exif import swaps_sides
from ..core.models import Photo, PhotoMeta, Tag
from ..core.units import human_size

if TYPE_CHECKING:
    from ..core.library import Library

log = logging.getLogger(__name__)

# The panel's rows, in the order shown; a row without a value is hidden.
FIELDS = ("Taken", "Place", "Camera", "Lens", "Exposure", "Dimensions", "Size on disk",
          "File", "Folder", "Tags", "Text", "Stack")
PhotoInfo = dict[str, str]  # field -> its text
STACK_TIER = "similar"  # the widest tier: copies and near-copies are in it too
_EXIF_IFD = 0x8769
_EXPOSURE_TIME, _F_NUMBER, _ISO, _FOCAL_LENGTH = 0x829A, 0x829D, 0x8827, 0x920A


def read_photo_info(library: Library, photo: Photo) -> PhotoInfo:
    """Everything the panel shows of ``photo`` (slow: the catalog and the file's header)."""
    meta = library.meta_of([photo.id]).get(photo.id)
    stored = library.text_of([photo.id]).get(photo.id)
    stack = library.catalog.stacks_of([photo.id], STACK_TIER).get(photo.id)
    info: PhotoInfo = {
        "Taken": taken_text(photo, meta),
        "Place": ", ".join(_unique([meta.city, meta.region, meta.country])) if meta else "",
        "Camera": (meta.camera or "") if meta else "",
        "Lens": (meta.lens or "") if meta else "",
        "Exposure": exposure_of(photo.path) or "",
        "Dimensions": dimensions_text(photo, meta),
        "Size on disk": human_size(photo.size),
        "File": photo.path.name,
        "Folder": str(photo.path.parent),
        "Tags": "\n".join(describe_tag(tag) for tag in library.catalog.tags(photo.id)),
        "Text": "" if stored is None else ("\n".join(line[0] for line in stored.lines) or "None found"),
        "Stack": f"one of {stack[1]} {STACK_TIER} shots" if stack else "",
    }
    return info


def taken_text(photo: Photo, meta: PhotoMeta | None) -> str:
    """"2024-07-03 14:05", marked "(file date)" when only the file's time is known."""
    local = meta.taken_local if meta else None
    if local:
        shown = local.replace("T", " ")[:16]
        if meta is not None and meta.taken_source == "file":
            return f"{shown} (file date)"
        offset = meta.taken_offset_min if meta else None
        return shown if offset is None else f"{shown} (UTC{offset // 60:+03d}:{abs(offset) % 60:02d})"
    seconds = photo.taken_at if photo.taken_at is not None else photo.mtime_ns / 1e9
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") + " (file date)"


def dimensions_text(photo: Photo, meta: PhotoMeta | None) -> str:
    """"4000 × 3000 (12.0 MP)" ("640 × 480" under a megapixel), as shown upright (the
    index keeps the upright size; the headers, the size as stored)."""
    width, height = photo.width, photo.height
    if (not width or not height) and meta is not None and meta.width and meta.height:
        turned = swaps_sides(meta.orientation)
        width, height = (meta.height, meta.width) if turned else (meta.width, meta.height)
    if not width or not height:
        return ""
    megapixels = width * height / 1e6
    return f"{width} × {height}" + (f" ({megapixels:.1f} MP)" if megapixels >= 1 else "")


def describe_tag(tag: Tag) -> str:
    """"beach — user", "sunset — auto from label set scenes at 0.87"."""
    if tag.source == "auto":
        where = f" from label set {tag.label_set}" if tag.label_set else ""
        score = f" at {tag.score:.2f}" if tag.score is not None else ""
        return f"{tag.name} — auto{where}{score}"
    if tag.label_set == "keywords":
        return f"{tag.name} — from the photo's keywords"
    return f"{tag.name} — user"


def exposure_of(path: Path) -> str | None:
    """"1/250 s · f/2.8 · ISO 200 · 35 mm" from the photo's EXIF, or None. Reads the header
    only (Pillow opens lazily); any unreadable value is left out, never an error."""
    try:
        with Image.open(path) as image:
            exif = image.getexif().get_ifd(_EXIF_IFD)
    except Exception as exc:  # missing, unreadable or hostile: no exposure line
        log.debug("no exposure for %s: %s", path, exc)
        return None
    parts = [_exposure_time(exif.get(_EXPOSURE_TIME)), _number(exif.get(_F_NUMBER), "f/{:g}", 1),
             _iso(exif.get(_ISO)), _number(exif.get(_FOCAL_LENGTH), "{:g} mm", 0)]
    shown = [part for part in parts if part]
    return " · ".join(shown) or None


def _exposure_time(value: object) -> str | None:
    seconds = _float(value)
    if seconds is None or seconds <= 0:
        return None
    return f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s"


def _number(value: object, pattern: str, digits: int) -> str | None:
    number = _float(value)
    return None if number is None or number <= 0 else pattern.format(round(number, digits))


def _iso(value: object) -> str | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    number = _float(value)
    return None if number is None or number <= 0 else f"ISO {number:.0f}"


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]  # IFDRational, int, float or garbage
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _unique(parts: list[str | None]) -> list[str]:
    """Non-empty parts, a repeated one once ("Singapore, Singapore" reads as one)."""
    kept: list[str] = []
    for part in parts:
        if part and part not in kept:
            kept.append(part)
    return kept


class InfoPanel(QWidget):
    """The rows of ``read_photo_info``; the text is selectable, each value named for a
    screen reader by its field."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Photo information")
        self.setMinimumWidth(220)
        body = QWidget()
        self.form = QFormLayout(body)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.values: dict[str, QLabel] = {}
        for field in FIELDS:
            value = QLabel()
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)  # a file name or OCR text is not markup
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
            value.setAccessibleName(field)
            title = QLabel(f"<b>{field}</b>")
            title.setBuddy(value)
            self.form.addRow(title, value)
            self.values[field] = value
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.show_info({"File": ""})

    def show_info(self, info: PhotoInfo) -> None:
        for field, value in self.values.items():
            text = info.get(field, "")
            value.setText(text)
            self.form.setRowVisible(value, bool(text))

    def show_loading(self, photo: Photo) -> None:
        """While the rows are read: what is known without reading (the last photo's must go)."""
        self.show_info({"File": photo.path.name, "Folder": str(photo.path.parent),
                        "Size on disk": human_size(photo.size), "Taken": "Reading…"})

    def text(self, field: str) -> str:
        return self.values[field].text()
