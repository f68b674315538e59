"""Grid cells: the photo filling its cell (cropped to it, turned by the user's rotation),
the file name across the cell's foot only while the mouse is over it (the tooltip
names it always), a match-score badge on search hits, a count badge on a stack's head,
and a heart and stars for favourites and ratings.

Two looks (``GridLook``): justified rows, each photo at its own shape and each row
filling the grid's width (``justified.py`` finds the sizes; QListView's flow places
them), or square crops of one size, as many as fill a row.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np
from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..core.models import PhotoMarks
from .justified import CellSizes, justify, squares
from .results_model import MARKS_ROLE, SCORE_ROLE, STACK_ROLE, StackMark

SPACING = 4  # px between photos (and before the first and after the last of a row)
DAY_SECTIONS_FROM = 128  # px rows and up: a section a day; smaller, a section a month
HEADER_PADDING = 12  # px above and below a section header's text
SELECTION_FRAME = 3  # px of the highlight colour inside a selected cell
BIG = QSize(4096, 4096)  # ask an icon for its own size (it never scales up)


class GridLook(str, Enum):
    JUSTIFIED = "justified"
    SQUARE = "square"


def badge_text(score: float) -> str:
    # CLIP cosine similarities of real matches sit around 0.2-0.4: two decimals
    # tell neighbours apart without pretending to a precision they don't have.
    return f"{score:.2f}"


def stack_badge_text(mark: StackMark) -> str:
    """ "⧉ 5" on a stack's head (how many photos it holds); a plain "⧉" on its members."""
    return f"⧉ {mark.size}" if mark.head else "⧉"


def stars_text(rating: int) -> str:
    return "★" * rating


class GridDelegate(QStyledItemDelegate):
    def __init__(self, parent: QListView | None = None, icon_size: int = 160,
                 look: GridLook = GridLook.SQUARE) -> None:
        super().__init__(parent)
        self.view = parent
        self.icon_size = icon_size  # the rows' height (justified) or the squares' side
        self.look = look
        self._sizes: CellSizes | None = None
        self._sizes_key: tuple[object, ...] | None = None
        self.square_side = icon_size  # square crops: the side that fills the row
        # The text of the header over the section whose first photo is at a row (the
        # window's: day and place); without it, no headers.
        self.section_label: Callable[[int], str] | None = None

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """A square cell (square crops: the side that fills the width)."""
        del metrics  # names are drawn over the photo, not under it
        return QSize(self.square_side, self.square_side)

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        # The photo grid places cells from cells_for; this answers anyone else asking.
        sizes, row = self._sizes, index.row()
        if sizes is None or not 0 <= row < len(sizes):
            return QSize(self.icon_size, self.icon_size)
        return QSize(sizes.widths[row], sizes.heights[row])

    def cells_for(self, model: QAbstractItemModel, width: int) -> CellSizes:
        """Every row's cell for a grid ``width`` px wide: justified rows (cut into the
        timeline's sections when the rows are in date order) or squares; found again
        only when the rows, their shapes, the width, the size or the look changed."""
        aspects = getattr(model, "aspects", None)
        key = (id(model), getattr(model, "layout_epoch", 0), self.icon_size, width, self.look)
        if key != self._sizes_key or self._sizes is None:
            sections, header = self._sections(model), self._header_height()
            if aspects is None or self.look is GridLook.SQUARE:
                self.square_side = self.square_side_for(width)
                self._sizes = squares(model.rowCount(), width, self.square_side, SPACING, sections, header)
            else:
                self._sizes = justify(aspects(), width, self.icon_size, SPACING, sections, header)
            self._sizes_key = key
        return self._sizes

    def _sections(self, model: QAbstractItemModel) -> list[int]:
        days = getattr(model, "days", lambda: None)()
        if days is None or self.section_label is None:
            return []
        keys = days if self.icon_size >= DAY_SECTIONS_FROM else days // 100  # a month: YYYYMM
        return (np.flatnonzero(np.diff(keys)) + 1).tolist()

    def _header_height(self) -> int:
        metrics = self.view.fontMetrics() if self.view is not None else QFontMetrics(QFont())
        return metrics.height() + HEADER_PADDING

    def square_side_for(self, width: int) -> int:
        """The side of squares near ``icon_size`` that fill ``width`` with the spacing."""
        columns = max(1, round((width - SPACING) / (self.icon_size + SPACING)))
        return max(1, (width - SPACING) // columns - SPACING)

    def photo_rect(self, cell: QRect, row: int) -> QRect:
        """Where the photo is drawn in its cell: all of it, or under a section's band."""
        sizes = self._sizes
        if sizes is None or not 0 <= row < len(sizes) or sizes.headed[row] < 0:
            return cell
        return cell.adjusted(0, sizes.header, 0, 0)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        self.initStyleOption(option, index)
        whole = option.rect
        cell = self.photo_rect(whole, index.row())
        if cell.top() != whole.top():
            self._paint_header(painter, option, whole, index.row())
        marks: PhotoMarks | None = index.data(MARKS_ROLE)
        self._paint_photo(painter, option.icon, cell, marks.rotation if marks else 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            self._paint_selection(painter, option, cell)
        if option.state & QStyle.StateFlag.State_MouseOver:
            # Only under the mouse: a wall of names hides the photos (the tooltip and the
            # viewer's info panel name every photo).
            self._paint_name(painter, option, self.name_rect(cell, option.fontMetrics))
        score = index.data(SCORE_ROLE)
        if score is not None:  # browsing the library has no relevance to show
            text = badge_text(float(score))
            corner = self._corner(cell, option.fontMetrics, text, right=True, top=True)
            self._paint_badge(painter, option, corner, text)
        mark = index.data(STACK_ROLE)
        if mark is not None:
            self._paint_badge(painter, option, self.stack_badge_rect(cell, option.fontMetrics, mark),
                              stack_badge_text(mark))
        if marks is not None and marks.favourite:
            self._paint_badge(painter, option, self.heart_rect(cell, option.fontMetrics), "♥",
                              ink=QColor(220, 40, 60))
        if marks is not None and marks.rating:
            text = stars_text(marks.rating)
            self._paint_badge(painter, option, self._corner(cell, option.fontMetrics, text, right=True,
                                                            top=False), text, ink=QColor(240, 180, 0))

    # -- where things go -------------------------------------------------------------------
    def name_rect(self, cell: QRect, metrics: QFontMetrics) -> QRect:
        """Where the file name goes: a band across the foot of the cell."""
        height = metrics.height() + 6
        return QRect(cell.left(), cell.bottom() - height + 1, cell.width(), height)

    def stack_badge_rect(self, cell: QRect, metrics: QFontMetrics, mark: StackMark) -> QRect:
        """Where a stack's badge sits: the cell's bottom-left corner (a click there opens
        or closes the stack)."""
        return self._corner(cell, metrics, stack_badge_text(mark), right=False, top=False)

    def heart_rect(self, cell: QRect, metrics: QFontMetrics) -> QRect:
        return self._corner(cell, metrics, "♥", right=False, top=True)

    @staticmethod
    def _corner(cell: QRect, metrics: QFontMetrics, text: str, *, right: bool, top: bool) -> QRect:
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        left = cell.right() - width - 3 if right else cell.left() + 4
        upper = cell.top() + 4 if top else cell.bottom() - height - 3
        return QRect(left, upper, width, height)

    # -- painting --------------------------------------------------------------------------
    def _paint_photo(self, painter: QPainter, icon: QIcon, cell: QRect, turns: int) -> None:
        """The thumbnail cropped to fill ``cell``, turned ``turns`` quarters clockwise."""
        if icon.isNull():
            return
        pixmap = icon.pixmap(BIG)
        if pixmap.isNull():
            return
        sideways = turns % 2 == 1
        width, height = (cell.height(), cell.width()) if sideways else (cell.width(), cell.height())
        source = pixmap.deviceIndependentSize()
        scale = max(width / max(1.0, source.width()), height / max(1.0, source.height()))
        crop_w, crop_h = width / scale, height / scale
        ratio = pixmap.devicePixelRatio()
        crop = QRectF((source.width() - crop_w) / 2 * ratio, (source.height() - crop_h) / 2 * ratio,
                      crop_w * ratio, crop_h * ratio)
        painter.save()
        painter.setClipRect(cell)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.translate(QRectF(cell).center())
        painter.rotate(90 * (turns % 4))
        painter.drawPixmap(QRectF(-width / 2, -height / 2, width, height), pixmap, crop)
        painter.restore()

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, whole: QRect, row: int) -> None:
        """The section's header across its first row: each cell of the row draws the same
        text from the row's start, clipped to itself and the gap after it (a cell
        repainted alone redraws its own slice)."""
        sizes = self._sizes
        if sizes is None or self.section_label is None:
            return
        band = QRect(whole.left(), whole.top(), whole.width() + SPACING, sizes.header)
        font = option.font
        font.setBold(True)
        painter.save()
        painter.setClipRect(band)
        painter.setFont(font)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        text_area = QRect(SPACING + 2, band.top(), max(band.right(), 4096), band.height())
        painter.drawText(text_area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.section_label(sizes.headed[row]))
        painter.restore()

    @staticmethod
    def _paint_selection(painter: QPainter, option: QStyleOptionViewItem, cell: QRect) -> None:
        """A frame in the platform's highlight colour and a light wash of it: the photo
        fills its cell, so a background behind it would never show."""
        colour = option.palette.color(QPalette.ColorRole.Highlight)
        wash = QColor(colour)
        wash.setAlpha(60)
        painter.save()
        painter.fillRect(cell, wash)
        pen = QPen(colour, SELECTION_FRAME)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        inset = SELECTION_FRAME // 2
        painter.drawRect(cell.adjusted(inset, inset, -inset - 1, -inset - 1))
        painter.restore()

    @staticmethod
    def _paint_name(painter: QPainter, option: QStyleOptionViewItem, band: QRect) -> None:
        name = option.fontMetrics.elidedText(option.text, Qt.TextElideMode.ElideMiddle, band.width() - 8)
        painter.save()
        painter.fillRect(band, QColor(0, 0, 0, 150))
        painter.setPen(QColor("white"))
        painter.drawText(band, Qt.AlignmentFlag.AlignCenter, name)
        painter.restore()

    @staticmethod
    def _paint_badge(painter: QPainter, option: QStyleOptionViewItem, rect: QRect, text: str,
                     ink: QColor | None = None) -> None:
        palette = option.palette
        background = palette.color(QPalette.ColorRole.ToolTipBase)
        background.setAlpha(220)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(ink or palette.color(QPalette.ColorRole.ToolTipText))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
