"""The photo grid: a QListView whose cells are placed by PhotoClip, not by Qt's flow.

Qt's icon-mode flow asks the delegate for every cell's size, one Python call per photo
(~9 us each: 0.9 s to lay out 100,000 photos on every zoom or resize). Here the cells'
sizes come in one piece from the delegate (``GridDelegate.cells_for``: justified rows
or squares, with the timeline's section bands), and their places are found with numpy
(~40 ms at 100,000). Everything that depends on where cells are goes through the
virtual functions below: painting, hit tests, keyboard moves, rubber-band selection,
scrolling, and what QAbstractItemView builds on them (tooltips, drags, hover).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
)
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QRegion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QRubberBand,
    QStyle,
    QStyleOptionRubberBand,
    QStyleOptionViewItem,
)

from .grid_delegate import SPACING
from .justified import CellSizes

Index = QModelIndex | QPersistentModelIndex
Cursor = QAbstractItemView.CursorAction
Hint = QAbstractItemView.ScrollHint


@dataclass(frozen=True)
class CellPlaces:
    """Where each cell is, in the grid's content (y grows down the whole list)."""

    left: np.ndarray  # int64, per cell
    top: np.ndarray
    width: np.ndarray
    height: np.ndarray
    line_starts: np.ndarray  # the first cell of each line
    line_tops: np.ndarray
    line_heights: np.ndarray
    content_height: int

    @classmethod
    def of(cls, cells: CellSizes, spacing: int) -> CellPlaces:
        count = len(cells)
        width = np.asarray(cells.widths, dtype=np.int64)
        height = np.asarray(cells.heights, dtype=np.int64)
        starts = np.asarray(cells.row_starts, dtype=np.int64)
        if not count:
            empty = np.empty(0, np.int64)
            return cls(empty, empty, empty, empty, empty, empty, empty, 0)
        line_heights = height[starts]  # a line's cells share its height
        line_tops = spacing + np.concatenate(([0], np.cumsum(line_heights + spacing)[:-1]))
        line_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, count)))
        before = np.concatenate(([0], np.cumsum(width + spacing)[:-1]))  # cells and gaps before each
        left = spacing + before - before[starts][line_of]
        content = int(line_tops[-1] + line_heights[-1] + spacing)
        return cls(left, line_tops[line_of], width, height, starts, line_tops, line_heights, content)

    def line_of(self, row: int) -> int:
        return int(np.searchsorted(self.line_starts, row, side="right") - 1)

    def line_at(self, y: int) -> int | None:
        """The line whose band of the content holds ``y`` (None: a gap or past the end)."""
        line = int(np.searchsorted(self.line_tops, y, side="right") - 1)
        if line < 0 or y >= self.line_tops[line] + self.line_heights[line]:
            return None
        return line

    def rows_of_line(self, line: int) -> range:
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.left)
        return range(int(self.line_starts[line]), int(end))

    def lines_between(self, top: int, bottom: int) -> range:
        """The lines that reach into the content's band ``top``..``bottom``."""
        first = max(0, int(np.searchsorted(self.line_tops + self.line_heights, top, side="right")))
        last = int(np.searchsorted(self.line_tops, bottom, side="right"))
        return range(first, min(last, len(self.line_tops)))


class PhotoGrid(QListView):
    def __init__(self) -> None:
        super().__init__()
        self.places: CellPlaces | None = None
        self.spacing_px = SPACING
        self._hover: QPersistentModelIndex | None = None
        self._band_origin: QPoint | None = None  # content coordinates of a rubber band's press
        self._band: QRect | None = None
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always there: a bar that came and went would change the width and the rows.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    # -- layout ----------------------------------------------------------------------------
    def doItemsLayout(self) -> None:
        """Every cell's place, from the delegate's sizes for this width (replaces Qt's
        flow, which is not run at all)."""
        delegate, model = self.itemDelegate(), self.model()
        cells_for = getattr(delegate, "cells_for", None)
        if model is None or cells_for is None:
            self.places = None
        else:
            self.places = CellPlaces.of(cells_for(model, self.viewport().width()), self.spacing_px)
        self.updateGeometries()
        self.viewport().update()

    def updateGeometries(self) -> None:
        places, bar = self.places, self.verticalScrollBar()
        height = self.viewport().height()
        content = places.content_height if places is not None else 0
        bar.setRange(0, max(0, content - height))
        bar.setPageStep(max(1, height))
        bar.setSingleStep(max(8, self.iconSize().height() // 4))
        self.horizontalScrollBar().setRange(0, 0)
        QAbstractItemView.updateGeometries(self)  # editors and the like

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # QListView's own would step by its (empty) flow's lines.
        QAbstractItemView.scrollContentsBy(self, 0, dy)

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    # -- where cells are ----------------------------------------------------------------------
    def visualRect(self, index: Index) -> QRect:
        places = self.places
        row = index.row() if index.isValid() else -1
        if places is None or not 0 <= row < len(places.left):
            return QRect()
        return QRect(int(places.left[row]), int(places.top[row]) - self.verticalOffset(),
                     int(places.width[row]), int(places.height[row]))

    def indexAt(self, point: QPoint) -> QModelIndex:
        places, model = self.places, self.model()
        if places is None or model is None:
            return QModelIndex()
        line = places.line_at(point.y() + self.verticalOffset())
        if line is None:
            return QModelIndex()
        for row in places.rows_of_line(line):
            if places.left[row] <= point.x() < places.left[row] + places.width[row]:
                return model.index(row, 0, self.rootIndex())
        return QModelIndex()

    def isIndexHidden(self, index: Index) -> bool:
        return False

    def scrollTo(self, index: Index, hint: Hint = Hint.EnsureVisible) -> None:
        if self.model() is None or not index.isValid():
            return
        self.executeDelayedItemsLayout()
        rect = self.visualRect(index)
        if not rect.isValid():
            return
        bar, height = self.verticalScrollBar(), self.viewport().height()
        top = rect.top() + bar.value()
        if hint == Hint.PositionAtTop:
            bar.setValue(top - self.spacing_px)
        elif hint == Hint.PositionAtBottom:
            bar.setValue(top + rect.height() + self.spacing_px - height)
        elif hint == Hint.PositionAtCenter:
            bar.setValue(top + rect.height() // 2 - height // 2)
        elif rect.top() < 0:
            bar.setValue(top - self.spacing_px)
        elif rect.bottom() >= height:
            bar.setValue(top + rect.height() + self.spacing_px - height)

    def moveCursor(self, action: Cursor, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        """Arrow keys step along and across the lines (to the cell nearest straight up or
        down), PgUp/PgDn by a screen, Home/End to the ends."""
        places, model = self.places, self.model()
        if places is None or model is None or not len(places.left):
            return QModelIndex()
        count = len(places.left)
        if not self.currentIndex().isValid():  # the first key (or focus) starts at an end
            return model.index(count - 1 if action == Cursor.MoveEnd else 0, 0, self.rootIndex())
        row = self.currentIndex().row()
        if action in (Cursor.MoveLeft, Cursor.MovePrevious):
            row -= 1
        elif action in (Cursor.MoveRight, Cursor.MoveNext):
            row += 1
        elif action == Cursor.MoveHome:
            row = 0
        elif action == Cursor.MoveEnd:
            row = count - 1
        elif action in (Cursor.MoveUp, Cursor.MoveDown, Cursor.MovePageUp, Cursor.MovePageDown):
            row = self._row_across(row, action)
        return model.index(max(0, min(count - 1, row)), 0, self.rootIndex())

    def _row_across(self, row: int, action: Cursor) -> int:
        places = self.places
        assert places is not None
        line = places.line_of(row)
        if action in (Cursor.MoveUp, Cursor.MoveDown):
            target = line + (-1 if action == Cursor.MoveUp else 1)
        else:
            page = self.viewport().height() * (-1 if action == Cursor.MovePageUp else 1)
            y = int(places.line_tops[line]) + page
            target = int(np.searchsorted(places.line_tops, y, side="right") - 1)
        if not 0 <= target < len(places.line_tops):
            return row if action in (Cursor.MoveUp, Cursor.MoveDown) else (
                0 if target < 0 else len(places.left) - 1)
        middle = places.left[row] + places.width[row] // 2
        rows = places.rows_of_line(target)
        return min(rows, key=lambda r: abs(int(places.left[r] + places.width[r] // 2 - middle)))

    # -- selection -------------------------------------------------------------------------
    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        model, chosen = self.model(), QItemSelection()
        if self.places is not None and model is not None:
            for start, stop in self._rows_in(rect.normalized()):
                chosen.select(model.index(start, 0, self.rootIndex()), model.index(stop, 0, self.rootIndex()))
        self.selectionModel().select(chosen, command)

    def _rows_in(self, rect: QRect) -> list[tuple[int, int]]:
        """Runs of rows (first, last) whose cells meet ``rect`` (viewport coordinates)."""
        places = self.places
        assert places is not None
        offset = self.verticalOffset()
        runs: list[tuple[int, int]] = []
        for line in places.lines_between(rect.top() + offset, rect.bottom() + offset):
            rows = [r for r in places.rows_of_line(line)
                    if places.left[r] <= rect.right() and places.left[r] + places.width[r] > rect.left()]
            if rows:
                if runs and runs[-1][1] == rows[0] - 1:
                    runs[-1] = (runs[-1][0], rows[-1])
                else:
                    runs.append((rows[0], rows[-1]))
        return runs

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        """The selected cells now in view (a 100,000-photo Ctrl+A asks for no more)."""
        region = QRegion()
        places = self.places
        if places is None:
            return region
        shown = self._shown_rows(self.viewport().rect())
        for part in selection:
            for row in range(max(part.top(), shown.start), min(part.bottom() + 1, shown.stop)):
                region += self.visualRect(self.model().index(row, 0, self.rootIndex()))
        return region

    def _shown_rows(self, area: QRect) -> range:
        places = self.places
        if places is None or not len(places.left):
            return range(0)
        offset = self.verticalOffset()
        lines = places.lines_between(area.top() + offset, area.bottom() + offset)
        if not lines:
            return range(0)
        return range(places.rows_of_line(lines.start).start, places.rows_of_line(lines.stop - 1).stop)

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        model, delegate = self.model(), self.itemDelegate()
        if model is None or self.places is None:
            return
        painter = QPainter(self.viewport())
        area = event.rect()
        current, selection = self.currentIndex(), self.selectionModel()
        focused = self.hasFocus()
        for row in self._shown_rows(area):
            index = model.index(row, 0, self.rootIndex())
            option = QStyleOptionViewItem()
            self.initViewItemOption(option)
            option.rect = self.visualRect(index)
            if not option.rect.intersects(area):
                continue
            state = option.state | QStyle.StateFlag.State_Enabled
            if selection is not None and selection.isSelected(index):
                state |= QStyle.StateFlag.State_Selected
            if self._hover is not None and self._hover.isValid() and self._hover.row() == row:
                state |= QStyle.StateFlag.State_MouseOver
            if focused and index == current:
                state |= QStyle.StateFlag.State_HasFocus
            option.state = state
            delegate.paint(painter, option, index)
        if self._band is not None:
            band = QStyleOptionRubberBand()
            band.initFrom(self)
            band.shape = QRubberBand.Shape.Rectangle
            band.opaque = False
            band.rect = self._band.translated(0, -self.verticalOffset())
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, band, painter, self)
        painter.end()

    # -- the mouse: hover and the rubber band --------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        on_a_cell = self.indexAt(point).isValid()
        self._band_origin = None if on_a_cell else point + QPoint(0, self.verticalOffset())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        self._set_hover(self.indexAt(point))
        super().mouseMoveEvent(event)
        if self._band_origin is not None and event.buttons() & Qt.MouseButton.LeftButton \
                and self.state() == QAbstractItemView.State.DragSelectingState:
            self._band = QRect(self._band_origin, point + QPoint(0, self.verticalOffset())).normalized()
            self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self._band is not None:
            self._band = None
            self.viewport().update()
        self._band_origin = None

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._set_hover(QModelIndex())
        return super().viewportEvent(event)

    def _set_hover(self, index: QModelIndex) -> None:
        old = self._hover
        if old is not None and old.isValid() and index.isValid() and old.row() == index.row():
            return
        for changed in (old, index):
            if changed is not None and changed.isValid():
                self.viewport().update(self.visualRect(changed))
        self._hover = QPersistentModelIndex(index) if index.isValid() else None
