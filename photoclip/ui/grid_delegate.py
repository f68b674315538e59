"""Grid cells: a thumbnail fitted into a fixed square, the file name under it only
while the mouse is over the cell (the cell's tooltip names it always), a
small match-score badge on search hits and a count badge on a stack's head.

Painted here rather than by the default delegate: thumbnails keep their aspect
ratio, so their sizes differ, and the default layout (with uniform item sizes)
would place names and pictures by the first cell's size and overlap them.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from .results_model import SCORE_ROLE, STACK_ROLE, StackMark

PADDING = 6


def badge_text(score: float) -> str:
    # CLIP cosine similarities of real matches sit around 0.2-0.4: two decimals
    # tell neighbours apart without pretending to a precision they don't have.
    return f"{score:.2f}"


def stack_badge_text(mark: StackMark) -> str:
    """ "⧉ 5" on a stack's head (how many photos it holds); a plain "⧉" on its members."""
    return f"⧉ {mark.size}" if mark.head else "⧉"


class GridDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None, icon_size: int = 160) -> None:
        super().__init__(parent)
        self.icon_size = icon_size

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        return QSize(self.icon_size + 2 * PADDING, self.icon_size + metrics.height() + 3 * PADDING)

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size(option.fontMetrics)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else QApplication.style()
        # Selection and hover background, in the platform's own look.
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter,
                            option.widget)
        cell = option.rect
        square = self._square(cell)
        self._paint_thumbnail(painter, option, square)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if option.state & QStyle.StateFlag.State_MouseOver:
            # Only under the mouse: a wall of names hides the photos (the tooltip and the
            # viewer's info panel name every photo).
            self._paint_name(painter, option, self.name_rect(cell, option.fontMetrics), selected)
        score = index.data(SCORE_ROLE)
        if score is not None:  # browsing the library has no relevance to show
            self._paint_badge(painter, option, square, badge_text(float(score)), selected)
        mark = index.data(STACK_ROLE)
        if mark is not None:
            self._paint_badge(painter, option, square, stack_badge_text(mark), selected,
                              self.stack_badge_rect(cell, option.fontMetrics, mark))

    def name_rect(self, cell: QRect, metrics: QFontMetrics) -> QRect:
        """Where the file name goes in a cell, under the thumbnail."""
        return QRect(cell.left() + PADDING, self._square(cell).bottom() + PADDING,
                     cell.width() - 2 * PADDING, metrics.height())

    def _paint_name(self, painter: QPainter, option: QStyleOptionViewItem, rect: QRect,
                    selected: bool) -> None:
        name = option.fontMetrics.elidedText(option.text, Qt.TextElideMode.ElideMiddle, rect.width())
        painter.save()
        painter.setPen(option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                            else QPalette.ColorRole.Text))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
        painter.restore()

    def _square(self, cell: QRect) -> QRect:
        return QRect(cell.left() + (cell.width() - self.icon_size) // 2, cell.top() + PADDING,
                     self.icon_size, self.icon_size)

    def stack_badge_rect(self, cell: QRect, metrics: QFontMetrics, mark: StackMark) -> QRect:
        """Where a stack's badge sits in a cell: the thumbnail's bottom-left corner (a click
        there opens or closes the stack)."""
        square = self._square(cell)
        text = stack_badge_text(mark)
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        return QRect(square.left() + 2, square.bottom() - height - 2, width, height)

    def _paint_thumbnail(self, painter: QPainter, option: QStyleOptionViewItem,
                         square: QRect) -> None:
        icon: QIcon = option.icon
        if icon.isNull():
            return
        # Ask for device pixels: on a 2x screen a 160 px cell draws a 320 px thumbnail.
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pixmap = icon.pixmap(square.size(), ratio)
        size = pixmap.deviceIndependentSize().toSize().scaled(
            square.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(square.left() + (square.width() - size.width()) // 2,
                       square.top() + (square.height() - size.height()) // 2,
                       size.width(), size.height())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target, pixmap)
        painter.restore()

    def _paint_badge(self, painter: QPainter, option: QStyleOptionViewItem, square: QRect,
                     text: str, selected: bool, rect: QRect | None = None) -> None:
        metrics = option.fontMetrics
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        rect = rect or QRect(square.right() - width - 2, square.top() + 2, width, height)
        palette = option.palette
        background = palette.color(QPalette.ColorRole.Highlight if selected
                                   else QPalette.ColorRole.ToolTipBase)
        background.setAlpha(220)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected
                                     else QPalette.ColorRole.ToolTipText))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
