"""A large preview of one result: the picture, its path, date and size; arrows step through."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..core.models import Photo, Tag
from ..core.thumbnails import ThumbnailCache
from .tasks import TaskRunner

PREVIEW_SIZE = 1024


def describe_photo(photo: Photo, tags: list[Tag]) -> str:
    parts = [str(photo.path)]
    if photo.taken_at:
        parts.append(datetime.datetime.fromtimestamp(photo.taken_at).strftime("%Y-%m-%d %H:%M"))
    if photo.width and photo.height:
        parts.append(f"{photo.width} x {photo.height}")
    parts.append(f"{photo.size / 2**20:.1f} MB")
    if tags:
        parts.append("tags: " + ", ".join(t.name for t in tags))
    return "  ·  ".join(parts)


class PreviewDialog(QDialog):
    def __init__(self, photos: list[Photo], row: int, thumbnails: ThumbnailCache,
                 runner: TaskRunner, tags_of: Callable[[Photo], list[Tag]], parent=None) -> None:
        super().__init__(parent)
        self.photos, self.row = photos, row
        self._thumbnails, self._runner, self._tags_of = thumbnails, runner, tags_of
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(480, 360)
        self.details = QLabel(wordWrap=True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for text, action in (("Open in Default Viewer", self.open_externally),
                             ("Show in Folder", self.show_in_folder), ("Copy Path", self.copy_path)):
            button = QPushButton(text)
            button.clicked.connect(action)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.resize(1000, 800)
        self.show_row(row)

    @property
    def photo(self) -> Photo:
        return self.photos[self.row]

    def show_row(self, row: int) -> None:
        self.row = max(0, min(row, len(self.photos) - 1))
        photo = self.photo
        self.setWindowTitle(f"{photo.path.name} ({self.row + 1} of {len(self.photos)})")
        self.details.setText(describe_photo(photo, []))
        self.picture.setText("Loading…")
        row_now = self.row

        def load() -> tuple[QImage | None, list[Tag]]:  # off the GUI thread: file and SQL
            path = self._thumbnails.get(photo, PREVIEW_SIZE)
            return (QImage(str(path)) if path else None), self._tags_of(photo)

        self._runner.run(load, lambda loaded, error: self._loaded(row_now, loaded))

    def _loaded(self, row: int, loaded: tuple[QImage | None, list[Tag]] | None) -> None:
        if row != self.row:
            return  # the user moved on meanwhile
        image, tags = loaded or (None, [])
        self.details.setText(describe_photo(self.photo, tags))
        if image is None or image.isNull():
            self.picture.setText("This photo can't be shown (missing or unreadable).")
            return
        pixmap = QPixmap.fromImage(image)
        self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.show_row(self.row + 1)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.show_row(self.row - 1)
        else:
            super().keyPressEvent(event)

    def open_externally(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.photo.path)))

    def show_in_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.photo.path).parent)))

    def copy_path(self) -> None:
        QGuiApplication.clipboard().setText(str(self.photo.path))
