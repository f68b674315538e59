"""The grid as a timeline: the date header, the month scrubber, zoom, names on hover."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QStandardItem, QStandardItemModel, QWheelEvent
from PySide6.QtWidgets import QApplication, QListView, QStyle, QStyleOptionViewItem

from photoclip.core.library import Library
from photoclip.core.models import Photo, PhotoMeta, PhotoState
from photoclip.ui.grid_delegate import GridDelegate
from photoclip.ui.main_window import MainWindow
from photoclip.ui.timeline import TimelineScrubber, header_text, month_of, rows_before
from photoclip.ui.window_state import read_window_state, window_state_path
from photoclip.ui.window_timeline import ZOOM_RANGE
from tests.synthetic import camera_exif, save_camera_photo
from tests.ui.conftest import indexed, save_screenshot

LISBON = (38.7223, -9.1393)
# Newest first, as the grid lists them: six photos in each of three months.
DAYS = (("2023:07:14", LISBON), ("2023:03:05", None), ("2022:12:24", None))
PER_MONTH = 6


def _dated_library(qtbot, window: MainWindow, library: Library, folder: Path) -> None:
    for day, (date, gps) in enumerate(DAYS):
        for i in range(PER_MONTH):
            save_camera_photo(folder / f"IMG_{day}{i}.jpg", ("red", "blue", "green")[day],
                              ("circle", "square", "triangle")[i % 3],
                              camera_exif(f"{date} {10 + i:02d}:00:00", gps=gps), seed=day * 10 + i)
    window.add_folder(folder)
    total = len(DAYS) * PER_MONTH
    qtbot.waitUntil(lambda: indexed(library) == total and window.status_label.text() == "Up to date"
                    and window.model.rowCount() == total, timeout=120_000)


def _search(qtbot, window: MainWindow, text: str) -> None:
    window.search_box.setText(text)
    window.run_search()
    qtbot.waitUntil(lambda: window.shown_query == text.strip() and window.model.rowCount() > 0,
                    timeout=30_000)


def test_the_header_and_scrubber_follow_the_grid_in_date_order(qtbot, window: MainWindow,
                                                               library: Library, tmp_path: Path) -> None:
    _dated_library(qtbot, window, library, tmp_path / "dated")
    header, scrubber = window.date_header, window.scrubber
    qtbot.waitUntil(lambda: header.text() == "Friday 14 July 2023 · Lisbon", timeout=10_000)
    assert header.isVisible() and scrubber.isVisible()
    qtbot.waitUntil(lambda: scrubber.months == [("2023-07", 6), ("2023-03", 6), ("2022-12", 6)])
    assert scrubber.current == "2023-07"
    save_screenshot(window, "timeline")
    assert [_names_painted(qtbot, window, hovered) for hovered in (0, 1)] == [[0], [1]]
    window.zoom_to(ZOOM_RANGE[1])  # few cells a screen: every month a scroll apart

    window.grid.scrollToBottom()  # the header follows the scroll
    qtbot.waitUntil(lambda: header.text() == "Saturday 24 December 2022", timeout=10_000)
    assert scrubber.current == "2022-12"
    qtbot.waitUntil(lambda: window.model.waiting == 0, timeout=10_000)  # no thumbnail to come
    window.grid.scrollToTop()  # the scroll alone moves it (nothing else changes now)
    qtbot.waitUntil(lambda: header.text() == "Friday 14 July 2023 · Lisbon", timeout=2_000)

    # A click on March's band: the first photo in view is March's first (its newest).
    qtbot.mouseClick(scrubber, Qt.MouseButton.LeftButton, pos=scrubber.month_rect(1).center())
    qtbot.waitUntil(lambda: header.text() == "Sunday 5 March 2023", timeout=10_000)
    top = window.first_visible_row()
    assert top == 6 and window.model.photo(top).path.name == "IMG_15.jpg"

    _search(qtbot, window, "in March 2023")  # a filter-only query: newest first, its months
    qtbot.waitUntil(lambda: scrubber.months == [("2023-03", 6)], timeout=10_000)
    assert header.isVisible()

    _search(qtbot, window, "red circle")  # ranked: not the calendar's order
    assert not header.isVisible() and not scrubber.isVisible()
    assert not window.timeline_on

    _search(qtbot, window, "")
    qtbot.waitUntil(lambda: header.isVisible() and scrubber.isVisible(), timeout=10_000)


def _names_painted(qtbot, window: MainWindow, hovered: int) -> list[int]:
    """The rows among the first three whose name shows, with the mouse over ``hovered``."""
    grid = window.grid
    qtbot.mouseMove(grid.viewport(), grid.visualRect(window.model.index(hovered)).center())
    qtbot.wait(50)
    image = grid.viewport().grab().toImage()
    painted = []
    for row in range(3):
        area = window.delegate.name_rect(grid.visualRect(window.model.index(row)), grid.fontMetrics())
        if any(QColor(image.pixel(x, y)).value() < 128 for x in range(area.left(), area.right())
               for y in range(area.top(), area.bottom())):
            painted.append(row)
    return painted


def test_the_scrubber_gives_each_month_its_share_newest_first(qtbot) -> None:
    scrubber = TimelineScrubber()
    qtbot.addWidget(scrubber)
    scrubber.set_months([("2022-12", 10), ("2023-01", 0), ("2023-07", 60), ("2023-03", 30)])
    scrubber.resize(56, 200)
    assert scrubber.months == [("2023-07", 60), ("2023-03", 30), ("2022-12", 10)]
    assert [scrubber.month_rect(i).height() for i in range(3)] == [120, 60, 20]
    assert [scrubber.month_at(y) for y in (0, 119, 120, 179, 180, 199, 500)] == [
        "2023-07", "2023-07", "2023-03", "2023-03", "2022-12", "2022-12", "2022-12"]
    assert [rows_before(scrubber.months, m) for m, _ in scrubber.months] == [0, 60, 90]
    chosen: list[str] = []
    scrubber.month_chosen.connect(chosen.append)
    scrubber.show()
    qtbot.mousePress(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, 10))
    qtbot.mouseMove(scrubber, QPoint(20, 150))  # a drag goes to each month once
    qtbot.mouseMove(scrubber, QPoint(20, 160))
    qtbot.mouseRelease(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, 160))
    assert chosen == ["2023-07", "2023-03"]


def _ctrl_wheel(window: MainWindow, notches: int) -> None:
    viewport = window.grid.viewport()
    event = QWheelEvent(QPointF(50, 50), QPointF(viewport.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def test_the_header_says_the_wall_clock_day_and_place_or_no_date() -> None:
    photo = Photo(1, Path("/p/a.jpg"), 1, 1, 0, PhotoState.INDEXED, taken_at=None)
    assert header_text(photo, None) == "No date" and month_of(photo, None) is None
    meta = PhotoMeta(taken_local="2023-07-15T00:30:00", city="Lisbon", country="Portugal")
    assert header_text(photo, meta) == "Saturday 15 July 2023 · Lisbon"
    assert month_of(photo, meta) == "2023-07"
    assert header_text(photo, PhotoMeta(country="Portugal")) == "No date · Portugal"


def test_ctrl_wheel_the_slider_and_the_keys_zoom_within_bounds(qtbot, window: MainWindow,
                                                               library: Library) -> None:
    window.zoom_to(160)
    size = lambda: window.grid.iconSize().width()  # noqa: E731

    def settles_at(expected: int) -> None:  # a gesture's steps are applied as it pauses
        qtbot.waitUntil(lambda: size() == expected and window.zoom_slider.value() == expected, timeout=2_000)

    _ctrl_wheel(window, 2)
    assert window.zoom_slider.value() == 192  # at once; the grid follows
    settles_at(192)
    _ctrl_wheel(window, -1)
    _ctrl_wheel(window, -1)  # two notches of one spin: one relayout
    settles_at(160)
    _ctrl_wheel(window, 40)
    settles_at(ZOOM_RANGE[1])
    window.zoom_slider.setValue(100)
    settles_at(100)
    assert window.delegate.icon_size == 100
    _ctrl_wheel(window, -40)
    settles_at(ZOOM_RANGE[0])
    window.larger_action.trigger()
    assert size() == ZOOM_RANGE[0] + 16
    window.smaller_action.trigger()
    assert size() == ZOOM_RANGE[0]
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert {window.larger_action, window.smaller_action} <= set(view.actions())
    assert window.larger_action.shortcut().toString() == "Ctrl+="
    assert window.grid.hasMouseTracking()
    window.zoom_to(224)
    window.save_window_state()  # the zoom is the window's look, kept for next time
    assert read_window_state(window_state_path(library.paths.cache_dir))["cell_size"] == 224


def test_the_delegate_paints_the_name_only_under_the_mouse(qtbot) -> None:
    view = QListView()
    qtbot.addWidget(view)
    model = QStandardItemModel()
    model.appendRow(QStandardItem("IMG_0001_a_long_name.jpg"))
    view.setModel(model)
    delegate = GridDelegate(view, icon_size=96)
    cell = QRect(QPoint(0, 0), delegate.cell_size(view.fontMetrics()))

    def ink_in_name_area(hovered: bool) -> int:
        image = QImage(cell.size(), QImage.Format.Format_RGB32)
        image.fill(QColor("white"))
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = cell
        option.state = QStyle.StateFlag.State_Enabled | (
            QStyle.StateFlag.State_MouseOver if hovered else QStyle.StateFlag.State_None)
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0, 0))
        painter.end()
        area = delegate.name_rect(cell, view.fontMetrics())
        return sum(1 for x in range(area.left(), area.right()) for y in range(area.top(), area.bottom())
                   if QColor(image.pixel(x, y)).value() < 128)

    assert ink_in_name_area(hovered=False) == 0
    assert ink_in_name_area(hovered=True) > 20


def test_each_day_starts_its_own_rows_under_a_header_naming_it(qtbot, window: MainWindow,
                                                                library: Library, tmp_path: Path) -> None:
    from photoclip.ui.grid_delegate import DAY_SECTIONS_FROM, SPACING, GridLook

    _dated_library(qtbot, window, library, tmp_path / "dated")
    qtbot.waitUntil(lambda: window.model.days() is not None, timeout=10_000)
    grid, delegate = window.grid, window.delegate
    grid.doItemsLayout()
    rects = [grid.visualRect(window.model.index(row)) for row in range(18)]
    for first in (0, 6, 12):  # the newest photo of each day
        assert rects[first].left() == SPACING  # a row of its own...
        assert rects[first].top() > max(r.top() for r in rects[:first]) if first else True
        photo = delegate.photo_rect(rects[first], first)
        assert photo.top() - rects[first].top() == delegate._sizes.header  # ...under its band
    assert delegate.photo_rect(rects[1], 1).top() == rects[1].top() + delegate._sizes.header
    qtbot.waitUntil(lambda: window.section_text(0) == "Friday 14 July 2023 · Lisbon", timeout=10_000)
    assert window.section_text(6) == "Sunday 5 March 2023"
    assert window.section_text(12) == "Saturday 24 December 2022"
    window.set_grid_look(GridLook.SQUARE)  # square crops are cut into the same days
    grid.doItemsLayout()
    square = grid.visualRect(window.model.index(6))
    assert square.left() == SPACING and square.width() == delegate.square_side
    assert delegate.photo_rect(square, 6).top() - square.top() == delegate._sizes.header
    window.set_grid_look(GridLook.JUSTIFIED)
    window.zoom_to(DAY_SECTIONS_FROM - 16)  # small thumbnails: a section a month
    assert window.section_text(6) == "March 2023"

    _search(qtbot, window, "red circle")  # ranked: one list, no sections
    assert window.model.days() is None
    grid.doItemsLayout()
    assert all(delegate.photo_rect(grid.visualRect(window.model.index(r)), r)
               == grid.visualRect(window.model.index(r)) for r in range(window.model.rowCount()))
