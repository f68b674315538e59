"""The duplicates review's pieces: a photo of a group as a card (its thumbnail and the
differences that decide which to keep), and the words for sizes, facts and group titles."""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from ..core.models import Photo, PhotoMeta
from ..core.units import human_size

CARD_THUMBNAIL = 220
FOLDER_CHARS = 36  # a folder's path on a card, at most


def group_title(count: int, extra_bytes: int, kept_all: bool) -> str:
    """A group's line in the list: "4 photos · 3.2 MB to free" (or "· keep all")."""
    if kept_all:
        return f"{count} photos · keep all"
    return f"{count} photos · {human_size(extra_bytes)} to free"


def capture_date(photo: Photo, meta: PhotoMeta | None) -> str:
    """The wall-clock time the photographer lived (from the headers); the file's date
    says it is one."""
    if meta is not None and meta.taken_local:
        local = meta.taken_local.replace("T", " ")[:16]
        return f"{local} (file date)" if meta.taken_source == "file" else local
    if photo.taken_at:
        return datetime.datetime.fromtimestamp(photo.taken_at).strftime("%Y-%m-%d %H:%M")
    return "no date"


def short_folder(folder: Path, limit: int = FOLDER_CHARS) -> str:
    """The folder, home as "~", its middle left out when long (the card's tooltip has it all)."""
    text = str(folder)
    home = str(Path.home())
    if text == home or text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 2
    return f"{text[:keep]}…{text[-(limit - 1 - keep):]}"


def photo_format(photo: Photo, meta: PhotoMeta | None) -> str:
    if meta is not None and meta.file_type:
        return meta.file_type.upper()
    return photo.path.suffix.lstrip(".").upper() or "unknown format"


def photo_facts(photo: Photo, meta: PhotoMeta | None, sharpness: float | None) -> list[str]:
    """What differs between copies: pixels, bytes, date, folder, format, sharpness."""
    pixels = f"{photo.width} × {photo.height}" if photo.width and photo.height else "size unknown"
    sharp = f"sharpness {sharpness:.0f}" if sharpness is not None else "sharpness unknown"
    return [pixels, human_size(photo.size), capture_date(photo, meta), short_folder(photo.path.parent),
            photo_format(photo, meta), sharp]


class PhotoCard(QFrame):
    """One photo of a group: its picture, its name and facts, and whether it is kept."""

    def __init__(self, photo: Photo, facts: Sequence[str]) -> None:
        super().__init__()
        self.photo = photo
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setLineWidth(2)
        self.setFixedWidth(CARD_THUMBNAIL + 24)
        self.picture = QLabel("Loading…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(CARD_THUMBNAIL, CARD_THUMBNAIL)
        self.picture.setAccessibleName(f"Picture of {photo.path.name}")
        name = QLabel(f"<b>{photo.path.name}</b>", wordWrap=True)
        self.facts = QLabel("\n".join(facts), wordWrap=True)
        self.facts.setToolTip(str(photo.path))
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mark = QLabel(wordWrap=True)
        self.mark.setAccessibleName("Keep or move")
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(name)
        layout.addWidget(self.facts)
        layout.addWidget(self.mark)
        layout.addStretch()
        self.setAccessibleName(photo.path.name)

    def show_image(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            self.picture.setText("Can't be shown")
            return
        self.picture.setPixmap(QPixmap.fromImage(image).scaled(
            self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def show_state(self, kept: bool, reason: str, kept_all: bool, current: bool) -> None:
        """Kept (with why), to be moved, or kept with the rest; the current card is framed."""
        if kept_all:
            self.mark.setText("Keep (keeping all)")
        elif kept:
            self.mark.setText(f"★ Keep — {reason}" if reason else "★ Keep")
        else:
            self.mark.setText("Move to trash")
        self.mark.setStyleSheet("font-weight: bold" if kept or kept_all else "color: palette(mid)")
        self.setStyleSheet("PhotoCard { border: 3px solid palette(highlight); }" if current else "")
        self.setAccessibleDescription(self.mark.text())
