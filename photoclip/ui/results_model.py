"""The grid's model: search hits or the newest photos, thumbnails loaded on demand.

The view asks ``data()`` only for the cells it paints, so only visible photos
request a thumbnail; those are made (or read from the disk cache) in the
thumbnail pool as QImages (thread-safe) and become pixmaps on the GUI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from ..core.models import Photo
from ..core.thumbnails import ThumbnailCache
from .tasks import TaskRunner

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
PIXMAP_CACHE = 3000  # decoded thumbnails kept in memory (~200 KB each at 256 px)
Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache, runner: TaskRunner, size: int = 256) -> None:
        super().__init__()
        self.thumbnails = thumbnails
        self._runner = runner
        self.size = size
        self._items: list[tuple[Photo, float | None]] = []
        self._rows_by_hash: dict[str, list[int]] = {}
        self._icons: OrderedDict[str, QIcon] = OrderedDict()
        self._loading: set[str] = set()
        blank = QPixmap(size, size)
        blank.fill(QColor(128, 128, 128, 40))
        self._placeholder = QIcon(blank)
        # Paging for the whole-library view: the view asks for more near the end of
        # the list, the handler fetches a page off the GUI thread and appends it.
        self._fetch_more: Callable[[int], None] | None = None
        self._fetching = False

    def set_items(self, items: list[tuple[Photo, float | None]],
                  fetch_more: Callable[[int], None] | None = None) -> None:
        """Replace the rows; ``fetch_more(offset)`` is called when the view wants more."""
        self.beginResetModel()
        self._items = []
        self._rows_by_hash = {}
        self._remember(items)
        self._fetch_more, self._fetching = fetch_more, False
        self.endResetModel()

    def append_items(self, items: list[tuple[Photo, float | None]]) -> None:
        """A page fetched for ``fetch_more``; an empty one ends the paging."""
        self._fetching = False
        if not items:
            self._fetch_more = None
            return
        self.beginInsertRows(QModelIndex(), len(self._items), len(self._items) + len(items) - 1)
        self._remember(items)
        self.endInsertRows()

    def _remember(self, items: list[tuple[Photo, float | None]]) -> None:
        for photo, score in items:
            if photo.content_hash:
                self._rows_by_hash.setdefault(photo.content_hash, []).append(len(self._items))
            self._items.append((photo, score))

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and self._fetch_more is not None and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt's signature
        if self.canFetchMore(parent):
            self._fetching = True
            self._fetch_more(len(self._items))  # type: ignore[misc]

    def photo(self, row: int) -> Photo:
        return self._items[row][0]

    def photos(self) -> list[Photo]:
        return [photo for photo, _ in self._items]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        photo, score = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return photo.path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            match = f"\nmatch {score:.3f}" if score is not None else ""
            return f"{photo.path}{match}"
        if role == Qt.ItemDataRole.DecorationRole:
            # An icon, not a pixmap: the view scales it into its icon size (a
            # 256 px thumbnail stays sharp in a 160 px cell on a 1.5x screen).
            return self._icon(photo)
        if role == PHOTO_ROLE:
            return photo
        if role == SCORE_ROLE:
            return score
        return None

    def _icon(self, photo: Photo) -> QIcon:
        key = photo.content_hash
        if key is None:
            return self._placeholder
        if key in self._icons:
            self._icons.move_to_end(key)
            return self._icons[key]
        if key not in self._loading:
            self._loading.add(key)
            self._runner.run(lambda: _load(self.thumbnails, photo, self.size),
                             lambda image, error: self._loaded(key, image))
        return self._placeholder

    def _loaded(self, key: str, image: QImage | None) -> None:
        self._loading.discard(key)
        loaded = QIcon(QPixmap.fromImage(image)) if image is not None else self._placeholder
        self._icons[key] = loaded
        while len(self._icons) > PIXMAP_CACHE:
            self._icons.popitem(last=False)
        for row in self._rows_by_hash.get(key, []):
            cell = self.index(row)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])


def _load(thumbnails: ThumbnailCache, photo: Photo, size: int) -> QImage | None:
    path: Path | None = thumbnails.get(photo, size)
    if path is None:
        return None
    image = QImage(str(path))
    return None if image.isNull() else image
