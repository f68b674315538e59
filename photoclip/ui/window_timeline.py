"""The main window's timeline: while the grid lists photos newest first (the library, or
a query that is only filters), a date header names the day of the first photo in view
and a scrubber beside the grid jumps to a month; ranked results hide both, their order
is not the calendar's. And the grid's zoom: Ctrl+wheel, a status-bar slider and the
View menu's Larger/Smaller Thumbnails (a part of MainWindow).

Places and wall-clock days come from ``library.meta_of``, read in the search pool and
kept per photo id; month counts likewise. The header follows the scroll at most every
``HEADER_THROTTLE_MS``.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QAbstractItemView, QMenu, QSlider, QWidget

from ..core.models import PhotoFilter, PhotoMeta
from ..core.search.filters import merge, parse_filters
from .filter_bar import FilterBar
from .grid_delegate import DAY_SECTIONS_FROM
from .results_model import SCORE_ROLE
from .timeline import (
    SCRUBBER_WIDTH,
    DateHeader,
    TimelineScrubber,
    day_label,
    header_text,
    month_label_of_day,
    month_of,
    rows_before,
)
from .window_parts import WindowBase

log = logging.getLogger(__name__)

ZOOM_RANGE = (96, 320)  # thumbnail sizes, px
ZOOM_STEP = 16  # px per wheel notch or key press
HEADER_THROTTLE_MS = 50
# A wheel spin or a slider drag is many steps; each relayout of a 100,000-photo grid
# costs a good part of a second, so the steps of a gesture are applied once it pauses.
ZOOM_SETTLE_MS = 60
META_BATCH = 64  # rows of metadata asked at once, from the first photo in view on


class TimelineActions(WindowBase):
    viewer_page: QWidget
    filter_bar: FilterBar
    date_header: DateHeader
    scrubber: TimelineScrubber
    zoom_slider: QSlider
    timeline_on: bool = False  # the grid is in date order: header and scrubber shown

    def build_timeline(self) -> None:
        """The header and scrubber over and beside the grid, the zoom slider and keys."""
        # Hover: the delegate names the cell under the mouse (the view marks that cell
        # from hover events; not every style asks for them).
        self.grid.setMouseTracking(True)
        self.grid.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.date_header = DateHeader(self.grid)
        self.scrubber = TimelineScrubber(self.grid)
        self.scrubber.month_chosen.connect(self.scroll_to_month)
        self._meta: dict[int, PhotoMeta | None] = {}
        self._meta_asked: set[int] = set()
        self._months_request = 0
        self._header_timer = QTimer(self, singleShot=True, interval=HEADER_THROTTLE_MS)
        self._header_timer.timeout.connect(self.update_date_header)
        self._zoom_target: int | None = None
        self._zoom_timer = QTimer(self, singleShot=True, interval=ZOOM_SETTLE_MS)
        self._zoom_timer.timeout.connect(self._settle_zoom)
        self.grid.verticalScrollBar().valueChanged.connect(self.schedule_header)
        self.model.modelReset.connect(self._results_changed)
        self.model.dataChanged.connect(self.schedule_header)  # a page arrived
        self.library_reopened.connect(self._forget_meta)
        self.delegate.section_label = self.section_text  # the justified grid's day headers
        self._grid_events = _GridEvents(self)
        self.grid.viewport().installEventFilter(self._grid_events)
        self._build_zoom()

    def _build_zoom(self) -> None:
        self.zoom_slider = QSlider(Qt.Orientation.Horizontal)
        self.zoom_slider.setRange(*ZOOM_RANGE)
        self.zoom_slider.setSingleStep(ZOOM_STEP)
        self.zoom_slider.setPageStep(ZOOM_STEP * 4)
        self.zoom_slider.setFixedWidth(120)
        self.zoom_slider.setAccessibleName("Thumbnail size")
        self.zoom_slider.setToolTip("Thumbnail size (Ctrl+wheel over the photos, Ctrl+= / Ctrl+-)")
        self.zoom_slider.setValue(self.grid.iconSize().width())
        self.zoom_slider.valueChanged.connect(self.request_zoom)
        self.grid.iconSizeChanged.connect(self._icon_size_changed)
        self.statusBar().addPermanentWidget(self.zoom_slider)
        menu = self.find_view_menu()
        menu.addSeparator()
        self.larger_action = self._zoom_action(menu, "&Larger Thumbnails", ("Ctrl+=", "Ctrl++"), ZOOM_STEP)
        self.smaller_action = self._zoom_action(menu, "&Smaller Thumbnails", ("Ctrl+-",), -ZOOM_STEP)
        # The viewer's Zoom In/Out share the keys: only one side is enabled at a time.
        self.pages.currentChanged.connect(self._page_changed_for_zoom)

    def _zoom_action(self, menu: QMenu, text: str, keys: tuple[str, ...], step: int) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.triggered.connect(lambda: self.zoom_to(self.zoom_size + step))
        menu.addAction(action)
        return action

    def find_view_menu(self) -> QMenu:
        """The View menu the viewer made (build_viewer runs first); a new one if none."""
        for action in self.menuBar().actions():
            if action.text().replace("&", "") == "View" and action.menu() is not None:
                return action.menu()
        return self.menuBar().addMenu("&View")

    def _page_changed_for_zoom(self, index: int) -> None:
        on_grid = self.pages.widget(index) is not getattr(self, "viewer_page", None)
        self.larger_action.setEnabled(on_grid)
        self.smaller_action.setEnabled(on_grid)

    # -- zoom ----------------------------------------------------------------------------
    def zoom_to(self, size: int) -> None:
        """Thumbnails ``size`` px (kept within ZOOM_RANGE); the photo at the top stays there."""
        size = max(ZOOM_RANGE[0], min(ZOOM_RANGE[1], size))
        self._zoom_timer.stop()
        self._zoom_target = None
        if size == self.grid.iconSize().width():
            return
        top = self.first_visible_row()
        self.apply_cell_size(size)
        if top is not None:
            self.grid.scrollTo(self.model.index(top), QAbstractItemView.ScrollHint.PositionAtTop)
        self.schedule_header()

    @property
    def zoom_size(self) -> int:
        """The thumbnail size shown, or the one a gesture in progress is heading for."""
        return self._zoom_target if self._zoom_target is not None else self.grid.iconSize().width()

    def request_zoom(self, size: int) -> None:
        """A step of a gesture (wheel, slider): applied when the gesture pauses."""
        self._zoom_target = max(ZOOM_RANGE[0], min(ZOOM_RANGE[1], size))
        self._zoom_timer.start()
        self._icon_size_changed(QSize(self._zoom_target, self._zoom_target))

    def _settle_zoom(self) -> None:
        target, self._zoom_target = self._zoom_target, None
        if target is not None:
            self.zoom_to(target)

    def _icon_size_changed(self, size: QSize) -> None:
        self.zoom_slider.blockSignals(True)  # told, not asked: no zoom back
        self.zoom_slider.setValue(size.width())
        self.zoom_slider.blockSignals(False)

    def wheel_zoom(self, event: QWheelEvent) -> bool:
        """Ctrl+wheel over the grid zooms; True when the wheel was taken."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False
        notches = event.angleDelta().y() / 120
        if notches:
            step = round(notches * ZOOM_STEP) or (1 if notches > 0 else -1)
            self.request_zoom(self.zoom_size + step)
        return True

    # -- date order ----------------------------------------------------------------------
    def in_date_order(self) -> bool:
        """The grid lists photos newest first: the library or a filter-only query (no
        scores), not a tag, an album, "similar" or ranked hits."""
        if self.browse is not None or not self.model.rowCount():
            return False
        return self.model.data(self.model.index(0), SCORE_ROLE) is None

    def _results_changed(self) -> None:
        self.timeline_on = self.in_date_order()
        self.date_header.setVisible(self.timeline_on)
        self.scrubber.setVisible(self.timeline_on)
        self.grid.setViewportMargins(0, 0, SCRUBBER_WIDTH if self.timeline_on else 0, 0)
        self.place_timeline()
        if self.timeline_on:
            self._load_months()
            self.schedule_header()

    def _load_months(self) -> None:
        """The months of what is listed: the library's, or the filter-only query's."""
        self._months_request += 1
        request, library = self._months_request, self.library
        text, picked = self.search_box.text().strip(), self.filter_bar.picker_filter()

        def work() -> list[tuple[str, int]]:
            if not text and picked is None:
                return library.catalog.month_counts(PhotoFilter())
            wanted = parse_filters(text).filter
            return list(library.facets(merge(wanted, picked) if picked is not None else wanted).months)

        def done(months: list[tuple[str, int]] | None, error: BaseException | None) -> None:
            if request != self._months_request:
                return
            if error is not None:
                log.warning("the timeline's months could not be counted: %s", error)
            self.scrubber.set_months(months or [])

        self.searches.run(work, done)

    def place_timeline(self) -> None:
        """The header across the viewport's top, the scrubber in the margin at its right."""
        area = self.grid.viewport().geometry()
        self.date_header.place_over(area)
        self.scrubber.setGeometry(area.right() + 1, area.top(), SCRUBBER_WIDTH, area.height())

    # -- the header ----------------------------------------------------------------------
    def schedule_header(self, *_: object) -> None:
        if self.timeline_on and not self._header_timer.isActive():
            self._header_timer.start()  # a throttle, not a debounce: it follows a long scroll

    def first_visible_row(self) -> int | None:
        """The row of the top-left cell in view (probed just inside the corner: cells of
        justified rows differ in size, and spacing sits around each)."""
        for y in range(1, 64, 3):
            for x in (3, 12):
                index = self.grid.indexAt(QPoint(x, y))
                if index.isValid():
                    return index.row()
        return None

    def update_date_header(self) -> None:
        if not self.timeline_on:
            return
        row = self.first_visible_row()
        photo = self.model.photo(row) if row is not None else None
        if photo is None:
            return  # its page is on its way; its arrival asks again
        if photo.id not in self._meta:
            self._ask_meta(row or 0)
        meta = self._meta.get(photo.id)
        self.date_header.setText(header_text(photo, meta))
        self.place_timeline()
        self.scrubber.set_current(month_of(photo, meta))

    def section_text(self, row: int) -> str:
        """The header over the section (a day, or a month at small sizes) whose first
        photo is at ``row``: its day and place once the photo's metadata is read."""
        days = self.model.days()
        day = int(days[row]) if days is not None and 0 <= row < len(days) else 0
        if self.delegate.icon_size < DAY_SECTIONS_FROM:
            return month_label_of_day(day)
        photo = self.model.photo(row)
        if photo is not None:
            if photo.id in self._meta:
                return header_text(photo, self._meta[photo.id])
            self._ask_meta(row)  # its arrival repaints the grid
        return day_label(day)

    def _ask_meta(self, row: int) -> None:
        ids = [p.id for r in range(row, min(row + META_BATCH, self.model.rowCount()))
               if (p := self.model.photo(r)) is not None
               and p.id not in self._meta and p.id not in self._meta_asked]
        if not ids:
            return
        self._meta_asked.update(ids)
        library = self.library

        def arrived(found: dict[int, PhotoMeta] | None, error: BaseException | None) -> None:
            self._meta_arrived(ids, found or {}, error)

        self.searches.run(lambda: library.meta_of(ids), arrived)

    def _meta_arrived(self, ids: list[int], found: dict[int, PhotoMeta],
                      error: BaseException | None) -> None:
        self._meta_asked.difference_update(ids)
        if error is not None:
            log.info("the dates and places of %d photos could not be read: %s", len(ids), error)
            return
        self._meta.update({photo_id: found.get(photo_id) for photo_id in ids})
        self.schedule_header()
        self.grid.viewport().update()  # section headers name the place now

    def _forget_meta(self) -> None:
        self._meta.clear()
        self._meta_asked.clear()

    # -- the scrubber --------------------------------------------------------------------
    def scroll_to_month(self, month: str) -> None:
        """Bring the month's first photo to the top; its page loads as it is painted. When
        the month starts mid-line, its first full line goes to the top, so the photo at the
        top-left (the header's) is of that month."""
        row = rows_before(self.scrubber.months, month)
        count = dict(self.scrubber.months).get(month, 0)
        if row >= self.model.rowCount():
            return
        line_start, next_line = self._line_around(row)
        if row != line_start and next_line - row < count:
            row = next_line
        self.grid.scrollTo(self.model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
        self.scrubber.set_current(month)
        self.schedule_header()

    def _line_around(self, row: int) -> tuple[int, int]:
        """The first row of ``row``'s line of cells, and of the line after it."""
        top = self.grid.visualRect(self.model.index(row)).top()
        level = lambda r: self.grid.visualRect(self.model.index(r)).top() == top  # noqa: E731
        start, end, rows = row, row + 1, self.model.rowCount()
        while start > 0 and level(start - 1):
            start -= 1
        while end < rows and level(end):
            end += 1
        return start, end


class _GridEvents(QObject):
    """Ctrl+wheel over the grid zooms; a resized viewport moves the header and scrubber."""

    def __init__(self, window: TimelineActions) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            return self.window.wheel_zoom(event)
        if event.type() == QEvent.Type.Resize:
            self.window.place_timeline()
            self.window.schedule_header()
        return False
