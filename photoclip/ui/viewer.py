"""The photo viewer inside the main window: one photo filling the window, zoomed to fit
or to any scale around the cursor, dragged to pan, turned by the user's rotation; the
info panel at its right side.

Display only: it is handed decoded images (loaded off the GUI thread by the window's
viewer part, window_viewer.py) and never reads a file itself. A picture may arrive at
screen size first (a cached 2048 px JPEG) and be replaced by the original when the
user zooms past that; scales are always said in the original's pixels, so 100% is one
photo pixel on one screen pixel whichever of the two is on show.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from .info_panel import InfoPanel

WHEEL_STEP = 1.25  # zoom factor per wheel notch (and per Ctrl+= / Ctrl+-)
MIN_SCALE, MAX_SCALE = 0.02, 16.0  # in original pixels: 2% .. 1600%
INFO_WIDTH = 300
BACKDROP = QColor("#202020")


class PhotoCanvas(QWidget):
    """One picture, fitted (the default) or zoomed; the wheel zooms around the cursor, a
    drag pans, a double-click switches between fit and 100%."""

    scale_changed = Signal(float)  # the scale in original pixels, after any change
    # Shown beyond the loaded picture's own resolution: the original would be sharper.
    full_resolution_wanted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Photo")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self._pixmap: QPixmap | None = None
        self._resolution = 1.0  # loaded pixels per original pixel (< 1 for a reduced copy)
        self._turns = 0  # quarter turns clockwise
        self._scale = 1.0  # screen pixels per original pixel: what the user sees as 100%
        self._center = QPointF()  # the point of the turned picture at the widget's centre
        self.fitted = True  # follows the window's size until the user zooms
        self.message = ""
        self._drag_from: QPointF | None = None

    # -- what is shown -------------------------------------------------------------------
    def show_image(self, image: QImage | None, original_long_side: int | None, turns: int,
                   message: str = "") -> None:
        """A new photo, fitted (None: ``message`` instead, e.g. "Loading…")."""
        self._pixmap = None if image is None or image.isNull() else QPixmap.fromImage(image)
        self.message = message if self._pixmap is None else ""
        self._turns = turns % 4
        self._resolution = self._resolution_of(original_long_side)
        self.fit()
        self.update()

    def replace_image(self, image: QImage, original_long_side: int | None) -> None:
        """The same photo at another resolution (the original after a reduced copy): the
        view keeps its scale and the point at its centre."""
        if self._pixmap is None or image.isNull():
            return
        scale, old_resolution = self.scale(), self._resolution
        center = QPointF(self._center)
        self._pixmap = QPixmap.fromImage(image)
        self._resolution = self._resolution_of(original_long_side)
        if self.fitted:
            self.fit()
            return
        self._center = center * (self._resolution / old_resolution)
        self._set_scale(scale, None)

    def _resolution_of(self, original_long_side: int | None) -> float:
        if self._pixmap is None or not original_long_side:
            return 1.0
        loaded = max(self._pixmap.width(), self._pixmap.height())
        return min(1.0, loaded / original_long_side)

    def set_turns(self, turns: int) -> None:
        self._turns = turns % 4
        self.fit()  # a turned photo fits differently (portrait and landscape swap)

    @property
    def turns(self) -> int:
        return self._turns

    @property
    def has_picture(self) -> bool:
        return self._pixmap is not None

    @property
    def at_full_resolution(self) -> bool:
        return self._resolution >= 1.0

    def scale(self) -> float:
        """Screen pixels per pixel of the original photo (1.0 is 100%)."""
        return self._scale

    @property
    def _zoom(self) -> float:
        """Screen pixels per pixel of the picture loaded."""
        return self._scale / self._resolution

    def fit_scale(self) -> float:
        """The scale that shows the whole photo, never above 100% (a small photo stays sharp)."""
        size = self._turned_size()
        if size.isEmpty():
            return 1.0
        fit = min(self.width() / size.width(), self.height() / size.height())
        return min(1.0, fit * self._resolution)

    # -- zooming and panning -------------------------------------------------------------
    def fit(self) -> None:
        self.fitted = True
        size = self._turned_size()
        self._center = QPointF(size.width() / 2, size.height() / 2)
        self._set_scale(self.fit_scale(), None)

    def actual_size(self) -> None:
        """100%, around the centre."""
        self.fitted = False
        self._set_scale(1.0, None)

    def zoom_by(self, factor: float, around: QPointF | None = None) -> None:
        """Zoom keeping the picture's point under ``around`` (widget coordinates) in place."""
        self.fitted = False
        self._set_scale(self.scale() * factor, around)

    def _set_scale(self, scale: float, around: QPointF | None) -> None:
        if self._pixmap is None:
            return
        scale = max(min(self.fit_scale(), MIN_SCALE), min(scale, MAX_SCALE))
        if around is not None:  # the picture's point under the cursor stays under it
            middle = QPointF(self.width() / 2, self.height() / 2)
            under = self._center + (around - middle) / self._zoom
            self._center = under - (around - middle) / (scale / self._resolution)
        self._scale = scale
        self._keep_in_view()
        self.update()
        self.scale_changed.emit(self.scale())
        if scale > self._resolution + 1e-6:
            self.full_resolution_wanted.emit()

    def _keep_in_view(self) -> None:
        """No panning past the picture's edges; a picture smaller than the widget is centred."""
        size = self._turned_size()
        center = QPointF(self._center)
        for axis, extent, room in (("x", size.width(), self.width()), ("y", size.height(), self.height())):
            half = room / (2 * self._zoom)
            value = center.x() if axis == "x" else center.y()
            value = extent / 2 if extent <= 2 * half else max(half, min(value, extent - half))
            center = QPointF(value, center.y()) if axis == "x" else QPointF(center.x(), value)
        self._center = center

    def _turned_size(self) -> QSize:
        if self._pixmap is None:
            return QSize()
        size = self._pixmap.size()
        return size.transposed() if self._turns % 2 else size

    # -- Qt handlers -----------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKDROP)  # dark, as viewers are: the photo's colours stand out
        if self._pixmap is None:
            painter.setPen(QColor("#d0d0d0"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        size = self._turned_size()
        painter.translate(self.width() / 2, self.height() / 2)
        painter.scale(self._zoom, self._zoom)
        painter.translate(-self._center)
        # Now in the turned picture's pixels; turn the loaded one into them around its middle.
        painter.translate(size.width() / 2, size.height() / 2)
        painter.rotate(90 * self._turns)
        painter.drawPixmap(QRectF(-self._pixmap.width() / 2, -self._pixmap.height() / 2,
                                  self._pixmap.width(), self._pixmap.height()),
                           self._pixmap, QRectF(self._pixmap.rect()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fitted:
            self.fit()
        else:
            self._keep_in_view()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.zoom_by(WHEEL_STEP ** notches, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None and self._pixmap is not None:
            moved = event.position() - self._drag_from
            self._drag_from = event.position()
            self._center -= moved / self._zoom
            self._keep_in_view()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.fitted and self.fit_scale() < 1.0:
            self.fitted = False
            self._set_scale(1.0, event.position())
        else:
            self.fit()


class ViewerPage(QWidget):
    """The viewer's page of the window's stack: the canvas, a caption (which photo, which
    scale) and the info panel beside them (hidden until asked for)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Photo viewer")
        self.canvas = PhotoCanvas()
        self.caption = QLabel()
        self.caption.setAccessibleName("Photo position and scale")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info = InfoPanel()
        self.info.hide()
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(column)
        self.splitter.addWidget(self.info)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([10_000, INFO_WIDTH])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.splitter)
        self.canvas.scale_changed.connect(lambda scale: self._show_caption())
        self._position = ""

    def set_position(self, name: str, number: int, count: int) -> None:
        self._position = f"{name}  ·  {number} of {count}"
        self._show_caption()

    def _show_caption(self) -> None:
        scale = f"  ·  {self.canvas.scale() * 100:.0f}%" if self.canvas.has_picture else ""
        fit = " (fit)" if self.canvas.has_picture and self.canvas.fitted else ""
        self.caption.setText(f"{self._position}{scale}{fit}")
