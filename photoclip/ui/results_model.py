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

import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from ..core.files.thumbnails import ThumbnailCache
from ..core.models import Photo, PhotoMarks
from .tasks import TaskRunner

PHOTO_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
STACK_ROLE = Qt.ItemDataRole.UserRole + 3  # the row's StackMark, or None
MARKS_ROLE = Qt.ItemDataRole.UserRole + 4  # the row's PhotoMarks (favourite, stars, rotation), or None
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
        # Each row's width over height as shown, for the justified grid: known for every
        # row from the start (the catalog's shapes), pages or not. ``layout_epoch``
        # changes whenever they do, so the grid's delegate knows to lay out again.
        self._aspects = np.ones(0, dtype=np.float32)
        self._days: np.ndarray | None = None
        self.layout_epoch = 0
        # Favourites, stars and rotations of the rows painted, read in batches off the
        # GUI thread through ``marks_source`` (the window's: the catalog's marks_of).
        self.marks_source: Callable[[list[int]], dict[int, PhotoMarks]] | None = None
        self._marks: dict[int, PhotoMarks] = {}
        self._marks_wanted: set[int] = set()
        self._marks_timer = QTimer(self, singleShot=True, interval=0)
        self._marks_timer.timeout.connect(self._read_marks)
        self._rows_by_id: dict[int, list[int]] = {}

    def set_items(self, rows: Sequence[Row], total: int | None = None,
                  fetch_page: Callable[[int], None] | None = None,
                  aspects: np.ndarray | None = None, days: np.ndarray | None = None) -> None:
        """Replace the rows. With ``total`` beyond ``items`` (the library view), the
        other rows wait for ``fetch_page(offset)`` to bring their page to ``fill``.
        ``aspects``: every row's shape (the catalog's); else the rows' stored sizes.
        ``days``: every row's day (YYYYMMDD) when the rows are in date order: the grid's
        sections."""
        self.beginResetModel()
        items = [_item(row) for row in rows]
        self._items = [*items, *[None] * max(0, (total or 0) - len(items))]
        self._aspects = _aspects_for(self._items, aspects)
        self._days = days if days is not None and len(days) == len(self._items) else None
        self.layout_epoch += 1
        self._marks.clear()
        self._marks_wanted.clear()
        self._rows_by_id = {}
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
            self._rows_by_id.setdefault(photo.id, []).append(row)
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
            self._aspects = np.insert(self._aspects, row + 1, _aspects_for(added, None))
            self._days = None  # stacks open in ranked lists only: not in date order
            self.layout_epoch += 1
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
            self._aspects = np.delete(self._aspects, row)
            self._days = None
            self.layout_epoch += 1
            self.endRemoveRows()
        self._reindex()
        heads = [r for r, item in enumerate(self._items) if item is not None and item[2] is not None
                 and item[2].stack_id == stack_id]
        for row in heads:
            self.dataChanged.emit(self.index(row), self.index(row))
        return len(rows)

    def _reindex(self) -> None:
        self._rows_by_hash, self._rows_by_id = {}, {}
        for row, item in enumerate(self._items):
            if item is not None:
                self._remember(row, [item])

    # -- shapes, for the justified grid --------------------------------------------------
    def aspects(self) -> np.ndarray:
        """Every row's width over height as shown (float32, one per row)."""
        return self._aspects

    def days(self) -> np.ndarray | None:
        """Every row's day (YYYYMMDD, 0 for none) when the rows are in date order."""
        return self._days

    def photo_turned(self, photo_id: int, quarter_turns: int) -> None:
        """A photo is shown turned now: its cells take the new shape and marks."""
        rows = self._rows_by_id.get(photo_id, [])
        changed = False
        for row in rows:
            photo = self.photo(row)
            if photo is None:
                continue
            aspect = _stored_aspect(photo)
            aspect = 1 / aspect if quarter_turns % 2 else aspect
            if self._aspects[row] != np.float32(aspect):
                self._aspects = self._aspects.copy()
                self._aspects[row] = aspect
                changed = True
        self.forget_marks([photo_id])
        if changed:
            self.layout_epoch += 1
            self.layoutChanged.emit()

    # -- marks: favourite, stars, rotation -----------------------------------------------
    def forget_marks(self, photo_ids: Sequence[int]) -> None:
        """These photos' marks changed: their cells ask for them again."""
        for photo_id in photo_ids:
            self._marks.pop(photo_id, None)
            for row in self._rows_by_id.get(photo_id, []):
                self.dataChanged.emit(self.index(row), self.index(row), [MARKS_ROLE])

    def _marks_of(self, photo: Photo) -> PhotoMarks | None:
        found = self._marks.get(photo.id)
        if found is None and self.marks_source is not None:
            self._marks_wanted.add(photo.id)
            if not self._marks_timer.isActive():
                self._marks_timer.start()  # the cells of one paint, in one read
        return found

    def _read_marks(self) -> None:
        ids, source = sorted(self._marks_wanted), self.marks_source
        self._marks_wanted.clear()
        if ids and source is not None:
            self._runner.run(lambda: source(ids), lambda found, error: self._marks_read(ids, found, error))

    def _marks_read(self, ids: list[int], found: dict[int, PhotoMarks] | None,
                    error: BaseException | None) -> None:
        if error is not None or found is None:
            return  # shown without marks; the next paint asks again
        for photo_id in ids:
            self._marks[photo_id] = found.get(photo_id, PhotoMarks())
            for row in self._rows_by_id.get(photo_id, []):
                self.dataChanged.emit(self.index(row), self.index(row), [MARKS_ROLE])

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
        if role == MARKS_ROLE:
            return self._marks_of(photo)
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


def _aspects_for(items: Sequence[Item | None], given: np.ndarray | None) -> np.ndarray:
    if given is not None and len(given) == len(items):
        return np.asarray(given, dtype=np.float32)
    return np.asarray([_stored_aspect(item[0]) if item is not None else 1.0 for item in items],
                      dtype=np.float32)


def _stored_aspect(photo: Photo) -> float:
    return photo.width / photo.height if photo.width and photo.height else 1.0


def _item(row: Row) -> Item:
    photo, score, *mark = row
    return photo, score, (mark[0] if mark else None)


def _load(thumbnails: ThumbnailCache, photo: Photo, size: int) -> QImage | None:
    # Decoded once, here; a cached file Qt cannot read is made again by the cache.
    return thumbnails.load(photo, size, _qimage)


def _qimage(path: Path) -> QImage | None:
    image = QImage(str(path))
    return None if image.isNull() else image
