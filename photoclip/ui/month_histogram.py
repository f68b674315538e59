"""The filter bar's date control: one bar per month, as tall as the photos it holds.

Clicking a bar chooses that month; dragging across bars chooses the months between.
The choice becomes a date filter (``after`` the first day of the first month,
``before`` the first day of the month after the last) through ``range_chosen``.
Months without photos between the oldest and the newest are drawn as gaps, so the
bars are a true timeline.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QHelpEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
BAR_WIDTH = 6  # pixels per month, gap included, that the size hint asks for
MAX_BAR_WIDTH = 24  # and the most a month is given
HEIGHT = 34


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def timeline(months: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Every month from the oldest to the newest of ``months`` ("YYYY-MM", n), the
    missing ones with 0 photos."""
    counts = dict(months)
    if not counts:
        return []
    month, last = min(counts), max(counts)
    filled = [(month, counts[month])]
    while month < last:
        month = _next_month(month)
        filled.append((month, counts.get(month, 0)))
    return filled


def month_range(first: str, last: str) -> tuple[str, str]:
    """The date filter of the months ``first`` to ``last`` ("YYYY-MM", inclusive):
    ("YYYY-MM-01" inclusive, the first day after them, exclusive)."""
    first, last = min(first, last), max(first, last)
    return f"{first}-01", f"{_next_month(last)}-01"


def month_label(month: str) -> str:
    """ "2024-07" -> "July 2024"."""
    return f"{MONTH_NAMES[int(month[5:7]) - 1]} {month[:4]}"


class MonthHistogram(QWidget):
    range_chosen = Signal(str, str)  # after ("YYYY-MM-DD", inclusive), before (exclusive)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Photos per month")
        self.setToolTip("Photos per month: click a month or drag across months to choose them")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.months: list[tuple[str, int]] = []
        self.chosen: tuple[str, str] | None = None  # first and last month shown as chosen
        self._anchor: int | None = None  # the bar a drag started on

    def set_months(self, months: Sequence[tuple[str, int]]) -> None:
        self.months = timeline(months)
        # A few months stay narrow bars, not slabs across the window.
        self.setMaximumWidth(max(120, MAX_BAR_WIDTH * len(self.months)))
        self.update()

    def show_range(self, after: str | None, before: str | None) -> None:
        """Mark the months a date filter covers (or none)."""
        inside = [m for m, _ in self.months
                  if (after is None or f"{_next_month(m)}-01" > after)
                  and (before is None or f"{m}-01" < before)]
        self.chosen = (inside[0], inside[-1]) if inside and (after or before) else None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(max(120, min(600, BAR_WIDTH * len(self.months))), HEIGHT)

    # -- geometry ------------------------------------------------------------------------
    def bar_at(self, x: int) -> int | None:
        """The index of the month under ``x``, clamped to the ends (a drag past them)."""
        if not self.months:
            return None
        index = int(x * len(self.months) / max(1, self.width()))
        return max(0, min(len(self.months) - 1, index))

    def bar_rect(self, index: int) -> QRect:
        """Where month ``index`` is drawn (tests click its centre)."""
        width = self.width() / len(self.months)
        left = round(index * width)
        right = round((index + 1) * width)
        peak = max(n for _, n in self.months) or 1
        height = max(1, round((self.height() - 2) * self.months[index][1] / peak))
        gap = 1 if right - left > 2 else 0
        return QRect(left, self.height() - height, max(1, right - left - gap), height)

    # -- drawing -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        chosen = self._chosen_indexes()
        for index, (_, count) in enumerate(self.months):
            if count:
                brush = palette.highlight() if index in chosen else palette.mid()
                painter.fillRect(self.bar_rect(index), brush)
        painter.end()

    def _chosen_indexes(self) -> range:
        if self.chosen is None:
            return range(0)
        names = [m for m, _ in self.months]
        first, last = self.chosen
        if first not in names or last not in names:
            return range(0)
        return range(names.index(first), names.index(last) + 1)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.months:
            assert isinstance(event, QHelpEvent)
            index = self.bar_at(event.pos().x())
            if index is not None:
                month, count = self.months[index]
                QToolTip.showText(event.globalPos(), f"{month_label(month)}: {count:,} "
                                  f"photo{'s' if count != 1 else ''}", self)
                return True
        return super().event(event)

    # -- choosing ------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._anchor = self.bar_at(event.position().toPoint().x())
        self._mark(event.position().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._anchor is not None:
            self._mark(event.position().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._anchor is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._mark(event.position().toPoint())
        self._anchor = None
        if self.chosen is not None:
            self.range_chosen.emit(*month_range(*self.chosen))

    def _mark(self, at: QPoint) -> None:
        here = self.bar_at(at.x())
        if self._anchor is None or here is None:
            return
        first, last = sorted((self._anchor, here))
        self.chosen = (self.months[first][0], self.months[last][0])
        self.update()
