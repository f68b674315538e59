"""The main window's viewer: Enter on a photo shows it filling the window (a page of the
window's stack), arrows step through the grid's rows, a slideshow, zoom, the user's
rotation, the info panel (I); Esc goes back to the grid where the user left it (a part
of MainWindow).

Nothing is read on the GUI thread: pictures (a cached screen-size JPEG first, the
original when zoomed past it) and the info panel's rows come from the thumbnail pool,
each answer dropped if the user has moved on meanwhile. Rotation is the catalog's
(``library.set_rotation``, through the worker), never written into the photo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QItemSelectionModel, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QImage, QImageReader, QKeyEvent, QKeySequence, QPainter
from PySide6.QtWidgets import QMenu, QWidget

from ..core.library import Library
from ..core.models import Photo
from .info_panel import PhotoInfo, read_photo_info
from .viewer import WHEEL_STEP, ViewerPage
from .window_parts import WindowBase

log = logging.getLogger(__name__)

VIEW_SIZE = 2048  # the cached copy shown first: sharp on most screens, small and quick to decode
SLIDESHOW_MS = 4000
# (attribute, menu text, shortcuts, what it does, checkable)
_ACTIONS: tuple[tuple[str, str, tuple[str, ...], str, bool], ...] = (
    ("viewer_next_action", "&Next Photo", ("Right", "PgDown"), "viewer_next", False),
    ("viewer_previous_action", "&Previous Photo", ("Left", "PgUp"), "viewer_previous", False),
    ("viewer_fit_action", "Zoom to &Fit", ("F", "0"), "viewer_fit", False),
    ("viewer_actual_action", "&Actual Size (100%)", ("1",), "viewer_actual_size", False),
    ("viewer_zoom_in_action", "Zoom &In", ("Ctrl+=", "Ctrl++"), "viewer_zoom_in", False),
    ("viewer_zoom_out_action", "Zoom &Out", ("Ctrl+-",), "viewer_zoom_out", False),
    ("viewer_rotate_right_action", "Rotate &Right", ("R",), "viewer_rotate_right", False),
    ("viewer_rotate_left_action", "Rotate &Left", ("Shift+R",), "viewer_rotate_left", False),
    ("viewer_slideshow_action", "&Slideshow", ("Space", "S"), "toggle_slideshow", True),
    ("viewer_info_action", "Photo &Info", ("I",), "toggle_info", True),
    ("viewer_back_action", "&Back to Photos", ("Esc",), "close_viewer", False),
)


def rotation_of(library: Library, photo_id: int) -> int:
    """The user's quarter turns for the photo (0 on a core without marks yet)."""
    marks_of = getattr(library, "marks_of", None)
    if marks_of is None:
        return 0
    marks = marks_of([photo_id]).get(photo_id)
    return int(marks.rotation) if marks is not None else 0


def read_original(path: Path) -> QImage | None:
    """The photo at full size, turned upright, transparency over white as PhotoClip shows
    it everywhere (off the GUI thread: QImage is safe there, QPixmap is not)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation, as the cached copy has it
    image = reader.read()
    if image.isNull():
        log.info("the original of %s can't be read: %s", path, reader.errorString())
        return None
    if not image.hasAlphaChannel():
        return image
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(QColor("white"))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat


class ViewerActions(WindowBase):
    filter_bar: QWidget
    more_button: QWidget
    viewer_page: ViewerPage
    viewer_photos: list[Photo]
    viewer_index: int
    info_shown: bool = False  # the info panel's on/off, kept for the session
    slideshow_ms: int = SLIDESHOW_MS

    def build_viewer(self) -> None:
        """The viewer's page in the window's stack, its View menu and timers."""
        self.viewer_page = ViewerPage()
        self.pages.addWidget(self.viewer_page)
        self.viewer_photos, self.viewer_index = [], 0
        self._viewer_open = False
        self._grid_place = (0, 0)  # the grid's scroll values when the viewer opened
        self._viewer_hid: list[QWidget] = []  # the bars hidden for the viewer, shown again after
        self._viewer_request = 0  # the latest picture asked for: older answers are dropped
        self._full_asked: int | None = None  # the photo whose original is being read
        self._rotations: dict[int, int] = {}  # set this session (the catalog may not have them yet)
        self.slideshow = QTimer(self, interval=self.slideshow_ms)
        self.slideshow.timeout.connect(self._slideshow_step)
        self._slideshow_keys = _AnyKeyStops(self)
        self.viewer_page.canvas.full_resolution_wanted.connect(self._load_original)
        self.pages.currentChanged.connect(self._page_changed)
        self._build_viewer_menu()

    def _build_viewer_menu(self) -> None:
        menu = self._view_menu()
        # No key of its own: Enter is the grid's (its "activated", listed as a grid key).
        self.open_viewer_action = QAction("Open in &Viewer", self)
        self.open_viewer_action.setStatusTip("Show the current photo filling the window (Enter)")
        self.open_viewer_action.triggered.connect(
            lambda: self.open_viewer(self.grid.currentIndex().row()))
        menu.addAction(self.open_viewer_action)
        menu.addSeparator()
        self.viewer_actions: list[QAction] = []
        for attribute, text, keys, method, checkable in _ACTIONS:
            action = QAction(text, self, checkable=checkable)
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setEnabled(False)  # only while a photo is on show
            handler: Callable[[], object] = getattr(self, method)
            action.triggered.connect(lambda _checked=False, handler=handler: handler())
            self.addAction(action)  # window-wide: the keys work wherever the focus is
            menu.addAction(action)
            setattr(self, attribute, action)
            self.viewer_actions.append(action)

    def _view_menu(self) -> QMenu:
        """The View menu, shared with any other part that has one; before Tools and Help."""
        bar = self.menuBar()
        titles = {a.text().replace("&", ""): a for a in bar.actions()}
        if "View" in titles and titles["View"].menu() is not None:
            return titles["View"].menu()
        menu = QMenu("&View", self)
        after = next((titles[t] for t in ("Tools", "Help") if t in titles), None)
        if after is None:
            bar.addMenu(menu)
        else:
            bar.insertMenu(after, menu)
        return menu

    # -- opening and leaving -------------------------------------------------------------
    @property
    def viewer_photo(self) -> Photo | None:
        return self.viewer_photos[self.viewer_index] if self._viewer_open and self.viewer_photos else None

    def open_viewer(self, row: int) -> bool:
        """Show the grid's ``row`` filling the window; False if its page has not arrived."""
        photo = self.model.photo(row)
        if photo is None:
            return False
        photos = self.model.photos()  # the arrows step through the rows that have arrived
        ids = [p.id for p in photos]
        if not self._viewer_open:
            bars = self.grid.horizontalScrollBar(), self.grid.verticalScrollBar()
            self._grid_place = (bars[0].value(), bars[1].value())
        self.viewer_photos = photos if photo.id in ids else [photo]
        self._viewer_open = True
        self._viewer_hid = [w for w in (self.search_box, self.filter_bar, self.more_button)
                            if w.isVisible()]
        for widget in self._viewer_hid:
            widget.hide()  # the photo fills the window
        self.pages.setCurrentWidget(self.viewer_page)
        for action in self.viewer_actions:
            action.setEnabled(True)
        self.viewer_info_action.setChecked(self.info_shown)
        self.viewer_page.info.setVisible(self.info_shown)
        self.viewer_page.canvas.setFocus()
        self.show_viewer_photo(ids.index(photo.id) if photo.id in ids else 0)
        return True

    def close_viewer(self) -> None:
        """Back to the grid as the user left it: its scroll position, the photo on show current."""
        photo = self.viewer_photo
        if photo is None:
            return
        self._leave_viewer()
        self.pages.setCurrentWidget(self.grid if self.model.rowCount() else self.pages.widget(1))
        central = self.centralWidget()
        if central is not None and central.layout() is not None:
            central.layout().activate()  # the bars back in place before the grid's range is known
        self.grid.doItemsLayout()
        row = self._select_in_grid(photo)
        self.grid.horizontalScrollBar().setValue(self._grid_place[0])
        self.grid.verticalScrollBar().setValue(self._grid_place[1])
        if row is not None:  # the user stepped out of the part they left: bring the photo in
            self.grid.scrollTo(self.model.index(row))
        self.grid.setFocus()

    def _leave_viewer(self) -> None:
        self._viewer_open = False
        self.stop_slideshow()
        self._viewer_request += 1  # loads in flight are for a page no longer shown
        for action in self.viewer_actions:
            action.setEnabled(False)
        for widget in self._viewer_hid:
            widget.show()
        self._viewer_hid = []

    def _page_changed(self, index: int) -> None:
        """Another page took the stack's place (a new search's results): the viewer is left."""
        if self._viewer_open and self.pages.widget(index) is not self.viewer_page:
            self._leave_viewer()

    def _select_in_grid(self, photo: Photo) -> int | None:
        """Make the photo the grid's current and only selected row; its row, if it has one."""
        row = self._row_of(photo)
        if row is not None:
            self.grid.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        return row

    def _row_of(self, photo: Photo) -> int | None:
        """The photo's row in the grid now (the results may have changed meanwhile)."""
        if (guess := self.model.photo(self.viewer_index)) is not None and guess.id == photo.id:
            return self.viewer_index  # every row had arrived: rows and photos line up
        return next((row for row in range(self.model.rowCount())
                     if (p := self.model.photo(row)) is not None and p.id == photo.id), None)

    # -- the photo on show ---------------------------------------------------------------
    def show_viewer_photo(self, index: int) -> None:
        self.viewer_index = max(0, min(index, len(self.viewer_photos) - 1))
        photo = self.viewer_photos[self.viewer_index]
        page = self.viewer_page
        page.set_position(photo.path.name, self.viewer_index + 1, len(self.viewer_photos))
        page.canvas.show_image(None, None, 0, "Loading…")
        self._select_in_grid(photo)  # the Photo menu's actions act on the photo on show
        self._viewer_request += 1
        self._full_asked = None
        request, library, thumbnails = self._viewer_request, self.library, self.model.thumbnails

        def load() -> tuple[QImage | None, int]:  # off the GUI thread
            path = thumbnails.get(photo, VIEW_SIZE)
            image = QImage(str(path)) if path is not None else None
            return image, self._rotations.get(photo.id, rotation_of(library, photo.id))

        self.thumbnail_tasks.run(
            load, lambda loaded, error: self._picture_loaded(request, photo, loaded, error))
        if self.info_shown:
            self._load_info(photo)

    def _picture_loaded(self, request: int, photo: Photo, loaded: tuple[QImage | None, int] | None,
                        error: BaseException | None) -> None:
        if request != self._viewer_request:
            return  # the user moved on
        if error is not None:
            log.warning("the photo %s could not be shown: %s", photo.path, error)
        image, turns = loaded if loaded is not None else (None, 0)
        self.viewer_page.canvas.show_image(image, _long_side(photo), turns,
                                           "This photo can't be shown (missing or unreadable).")
        following = self.viewer_index + 1
        if following < len(self.viewer_photos):  # made while this one is looked at
            upcoming, thumbnails = self.viewer_photos[following], self.model.thumbnails
            self.thumbnail_tasks.run(lambda: thumbnails.get(upcoming, VIEW_SIZE), lambda *_: None)

    def _load_original(self) -> None:
        """Zoomed past the cached copy's pixels: the original file, read once per photo."""
        photo = self.viewer_photo
        if photo is None or self._full_asked == photo.id or self.viewer_page.canvas.at_full_resolution:
            return
        self._full_asked, request = photo.id, self._viewer_request

        def shown(image: QImage | None, error: BaseException | None) -> None:
            if request == self._viewer_request and image is not None:
                self.viewer_page.canvas.replace_image(image, _long_side(photo))

        self.thumbnail_tasks.run(lambda: read_original(photo.path), shown)

    def _load_info(self, photo: Photo) -> None:
        self.viewer_page.info.show_loading(photo)
        library = self.library

        def shown(info: PhotoInfo | None, error: BaseException | None) -> None:
            if self.viewer_photo is None or self.viewer_photo.id != photo.id:
                return
            if error is not None or info is None:
                log.warning("the info of %s could not be read: %s", photo.path, error)
                return
            self.viewer_page.info.show_info(info)

        self.thumbnail_tasks.run(lambda: read_photo_info(library, photo), shown)

    # -- the keys --------------------------------------------------------------------------
    def viewer_next(self) -> None:
        self.show_viewer_photo(self.viewer_index + 1)

    def viewer_previous(self) -> None:
        self.show_viewer_photo(self.viewer_index - 1)

    def viewer_fit(self) -> None:
        self.viewer_page.canvas.fit()

    def viewer_actual_size(self) -> None:
        self.viewer_page.canvas.actual_size()

    def viewer_zoom_in(self) -> None:
        self.viewer_page.canvas.zoom_by(WHEEL_STEP, self._cursor_on_canvas())

    def viewer_zoom_out(self) -> None:
        self.viewer_page.canvas.zoom_by(1 / WHEEL_STEP, self._cursor_on_canvas())

    def _cursor_on_canvas(self) -> QPointF | None:
        """Zoom keys zoom around the cursor when it is over the photo, else around the middle."""
        canvas = self.viewer_page.canvas
        point = canvas.mapFromGlobal(canvas.cursor().pos())
        return point.toPointF() if canvas.rect().contains(point) else None

    def viewer_rotate_right(self) -> None:
        self._rotate(1)

    def viewer_rotate_left(self) -> None:
        self._rotate(-1)

    def _rotate(self, turns: int) -> None:
        """Turn the photo as shown and keep it in the catalog (the file is never written)."""
        photo, canvas = self.viewer_photo, self.viewer_page.canvas
        if photo is None:
            return
        rotation = (canvas.turns + turns) % 4
        canvas.set_turns(rotation)
        self._rotations[photo.id] = rotation
        library = self.library
        future = self.worker.submit(lambda: library.set_rotation(photo.id, rotation), rescan=False)
        self.thumbnail_tasks.deliver(future, lambda _, error: self._rotation_kept(photo.id, rotation, error))

    def _rotation_kept(self, photo_id: int, rotation: int, error: BaseException | None) -> None:
        self.model.photo_turned(photo_id, rotation)  # the grid shows it turned too
        if error is not None:
            log.warning("the rotation could not be kept: %s", error)
            self.statusBar().showMessage(f"The rotation could not be kept: {error}", 10_000)

    def toggle_info(self) -> None:
        self.info_shown = not self.info_shown
        self.viewer_info_action.setChecked(self.info_shown)
        self.viewer_page.info.setVisible(self.info_shown)
        photo = self.viewer_photo
        if self.info_shown and photo is not None:
            self._load_info(photo)

    # -- the slideshow ---------------------------------------------------------------------
    def toggle_slideshow(self) -> None:
        if self.slideshow.isActive():
            self.stop_slideshow()
        else:
            self.slideshow.start(self.slideshow_ms)
            self.viewer_slideshow_action.setChecked(True)
            app = self._application()
            if app is not None:
                app.installEventFilter(self._slideshow_keys)

    def stop_slideshow(self) -> None:
        self.slideshow.stop()
        self.viewer_slideshow_action.setChecked(False)
        app = self._application()
        if app is not None:
            app.removeEventFilter(self._slideshow_keys)

    def _application(self) -> QObject | None:
        return QCoreApplication.instance()

    def _slideshow_step(self) -> None:
        if self.viewer_index >= len(self.viewer_photos) - 1:
            self.stop_slideshow()  # the end: the last photo stays on show
        else:
            self.viewer_next()


def _long_side(photo: Photo) -> int | None:
    return max(photo.width or 0, photo.height or 0) or None


class _AnyKeyStops(QObject):
    """While a slideshow runs, any key but the slideshow's own stops it (and still does
    what it does: Right steps, Esc goes back)."""

    def __init__(self, window: ViewerActions) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and isinstance(event, QKeyEvent) and not _modifier_only(event):
            pressed = QKeySequence(event.keyCombination())
            if pressed not in self.window.viewer_slideshow_action.shortcuts():
                self.window.stop_slideshow()
        return False


def _modifier_only(event: QKeyEvent) -> bool:
    return event.key() in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta)
