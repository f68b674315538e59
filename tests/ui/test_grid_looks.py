"""The grid's two looks in the real window: justified rows (each photo at its shape,
rows filling the width) and square crops (as many as fill a row); hearts and stars on
the cells; a rotation reshapes its cell; the look is kept between runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from photoclip.core.library import Library
from photoclip.core.models import PhotoMarks
from photoclip.ui.grid_delegate import SPACING, GridLook
from photoclip.ui.main_window import MainWindow
from photoclip.ui.results_model import MARKS_ROLE
from photoclip.ui.window_state import read_window_state, window_state_path
from tests.ui.conftest import add_and_index, save_screenshot, thumbnails_shown
from tests.ui.test_selection import select_rows


def _lines(window: MainWindow) -> list[list[int]]:
    """The grid's rows of cells as laid out (for its viewport's width), by their cells' tops."""
    window.grid.doItemsLayout()
    lines: dict[int, list[int]] = {}
    for row in range(window.model.rowCount()):
        lines.setdefault(window.grid.visualRect(window.model.index(row)).top(), []).append(row)
    return [lines[top] for top in sorted(lines)]


def _aspect(window: MainWindow, row: int) -> float:
    photo = window.model.photo(row)
    return photo.width / photo.height


def _indexed(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> None:
    window.resize(1000, 700)
    add_and_index(qtbot, window, library, tmp_path / "Pictures", seed=8)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24 and window.model.photo(23) is not None,
                    timeout=30_000)


def test_justified_rows_fill_the_width_at_each_photos_shape(qtbot, window: MainWindow, library: Library,
                                                             tmp_path: Path) -> None:
    _indexed(qtbot, window, library, tmp_path)
    assert window.delegate.look is GridLook.JUSTIFIED  # the default
    width = window.grid.viewport().width()
    lines = _lines(window)
    assert len(lines) > 2
    for line in lines[:-1]:
        rects = [window.grid.visualRect(window.model.index(row)) for row in line]
        assert len({r.height() for r in rects}) == 1  # one height a line
        # The line ends where the flow's bounds do, less its spacing: no ragged edge.
        assert rects[0].left() == SPACING and rects[-1].right() == width - 2 - SPACING
        for row, rect in zip(line, rects, strict=True):
            assert rect.width() / rect.height() == pytest.approx(
                max(0.5, min(3.0, _aspect(window, row))), abs=(2 + _aspect(window, row)) / rect.height())
    qtbot.waitUntil(lambda: thumbnails_shown(window, 6), timeout=30_000)
    save_screenshot(window, "grid-justified")

    # A quarter turn in the viewer reshapes the photo's cell in the grid.
    wide = next(r for r in range(24) if _aspect(window, r) > 1.2)
    before = window.grid.visualRect(window.model.index(wide))
    assert window.open_viewer(wide)
    window.viewer_rotate_right()
    qtbot.waitUntil(lambda: window.model.aspects()[wide] == pytest.approx(1 / _aspect(window, wide)),
                    timeout=10_000)
    window.close_viewer()
    window.grid.doItemsLayout()
    after = window.grid.visualRect(window.model.index(wide))
    assert before.width() > before.height() and after.width() < after.height()


def test_square_crops_fill_each_row_and_the_look_is_kept(qtbot, window: MainWindow, library: Library,
                                                         tmp_path: Path) -> None:
    _indexed(qtbot, window, library, tmp_path)
    window.look_actions[GridLook.SQUARE].trigger()
    assert window.delegate.look is GridLook.SQUARE
    def fills_the_width() -> None:
        lines = _lines(window)  # laid out for the width it has now
        width, side = window.grid.viewport().width(), window.delegate.square_side
        columns = len(lines[0])
        assert all(len(line) == columns for line in lines[:-1])
        step = side + SPACING  # a square and the gap after it
        assert columns * step <= width - SPACING < (columns + 1) * step  # no room for one more
        assert width - SPACING - columns * step < columns  # nor a column's worth left over
        rects = {window.grid.visualRect(window.model.index(row)).size().toTuple() for row in range(24)}
        assert rects == {(side, side)}

    fills_the_width()
    width = window.grid.viewport().width()
    window.resize(1200, 700)  # wider: the squares are fitted again
    qtbot.waitUntil(lambda: window.grid.viewport().width() > width, timeout=5_000)
    fills_the_width()
    qtbot.waitUntil(lambda: thumbnails_shown(window, 6), timeout=30_000)
    save_screenshot(window, "grid-square")

    window.save_window_state()
    assert read_window_state(window_state_path(library.paths.cache_dir))["grid_look"] == "square"
    window.set_grid_look(GridLook.JUSTIFIED)
    window.restore_window_state()
    assert window.delegate.look is GridLook.SQUARE and window.look_actions[GridLook.SQUARE].isChecked()


def _ink(window: MainWindow, row: int, area_of) -> list[QColor]:
    """The colours painted in ``area_of(cell)`` when the cell is drawn alone."""
    rect = window.grid.visualRect(window.model.index(row))
    image = QImage(rect.size(), QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    option = QStyleOptionViewItem()
    option.initFrom(window.grid)
    option.rect = rect.translated(-rect.topLeft())
    painter = QPainter(image)
    window.delegate.paint(painter, option, window.model.index(row))
    painter.end()
    area = area_of(option.rect)
    return [image.pixelColor(x, y) for x in range(area.left(), area.right())
            for y in range(area.top(), area.bottom())]


def test_hearts_and_stars_show_on_the_cells(qtbot, window: MainWindow, library: Library,
                                            tmp_path: Path) -> None:
    _indexed(qtbot, window, library, tmp_path)
    metrics = window.grid.fontMetrics()
    heart = lambda cell: window.delegate.heart_rect(cell, metrics)  # noqa: E731
    reddish = lambda colours: sum(c.red() > 150 and c.green() < 90 for c in colours)  # noqa: E731
    qtbot.waitUntil(lambda: window.model.data(window.model.index(1), MARKS_ROLE) == PhotoMarks(),
                    timeout=10_000)
    assert reddish(_ink(window, 1, heart)) == 0
    select_rows(window, [1])
    window.favourite_selection()
    window.rate_selection(3)
    qtbot.waitUntil(lambda: window.model.data(window.model.index(1), MARKS_ROLE)
                    == PhotoMarks(favourite=True, rating=3), timeout=10_000)
    assert reddish(_ink(window, 1, heart)) > 10
    stars = window.delegate._corner  # the stars' place: the cell's bottom-right corner
    golden = [c for c in _ink(window, 1, lambda cell: stars(cell, metrics, "★★★", right=True, top=False))
              if c.red() > 200 and c.green() > 140 and c.blue() < 80]
    assert len(golden) > 10
    assert window.model.data(window.model.index(0), MARKS_ROLE) in (None, PhotoMarks())  # others: none
