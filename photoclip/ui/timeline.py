"""The grid as a timeline: a date header over the grid's top edge, naming the day (and
place) of the first photo in view, and a scrubber beside it, one band per month as
tall as its share of the photos, years marked, that scrolls the grid to a month.

Widgets only: the window part (window_timeline.py) tells them what to show; they read
nothing themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QWidget

from ..core.models import Photo, PhotoMeta
from .month_histogram import month_label

SCRUBBER_WIDTH = 56
MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_DATE = "No date"
_TOP_LEFT = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
_TOP_RIGHT = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight
_BOTTOM_RIGHT = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight


def header_text(photo: Photo, meta: PhotoMeta | None) -> str:
    """ "Saturday 14 July 2023 · Lisbon": the wall-clock day the photo was taken (the
    header's calendar is the photographer's, as the month counts'), and where."""
    day: datetime | None = None
    if meta is not None and meta.taken_local:
        try:
            day = datetime.fromisoformat(meta.taken_local)
        except ValueError:
            day = None
    if day is None and photo.taken_at is not None:
        day = datetime.fromtimestamp(photo.taken_at)  # naive EXIF times are local time
    text = f"{day:%A} {day.day} {day:%B %Y}" if day is not None else NO_DATE
    place = (meta.city or meta.country) if meta is not None else None
    return f"{text} · {place}" if place else text


def day_label(day: int) -> str:
    """ "Friday 14 July 2023" for the day YYYYMMDD (0: no date), as header_text says it."""
    try:
        when = date(day // 10_000, day // 100 % 100, day % 100)
    except ValueError:
        return NO_DATE
    return f"{when:%A} {when.day} {when:%B %Y}"


def month_label_of_day(day: int) -> str:
    """ "July 2023" for the day YYYYMMDD (0: no date): a month's section header."""
    try:
        return f"{date(day // 10_000, day // 100 % 100, 1):%B %Y}"
    except ValueError:
        return NO_DATE


def month_of(photo: Photo, meta: PhotoMeta | None) -> str | None:
    """ "YYYY-MM" of the photo, as the scrubber's months name them."""
    if meta is not None and meta.taken_local:
        return meta.taken_local[:7]
    return datetime.fromtimestamp(photo.taken_at).strftime("%Y-%m") if photo.taken_at is not None else None


def rows_before(months: Sequence[tuple[str, int]], month: str) -> int:
    """The grid row (newest first) of ``month``'s first photo: the photos of every newer
    month come before it."""
    return sum(n for m, n in months if m > month)


class DateHeader(QLabel):
    """A translucent strip over the top of the grid; clicks pass through to the cells."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAccessibleName("Date of the photos in view")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAutoFillBackground(True)
        self.setMargin(6)
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Window)
        background.setAlpha(225)
        palette.setColor(QPalette.ColorRole.Window, background)
        self.setPalette(palette)
        self.hide()

    def place_over(self, area: QRect) -> None:
        """Across the top of ``area`` (the grid's viewport, in the grid's coordinates)."""
        self.setGeometry(area.left(), area.top(), area.width(), self.sizeHint().height())
        self.raise_()


class TimelineScrubber(QWidget):
    """Months newest first, top to bottom, each band as tall as its share of the photos;
    a click or a drag picks the month under the pointer (``month_chosen``)."""

    month_chosen = Signal(str)  # "YYYY-MM"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Timeline")
        self.setToolTip("Click or drag to go to a month")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setFixedWidth(SCRUBBER_WIDTH)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.months: list[tuple[str, int]] = []  # newest first
        self.current: str | None = None  # the month of the photo at the top of the grid
        self._edges_of: tuple[int, int] | None = None
        self._edges_kept: list[int] = [0]
        self._dragging = False
        self._chosen: str | None = None  # the month a drag is on: each month is gone to once
        self.hide()

    def set_months(self, months: Sequence[tuple[str, int]]) -> None:
        """``months`` ("YYYY-MM", photos) in any order; empty months are left out."""
        self.months = sorted(((m, n) for m, n in months if n > 0), reverse=True)
        self.update()

    def set_current(self, month: str | None) -> None:
        if month != self.current:
            self.current = month
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(SCRUBBER_WIDTH, 200)

    # -- geometry ------------------------------------------------------------------------
    def _edges(self) -> list[int]:
        """The top of each month's band and the bottom of the last: counts to pixels
        (kept until the months or the height change: a paint asks once per month)."""
        key = (self.height(), id(self.months))
        if self._edges_of != key:
            total = sum(n for _, n in self.months) or 1
            edges, seen = [0], 0
            for _, count in self.months:
                seen += count
                edges.append(round(self.height() * seen / total))
            self._edges_of, self._edges_kept = key, edges
        return self._edges_kept

    def month_rect(self, index: int) -> QRect:
        """Where month ``index`` (newest first) is drawn (tests click its centre)."""
        edges = self._edges()
        return QRect(0, edges[index], self.width(), max(1, edges[index + 1] - edges[index]))

    def month_at(self, y: int) -> str | None:
        """The month under ``y``, clamped to the ends (a drag past them)."""
        if not self.months:
            return None
        edges = self._edges()
        index = next((i for i in range(len(self.months)) if y < edges[i + 1]), len(self.months) - 1)
        return self.months[index][0]

    # -- drawing -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        metrics = self.fontMetrics()
        year_shown = ""
        for index, (month, _) in enumerate(self.months):
            band = self.month_rect(index)
            if month == self.current:
                painter.fillRect(band, palette.highlight())
            elif index % 2:
                painter.fillRect(band, palette.alternateBase())
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if month == self.current
                                         else QPalette.ColorRole.Text))
            year, abbreviation = month[:4], MONTH_ABBREVIATIONS[int(month[5:7]) - 1]
            text_rect, line = band.adjusted(2, 0, -2, 0), metrics.height()
            if year != year_shown and band.height() >= line:  # a year's first band says which
                painter.drawText(text_rect, _TOP_LEFT, year)
                year_shown = year
                if band.height() >= 2 * line:
                    painter.drawText(text_rect, _BOTTOM_RIGHT, abbreviation)
            elif band.height() >= line:
                painter.drawText(text_rect, _TOP_RIGHT, abbreviation)
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.months:
            assert isinstance(event, QHelpEvent)
            month = self.month_at(event.pos().y())
            count = dict(self.months).get(month or "", 0)
            if month is not None:
                QToolTip.showText(event.globalPos(), f"{month_label(month)}: {count:,} "
                                  f"photo{'s' if count != 1 else ''}", self)
                return True
        return super().event(event)

    # -- choosing ------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging, self._chosen = True, None
            self._choose(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._choose(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False

    def _choose(self, event: QMouseEvent) -> None:
        month = self.month_at(round(event.position().y()))
        if month is not None and month != self._chosen:
            self._chosen = month
            self.month_chosen.emit(month)
