"""The grid's model: search hits or the newest photos, thumbnails loaded on demand.

The view asks ``data()`` only for the cells it paints, so only visible photos
request a thumbnail; those are made (or read from the disk cache) in the
thumbnail pool as QImages (thread-safe) and become pixmaps on the GUI thread.

Requests are served newest first, a few at a time: after a fast scroll, the cells
now on screen come before the ones scrolled past, and requests nobody has repeated
for a while are dropped (a cell asks again when it is painted again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, QUrl
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from ..core.files.thumbnails import ThumbnailCache
from ..core.models import Photo
from .tasks import TaskRunner

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
STACK_ROLE = Qt.ItemDataRole.UserRole + 3  # the row's StackMark, or None
PIXMAP_CACHE = 3000  # decoded thumbnails kept in memory (~200 KB each at 256 px)
PAGE = 200  # library-view rows fetched at once
IN_FLIGHT = 2  # thumbnails being made at once (the thumbnail pool's size)
WANTED = 256  # newest requests kept waiting; older ones are forgotten
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class StackMark:
    """A row in a stack (a duplicate group folded into its best hit): the head carries
    the group's size; the members shown by expanding it say whose they are."""

    stack_id: int
    size: int
    head: bool = True


# A row as given: (photo, score), or with its stack's mark (search hits heading one).
Row = tuple[Photo, float | None] | tuple[Photo, float | None, StackMark | None]
Item = tuple[Photo, float | None, StackMark | None]


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailCache, runner: TaskRunner, size: int = 256) -> None:
        super().__init__()
        self.thumbnails = thumbnails
        self._runner = runner
        self.size = size
        # None: a row of the library view whose page has not arrived yet.
        self._items: list[Item | None] = []
        self.expanded: set[int] = set()  # the stacks whose members are shown
        self._rows_by_hash: dict[str, list[int]] = {}
        self._icons: OrderedDict[str, QIcon] = OrderedDict()
        self._wanted: OrderedDict[str, Photo] = OrderedDict()  # waiting, newest last
        self._in_flight: set[str] = set()
        blank = QPixmap(size, size)
        blank.fill(QColor(128, 128, 128, 40))
        self._placeholder = QIcon(blank)
        # The library view has all its rows from the start (the scroll bar is true
        # to 100,000 photos, the end is one drag away); a row's page is fetched off
        # the GUI thread when one of its cells is first painted.
        self._fetch_page: Callable[[int], None] | None = None
        self._pages_asked: set[int] = set()

    def set_items(self, rows: Sequence[Row], total: int | None = None,
                  fetch_page: Callable[[int], None] | None = None) -> None:
        """Replace the rows. With ``total`` beyond ``items`` (the library view), the
        other rows wait for ``fetch_page(offset)`` to bring their page to ``fill``."""
        self.beginResetModel()
        items = [_item(row) for row in rows]
        self._items = [*items, *[None] * max(0, (total or 0) - len(items))]
        self._rows_by_hash = {}
        self._wanted.clear()  # the old rows' cells are gone from the screen
        self.expanded = set()
        self._remember(0, items)
        self._fetch_page, self._pages_asked = fetch_page, {0}
        self.endResetModel()

    def fill(self, offset: int, rows: Sequence[Row]) -> None:
        """A page that ``fetch_page`` brought (rows past the end are ignored: the
        library shrank meanwhile, and the next refresh shows it)."""
        items = [_item(row) for row in rows[: max(0, len(self._items) - offset)]]
        if not items:
            return
        self._items[offset : offset + len(items)] = items
        self._remember(offset, items)
        self.dataChanged.emit(self.index(offset), self.index(offset + len(items) - 1))

    def _remember(self, offset: int, items: list[Item]) -> None:
        for row, (photo, _, _) in enumerate(items, offset):
            if photo.content_hash:
                self._rows_by_hash.setdefault(photo.content_hash, []).append(row)

    # -- stacks ------------------------------------------------------------------------
    def stack_at(self, row: int) -> StackMark | None:
        item = self._items[row] if 0 <= row < len(self._items) else None
        return item[2] if item is not None else None

    def expand_stack(self, row: int, members: Sequence[Photo]) -> int:
        """Show a stack's other photos after its head at ``row``; how many were added.
        Paged views (rows fetched by offset) never fold, so never expand."""
        mark = self.stack_at(row)
        if mark is None or not mark.head or mark.stack_id in self.expanded or self._fetch_page:
            return 0
        shown = {item[0].id for item in self._items if item is not None}
        added: list[Item] = [(p, None, StackMark(mark.stack_id, mark.size, head=False))
                             for p in members if p.id not in shown]
        self.expanded.add(mark.stack_id)
        if added:
            self.beginInsertRows(QModelIndex(), row + 1, row + len(added))
            self._items[row + 1 : row + 1] = added
            self._reindex()
            self.endInsertRows()
        self.dataChanged.emit(self.index(row), self.index(row))  # its badge says so
        return len(added)

    def collapse_stack(self, stack_id: int) -> int:
        """Hide the members an expanded stack showed; how many rows went."""
        rows = [r for r, item in enumerate(self._items) if item is not None and item[2] is not None
                and item[2].stack_id == stack_id and not item[2].head]
        self.expanded.discard(stack_id)
        for row in reversed(rows):  # one by one: members sit together, but robustly
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._items[row]
            self.endRemoveRows()
        self._reindex()
        heads = [r for r, item in enumerate(self._items) if item is not None and item[2] is not None
                 and item[2].stack_id == stack_id]
        for row in heads:
            self.dataChanged.emit(self.index(row), self.index(row))
        return len(rows)

    def _reindex(self) -> None:
        self._rows_by_hash = {}
        for row, item in enumerate(self._items):
            if item is not None and item[0].content_hash:
                self._rows_by_hash.setdefault(item[0].content_hash, []).append(row)

    def _ask_for_page(self, row: int) -> None:
        page = row // PAGE
        if self._fetch_page is not None and page not in self._pages_asked:
            self._pages_asked.add(page)
            self._fetch_page(page * PAGE)

    def photo(self, row: int) -> Photo | None:
        """The photo at ``row``; None until its page arrives, or past the end."""
        if not 0 <= row < len(self._items):
            return None
        item = self._items[row]
        return item[0] if item is not None else None

    def photos(self) -> list[Photo]:
        """The photos of the rows that have arrived, in order."""
        return [item[0] for item in self._items if item is not None]

    # -- dragging photos out: real file URLs, so a file manager or another app takes the files
    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if self.photo(index.row()) is not None else flags

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        paths = dict.fromkeys(p.path for i in indexes if (p := self.photo(i.row())) is not None)
        data.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if item is None:  # its page is on its way
            if role == Qt.ItemDataRole.DecorationRole:
                # Painting asks for this role; keyboard search (match() over every
                # row's text) must not fetch all 500 pages of a 100k library.
                self._ask_for_page(index.row())
                return self._placeholder
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        photo, score, stack = item
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
        if role == STACK_ROLE:
            return stack
        return None

    def _icon(self, photo: Photo) -> QIcon:
        key = photo.content_hash
        if key is None:
            return self._placeholder
        if key in self._icons:
            self._icons.move_to_end(key)
            return self._icons[key]
        if key not in self._in_flight:
            self._wanted[key] = photo
            self._wanted.move_to_end(key)  # asked again: it is on screen now
            while len(self._wanted) > WANTED:
                self._wanted.popitem(last=False)
            self._pump()
        return self._placeholder

    def _pump(self) -> None:
        while self._wanted and len(self._in_flight) < IN_FLIGHT:
            key, photo = self._wanted.popitem(last=True)
            self._in_flight.add(key)
            started = self._runner.run(lambda photo=photo: _load(self.thumbnails, photo, self.size),
                                       lambda image, error, key=key: self._loaded(key, image))
            if started is None:  # shutting down
                self._in_flight.discard(key)
                return

    @property
    def waiting(self) -> int:
        return len(self._wanted) + len(self._in_flight)

    def _loaded(self, key: str, image: QImage | None) -> None:
        self._in_flight.discard(key)
        self._pump()
        loaded = QIcon(QPixmap.fromImage(image)) if image is not None else self._placeholder
        self._icons[key] = loaded
        while len(self._icons) > PIXMAP_CACHE:
            self._icons.popitem(last=False)
        for row in self._rows_by_hash.get(key, []):
            cell = self.index(row)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])


def _item(row: Row) -> Item:
    photo, score, *mark = row
    return photo, score, (mark[0] if mark else None)


def _load(thumbnails: ThumbnailCache, photo: Photo, size: int) -> QImage | None:
    # Decoded once, here; a cached file Qt cannot read is made again by the cache.
    return thumbnails.load(photo, size, _qimage)


def _qimage(path: Path) -> QImage | None:
    image = QImage(str(path))
    return None if image.isNull() else image
