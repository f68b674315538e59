"""The photo grid places cells itself: hit tests, keys, the rubber band, scrolling and
painting all follow the places it found."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QAbstractListModel, QItemSelectionModel, QModelIndex, QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractItemView

from photoclip.ui.grid_delegate import SPACING, GridDelegate, GridLook
from photoclip.ui.justified import CellSizes
from photoclip.ui.photo_grid import CellPlaces, PhotoGrid

Cursor = QAbstractItemView.CursorAction


class _Shapes(QAbstractListModel):
    """Rows with shapes only (the delegate paints nothing for them: no icon)."""

    layout_epoch = 0

    def __init__(self, aspects: list[float]) -> None:
        super().__init__()
        self._aspects = np.asarray(aspects, dtype=np.float32)

    def aspects(self) -> np.ndarray:
        return self._aspects

    def days(self) -> None:
        return None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._aspects)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return f"photo {index.row()}" if role == Qt.ItemDataRole.DisplayRole else None


@pytest.fixture
def grid(qtbot) -> PhotoGrid:
    view = PhotoGrid()
    qtbot.addWidget(view)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setItemDelegate(GridDelegate(view, icon_size=100, look=GridLook.JUSTIFIED))
    view.setModel(_Shapes([1.5, 1.0, 0.75, 1.5, 1.5, 1.0, 2.0, 0.75, 1.0, 1.0] * 6))
    view.resize(520, 300)
    view.show()
    qtbot.waitExposed(view)
    view.doItemsLayout()
    return view


def test_places_follow_the_sizes_line_by_line() -> None:
    cells = CellSizes([10, 20, 30, 40], [7, 7, 9, 9], [0, 2])
    places = CellPlaces.of(cells, spacing=2)
    assert places.left.tolist() == [2, 14, 2, 34]
    assert places.top.tolist() == [2, 2, 11, 11]
    assert places.content_height == 2 + 7 + 2 + 9 + 2
    assert places.line_at(1) is None and places.line_at(2) == 0 and places.line_at(9) is None
    assert list(places.lines_between(0, 10)) == [0]  # 10 is the gap between the lines
    assert list(places.lines_between(0, 11)) == [0, 1] and list(places.lines_between(9, 11)) == [1]


def test_every_cell_is_found_where_it_is_drawn_and_gaps_hold_none(grid: PhotoGrid) -> None:
    model = grid.model()
    for row in range(model.rowCount()):
        rect = grid.visualRect(model.index(row))
        if rect.bottom() >= grid.viewport().height():
            break
        assert grid.indexAt(rect.center()).row() == row
        assert grid.indexAt(rect.topLeft()).row() == row
        assert not grid.indexAt(rect.topLeft() - QPoint(1, 0)).isValid()  # the gap before it
    first = grid.visualRect(model.index(0))
    assert first.topLeft() == QPoint(SPACING, SPACING)


def test_keys_step_along_and_across_the_lines(grid: PhotoGrid) -> None:
    model, places = grid.model(), grid.places
    grid.setCurrentIndex(QModelIndex())
    assert grid.moveCursor(Cursor.MoveNext, Qt.KeyboardModifier.NoModifier).row() == 0  # none yet: the first
    grid.setCurrentIndex(model.index(1))
    assert grid.moveCursor(Cursor.MoveRight, Qt.KeyboardModifier.NoModifier).row() == 2
    assert grid.moveCursor(Cursor.MoveLeft, Qt.KeyboardModifier.NoModifier).row() == 0
    below = grid.moveCursor(Cursor.MoveDown, Qt.KeyboardModifier.NoModifier).row()
    assert places.line_of(below) == 1
    middle = grid.visualRect(model.index(1)).center().x()
    line_rows = places.rows_of_line(1)
    nearest = min(line_rows, key=lambda r: abs(grid.visualRect(model.index(r)).center().x() - middle))
    assert below == nearest  # the cell straight below
    grid.setCurrentIndex(model.index(below))
    assert places.line_of(grid.moveCursor(Cursor.MoveUp, Qt.KeyboardModifier.NoModifier).row()) == 0
    assert grid.moveCursor(Cursor.MoveEnd, Qt.KeyboardModifier.NoModifier).row() == model.rowCount() - 1
    assert grid.moveCursor(Cursor.MoveHome, Qt.KeyboardModifier.NoModifier).row() == 0
    page = grid.moveCursor(Cursor.MovePageDown, Qt.KeyboardModifier.NoModifier).row()
    assert places.top[page] - places.top[below] >= grid.viewport().height() - max(places.line_heights)


def test_a_rubber_band_selects_the_cells_it_touches(qtbot, grid: PhotoGrid) -> None:
    model = grid.model()
    band = QRect(grid.visualRect(model.index(0)).center(), grid.visualRect(model.index(1)).center())
    grid.setSelection(band, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert sorted(i.row() for i in grid.selectionModel().selectedIndexes()) == [0, 1]
    # By the mouse, from the gap under the first line down across the second.
    line_two = grid.places.rows_of_line(1)
    start = QPoint(1, grid.visualRect(model.index(line_two.start)).top() - 1)
    end = grid.visualRect(model.index(line_two.stop - 1)).center()
    qtbot.mousePress(grid.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(grid.viewport(), end)
    qtbot.mouseRelease(grid.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert sorted(i.row() for i in grid.selectionModel().selectedIndexes()) == list(line_two)


def test_scrolling_moves_the_cells_and_scroll_to_puts_one_at_the_top(grid: PhotoGrid) -> None:
    model, bar = grid.model(), grid.verticalScrollBar()
    assert bar.maximum() == grid.places.content_height - grid.viewport().height()
    target = model.index(40)
    grid.scrollTo(target, QAbstractItemView.ScrollHint.PositionAtTop)
    assert grid.visualRect(target).top() == SPACING
    assert grid.indexAt(QPoint(grid.visualRect(target).center())).row() == 40
    grid.scrollTo(model.index(0))  # EnsureVisible: back up to it
    assert grid.visualRect(model.index(0)).top() == SPACING
