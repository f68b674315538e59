"""A large preview of one result: the picture, its path, date and size, its tags
as chips to confirm, reject, remove or add, the text read in it (the words the search
matched marked on the picture and in the text); arrows step through."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ..core.catalog.text import Line
from ..core.catalog.text_search import TextTerm
from ..core.files.thumbnails import ThumbnailCache
from ..core.models import Photo, Tag
from ..core.search.text_marks import TextMark, text_marks
from ..core.units import human_size
from .photo_text import PhotoTextPanel, marked_pixmap
from .tag_chips import TagChips
from .tasks import TaskRunner

PREVIEW_SIZE = 1024
# (photo, action, tag names, done): hands a tag decision to the writer; ``done``
# is called on the GUI thread with the error, if any.
ChangeTags = Callable[[Photo, str, list[str], Callable[[BaseException | None], None]], None]
# The lines read in a photo, or None when it has not been read (run off the GUI thread).
TextOf = Callable[[Photo], list[Line] | None]


def describe_photo(photo: Photo, tags: list[Tag]) -> str:
    parts = [str(photo.path)]
    if photo.taken_at:
        parts.append(datetime.datetime.fromtimestamp(photo.taken_at).strftime("%Y-%m-%d %H:%M"))
    if photo.width and photo.height:
        parts.append(f"{photo.width} x {photo.height}")
    parts.append(human_size(photo.size))
    if tags:
        parts.append("tags: " + ", ".join(t.name for t in tags))
    return "  ·  ".join(parts)


class PreviewDialog(QDialog):
    def __init__(self, photos: list[Photo], row: int, thumbnails: ThumbnailCache,
                 runner: TaskRunner, tags_of: Callable[[Photo], list[Tag]], parent=None,
                 change_tags: ChangeTags | None = None, tag_names: list[str] | None = None,
                 text_of: TextOf | None = None, marked: Sequence[TextTerm] = ()) -> None:
        super().__init__(parent)
        self.photos, self.row = photos, row
        self._thumbnails, self._runner, self._tags_of = thumbnails, runner, tags_of
        self._change_tags = change_tags
        self._text_of, self._marked = text_of, tuple(marked)
        self.marks: list[TextMark] = []  # the current photo's marked words
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(480, 360)
        # The photo takes the focus first: the arrow keys it ignores step through the
        # photos (a focused "Add tag…" field would keep them for its own cursor).
        self.picture.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.picture.setAccessibleName("Photo")
        self.picture.setToolTip("Left and right arrow keys: the previous and next photo")
        self.details = QLabel(wordWrap=True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tags = TagChips(self._change if change_tags is not None else None)
        self.tags.set_completions(tag_names or [])
        self.tag_error = QLabel(wordWrap=True)
        self.tag_error.setStyleSheet("color: palette(highlight)")
        self.tag_error.hide()
        self.text_panel = PhotoTextPanel()
        buttons = QHBoxLayout()
        for text, action in (("Open in Default Viewer", self.open_externally),
                             ("Show in Folder", self.show_in_folder), ("Copy Path", self.copy_path)):
            button = QPushButton(text)
            button.setAutoDefault(False)  # Enter in "Add tag…" adds a tag, it opens nothing
            button.clicked.connect(action)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.tags)
        layout.addWidget(self.tag_error)
        layout.addWidget(self.text_panel)
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
        self.tags.show_tags([])  # the last photo's chips must not be acted on for this one
        self.tag_error.hide()
        self.text_panel.show_lines(None, [])
        self.marks = []
        self.picture.setText("Loading…")
        row_now = self.row
        text_of = self._text_of

        def load() -> tuple[QImage | None, list[Tag], list[Line] | None]:  # off the GUI thread
            path = self._thumbnails.get(photo, PREVIEW_SIZE)
            lines = text_of(photo) if text_of is not None else None
            return (QImage(str(path)) if path else None), self._tags_of(photo), lines

        self._runner.run(load, lambda loaded, error: self._loaded(row_now, loaded))

    def _loaded(self, row: int, loaded: tuple[QImage | None, list[Tag], list[Line] | None] | None) -> None:
        if row != self.row:
            return  # the user moved on meanwhile
        image, tags, lines = loaded or (None, [], None)
        self.details.setText(describe_photo(self.photo, []))  # the tags are the chips below
        self.tags.show_tags(tags)
        self.marks = text_marks(lines or [], self._marked)
        self.text_panel.show_lines(lines, self.marks)
        if image is None or image.isNull():
            self.picture.setText("This photo can't be shown (missing or unreadable).")
            return
        pixmap = QPixmap.fromImage(image).scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        self.picture.setPixmap(marked_pixmap(pixmap, self.marks))

    def _change(self, action: str, names: list[str]) -> None:
        """A chip's decision: written by the worker, then the chips are read again."""
        if self._change_tags is None:
            return
        photo = self.photo
        self._change_tags(photo, action, names, lambda error: self._changed(photo, error))

    def _changed(self, photo: Photo, error: BaseException | None) -> None:
        self.tag_error.setText(f"The tags could not be changed: {error}")
        self.tag_error.setVisible(error is not None)
        if photo != self.photo:
            return  # the user moved on; the next photo's tags were read for it
        self._runner.run(lambda: self._tags_of(photo),
                         lambda tags, error: self._tags_read(photo, tags, error))

    def _tags_read(self, photo: Photo, tags: list[Tag] | None, error: BaseException | None) -> None:
        if photo == self.photo and tags is not None and error is None:
            self.tags.show_tags(tags)

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
