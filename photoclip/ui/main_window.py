"""The main window: search bar, photo grid, folders, live indexing status.

Thin: every action calls the core's Library (searches in the one-thread search
pool, writes through the worker), and results come back as queued callbacks.
Nothing here decodes, encodes, queries SQL or touches the index.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QListView,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.library import FolderStatus, Library, LibraryError
from ..core.models import Failure, Photo, PhotoState, Tag
from ..core.query import QueryError
from ..core.settings import Settings, SettingsError, save_settings
from ..core.thumbnails import ThumbnailCache
from ..core.worker import LibraryWorker, WorkerStatus
from .bridge import WorkerBridge, start_worker
from .grid_delegate import GridDelegate
from .preview import PreviewDialog
from .results_model import PAGE, ResultsModel
from .settings_dialog import SettingsDialog
from .sidebar import Sidebar
from .tasks import Generation, TaskRunner
from .widgets import ModelBanner, SearchBox, describe

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
RESULTS = 200
LIVE_REFRESH_S = 5.0  # while indexing, matching new photos join the results this often


class MainWindow(QMainWindow):
    folders_changed = Signal()
    library_reopened = Signal()  # a new model or device is in use
    folders_shown = Signal(list)  # the library folders' paths, after each refresh
    notice = Signal(str)  # a message from another thread, shown on the GUI thread
    search_again = Signal()  # from another thread: the results may have changed

    def __init__(self, library: Library, worker: LibraryWorker, bridge: WorkerBridge) -> None:
        super().__init__()
        self.library = library
        self.worker = worker
        self.bridge = bridge
        self.searches = TaskRunner(1, "search", self)
        self.thumbnail_tasks = TaskRunner(2, "thumbnails", self)
        self._generation = Generation()
        self._last_state = ""
        self._similar_to: Path | None = None  # "find similar" mode instead of a text query
        self._closing = False
        self._limit = RESULTS  # raised by "More results" to show weaker matches
        self._last_refresh = 0.0  # monotonic time of the last live refresh
        self._offline: tuple[Path, ...] = ()
        self._owns_library = False  # the caller opened the first library; we, any reopened one
        self._reopening = False
        self._reopen_next: Settings | None = None
        self.setWindowTitle("PhotoClip")
        self.setAcceptDrops(True)
        self.model = ResultsModel(ThumbnailCache(library.paths.thumbnails), self.thumbnail_tasks)
        self._build_search_bar()
        self._build_pages()
        self._build_folders_dock()
        self._build_problems_dock()
        self._build_status_bar()
        self._build_actions()
        self._set_tab_order()
        bridge.status_changed.connect(self.show_status)
        bridge.message.connect(self.show_message)
        self.folders_changed.connect(self.refresh_folders)
        self.notice.connect(self.show_message)
        self.search_again.connect(self.run_search)
        self.refresh_folders()
        self.run_search()
        self.resize(1100, 760)

    # -- building ----------------------------------------------------------------------
    def _build_search_bar(self) -> None:
        self.search_box = SearchBox()
        self.search_box.image_dropped.connect(self.find_similar)
        self.search_box.setPlaceholderText('Search your photos, e.g. "dog on a beach at sunset"')
        self.search_box.setAccessibleName("Search photos")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setToolTip('Plain words; combine with " + " and " - ", '
                                   'e.g. "beach + sunset - people" (Ctrl+F)')
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)
        self.search_box.textChanged.connect(self._query_edited)
        self.search_box.returnPressed.connect(self.run_search)

    def _build_pages(self) -> None:
        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.delegate = GridDelegate(self.grid)
        self.grid.setItemDelegate(self.delegate)
        self._apply_cell_size(self.library.settings.thumbnail_size)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setModel(self.model)
        self.grid.setAccessibleName("Photos")
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.activated.connect(lambda index: self.open_preview(index.row()))  # Enter
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        welcome = QWidget()
        layout = QVBoxLayout(welcome)
        layout.addStretch()
        layout.addWidget(self.empty)
        self.add_button = QPushButton("Add a photo folder…")
        self.add_button.clicked.connect(self.choose_folder)
        layout.addWidget(self.add_button, alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addStretch()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.grid)
        self.pages.addWidget(welcome)
        self.more_button = QPushButton("More results")
        self.more_button.setToolTip("Show weaker matches too")
        self.more_button.clicked.connect(self.show_more)
        self.more_button.hide()
        self.banner = ModelBanner(self.library.spec.open_clip_name)
        self.banner.model_chosen.connect(self._use_model)
        central = QWidget()
        column = QVBoxLayout(central)
        column.addWidget(self.banner)
        column.addWidget(self.search_box)
        column.addWidget(self.pages)
        column.addWidget(self.more_button, alignment=Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(central)

    def _build_folders_dock(self) -> None:
        self.sidebar = Sidebar()
        self.sidebar.remove_requested.connect(self.confirm_remove_folder)
        dock = QDockWidget("Library", self)
        dock.setObjectName("library")
        dock.setWidget(self.sidebar)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_problems_dock(self) -> None:
        self.problems = QListWidget()
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems")
        self.problems_dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.problems_dock.hide()

    def refresh_problems(self) -> None:
        """Photos that could not be indexed, with their reasons (shown only when there are some)."""
        self.searches.run(self.library.catalog.failures,
                          lambda failures, error: self._show_problems(failures or []))

    def _show_problems(self, failures: list[Failure]) -> None:
        self.problems.clear()
        for failure in failures:
            self.problems.addItem(f"{failure.path.name}: {failure.reason}")
            self.problems.item(self.problems.count() - 1).setToolTip(str(failure.path))
        self.problems_dock.setWindowTitle(f"Problems ({len(failures)})")
        self.problems_dock.setVisible(bool(failures))

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("Starting…")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume indexing")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.pause_button)

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        add = QAction("&Add Folder…", self, triggered=self.choose_folder)
        add.setShortcut(QKeySequence("Ctrl+O"))
        quit_action = QAction("&Quit", self, triggered=self.close)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        settings = QAction("&Settings…", self, triggered=self.open_settings)
        settings.setShortcut(QKeySequence.StandardKey.Preferences)
        menu.addAction(add)
        menu.addAction(settings)
        menu.addAction(quit_action)
        find = QAction("Find", self, triggered=self._focus_search)
        find.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(find)

    def _set_tab_order(self) -> None:
        """Search → photos → more results → folders: the order of the eye, not of creation."""
        chain = [self.search_box, self.grid, self.more_button, self.sidebar.folders,
                 self.pause_button]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    # -- searching -------------------------------------------------------------------
    def _page_fetcher(self, generation: int) -> Callable[[int], None]:
        """Pages of the whole library as their cells are painted (a 100,000-photo grid
        holds only the pages scrolled to; SQL runs in the search pool)."""

        def fetch(offset: int) -> None:
            self.searches.run(
                lambda: [(photo, None) for photo in self.library.newest(PAGE, offset)],
                lambda page, error: self._generation.is_current(generation)
                and self.model.fill(offset, page or []))

        return fetch

    def show_more(self) -> None:
        self._limit += RESULTS
        self.run_search()

    def _use_model(self, spec: str) -> None:
        """A model file chosen on the banner: saved to settings.toml and used at once."""
        changed = dataclasses.replace(self.library.settings, model=spec)
        try:
            save_settings(changed, self.library.paths.settings)
        except (SettingsError, OSError) as exc:
            self.banner.show_problem(f"Cannot use {spec}: {exc}")
            return
        self.reopen_library(changed)

    def reopen_library(self, settings: Settings) -> None:
        """Switch model or device without a restart: stop the worker, reopen the
        library with the new settings, start a new worker (off the GUI thread; the
        old worker may need a moment to finish its batch). One at a time: settings
        saved again meanwhile are applied when this reopen is done."""
        if self._reopening:
            self._reopen_next = settings
            return
        self._reopening = True
        old_library, old_worker = self.library, self.worker
        # The old worker's late statuses (a download can't be interrupted) must not
        # land in the new session: its bridge is cut off, the new worker gets its own.
        self.bridge.status_changed.disconnect(self.show_status)
        self.bridge.message.disconnect(self.show_message)
        self.banner.hide()
        self.status_label.setText("Switching model…")
        self.pause_button.setEnabled(False)

        def reopen() -> Library | None:
            old_worker.stop(timeout=60.0)
            old_library.close()
            gc.collect()  # the old model and index go now, not with a later collection
            if self._closing:  # the window closed meanwhile: nothing to reopen for
                return None
            return Library(old_library.paths, settings)

        self.searches.run(reopen, self._reopened)

    def _reopened(self, library: Library | None, error: BaseException | None) -> None:
        self._reopening = False
        if self._closing:
            if library is not None:
                library.close()
            return
        bridge = WorkerBridge(self)
        bridge.status_changed.connect(self.show_status)
        bridge.message.connect(self.show_message)
        try:
            if library is None:
                raise error or LibraryError("the library could not be reopened")
            worker = start_worker(library, bridge)
        except Exception as exc:  # LibraryLocked (another process took it), a bad catalog
            if library is not None:
                library.close()
            self.status_label.setText("Stopped")
            self.show_message(f"Could not switch: {exc}. Restart PhotoClip to go on indexing.")
            return
        self.library, self.worker, self.bridge, self._owns_library = library, worker, bridge, True
        self.banner.arch = library.spec.open_clip_name
        self.pause_button.setEnabled(True)
        self.library_reopened.emit()
        self.refresh_folders()
        self.run_search()
        if self._reopen_next is not None:  # saved again while this one ran
            settings, self._reopen_next = self._reopen_next, None
            self.reopen_library(settings)

    def _query_edited(self, text: str) -> None:
        self._limit = RESULTS
        if self._similar_to is not None and text != self._similar_label():
            self._similar_to = None  # typing leaves "find similar"
        self._debounce.start()

    def _similar_label(self) -> str:
        return f"similar to {self._similar_to.name}" if self._similar_to else ""

    def find_similar(self, path: Path) -> None:
        self._similar_to = path
        self.search_box.blockSignals(True)
        self.search_box.setText(self._similar_label())
        self.search_box.blockSignals(False)
        self.run_search()

    def run_search(self) -> None:
        self._debounce.stop()
        text = self.search_box.text().strip()
        similar_to = self._similar_to
        limit = self._limit
        generation = self._generation.next()

        def work() -> tuple[list[tuple[Any, float | None]], int | None]:
            """The rows, and for the library view how many photos it has in all."""
            if similar_to is not None:
                return [(h.photo, h.score) for h in self.library.similar(similar_to, top=limit)], None
            if not text:
                first = [(photo, None) for photo in self.library.newest(PAGE)]
                # Two reads: photos indexed in between must not leave blank rows in page 0.
                total = self.library.catalog.state_counts()[PhotoState.INDEXED]
                return first, (total if len(first) == PAGE else len(first))
            return [(hit.photo, hit.score) for hit in self.library.search(text, top=limit)], None

        self.searches.run(work, lambda result, error: self._show(generation, text, result, error))

    def _show(self, generation: int, text: str, answer: Any, error: BaseException | None) -> None:
        if not self._generation.is_current(generation):
            return  # an older query answered late
        result, total = answer if answer is not None else ([], None)
        if error is not None:
            if not isinstance(error, (LibraryError, QueryError)):
                log.error("search failed", exc_info=error)
            result = []
            self.empty.setText(str(error) if isinstance(error, (LibraryError, QueryError))
                               else f"Search failed: {error}")
        browsing = not text and self._similar_to is None
        full_page = bool(result) and len(result) >= self._limit
        if browsing:
            self.model.set_items(result or [], total, self._page_fetcher(generation))
        else:
            self.model.set_items(result or [])
        self.more_button.setVisible(full_page and not browsing)
        if result:
            self.pages.setCurrentIndex(0)
            return
        if error is None:
            has_folders = bool(self.sidebar.count())
            self.empty.setText(
                "No matching photos." if text else
                "Photos appear here as they are indexed." if has_folders else
                "Welcome to PhotoClip. Add a folder of photos (or drop one here) to start.")
        self.pages.setCurrentIndex(1)

    # -- folders ---------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if path:
            self.add_folder(Path(path))

    def add_folder(self, path: Path) -> None:
        """Added by the worker (it owns the writes); the list refreshes when it is done."""
        future = self.worker.submit(lambda: self.library.add_folder(path))
        future.add_done_callback(lambda f: self._folder_added(path, f.exception()))

    def _folder_added(self, path: Path, error: BaseException | None) -> None:
        if error is not None:  # on the worker thread: signals carry it to the GUI thread
            self.notice.emit(f"Cannot add {path}: {error}")
        self.folders_changed.emit()

    def confirm_remove_folder(self, path: Path) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Remove folder",
                          f"Remove {path} from the library?\n\nIts photos leave PhotoClip's "
                          "index and search; the files themselves are not touched.",
                          QMessageBox.StandardButton.Cancel, self)
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.finished.connect(lambda _: box.clickedButton() is remove and self.remove_folder(path))
        box.open()

    def remove_folder(self, path: Path) -> None:
        future = self.worker.submit(lambda: self.library.remove_folder(path))
        future.add_done_callback(lambda f: self._folder_removed(path, f.exception()))

    def _folder_removed(self, path: Path, error: BaseException | None) -> None:
        if error is not None:  # on the worker thread
            self.notice.emit(f"Cannot remove {path}: {error}")
        self.folders_changed.emit()
        self.search_again.emit()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.library.settings, self.library.paths.settings, self,
                                folders=self.sidebar.paths())
        dialog.add_folder_requested.connect(self.choose_folder)
        dialog.remove_folder_requested.connect(self.confirm_remove_folder)
        self.folders_shown.connect(dialog.set_folders)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        dialog.open()
        return dialog

    def _settings_saved(self, dialog: SettingsDialog) -> None:
        saved = dialog.saved
        if saved is None:
            return
        reopen = (saved.model, saved.device, saved.exclude, saved.polling_folders) != (
            self.library.settings.model, self.library.settings.device,
            self.library.settings.exclude, self.library.settings.polling_folders)
        self._apply_cell_size(saved.thumbnail_size)
        if reopen:  # the encoder and the watches are built from these
            self.reopen_library(saved)
        else:
            self.library.settings = saved
        self.statusBar().showMessage("Settings saved", 10_000)

    def _apply_cell_size(self, size: int) -> None:
        self.grid.setIconSize(QSize(size, size))
        self.delegate.icon_size = size
        cell = self.delegate.cell_size(self.grid.fontMetrics())
        self.grid.setGridSize(cell + QSize(8, 8))  # a gap between cells

    # -- a photo --------------------------------------------------------------------
    def open_preview(self, row: int) -> PreviewDialog | None:
        photo = self.model.photo(row)
        return None if photo is None else self._preview_photo(photo)  # None: page not here yet

    def _preview_photo(self, photo: Photo) -> PreviewDialog | None:
        photos = self.model.photos()  # the arrows step through the rows that have arrived
        if photo not in photos:  # the results changed since the menu opened
            photos = [photo]
        dialog = PreviewDialog(photos, photos.index(photo), self.model.thumbnails,
                               self.thumbnail_tasks, self._tags_of, self)
        dialog.show()
        return dialog

    def _tags_of(self, photo: Photo) -> list[Tag]:
        return self.library.catalog.tags(photo.id)

    def _context_menu(self, position: QPoint) -> None:
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        photo = self.model.photo(index.row())
        if photo is None:
            return
        menu = QMenu(self)
        menu.addAction("Find Similar", lambda: self.find_similar(photo.path))
        menu.addAction("Open Preview", lambda: self._preview_photo(photo))
        menu.addAction("Open in Default Viewer",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(photo.path))))
        menu.addAction("Show in Folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(photo.path.parent))))
        menu.addAction("Copy Path", lambda: QGuiApplication.clipboard().setText(str(photo.path)))
        menu.popup(self.grid.viewport().mapToGlobal(position))

    def show_message(self, text: str) -> None:
        """A message from the worker; a missing model gets a banner, not a fleeting line."""
        if text.startswith("photos can't be indexed"):
            self.banner.show_problem(text)
        self.statusBar().showMessage(text, 15_000)

    def refresh_folders(self) -> None:
        self.searches.run(self.library.folders,
                          lambda folders, error: self._show_folders(folders or []))

    def _show_folders(self, folders: list[FolderStatus]) -> None:
        self.sidebar.show_folders(folders, set(self.worker.status.offline))
        self.folders_shown.emit(self.sidebar.paths())
        if not self.model.rowCount():
            self.run_search()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # folders dropped on the window
        if any(Path(u.toLocalFile()).is_dir() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if Path(url.toLocalFile()).is_dir():
                self.add_folder(Path(url.toLocalFile()))

    # -- live indexing -------------------------------------------------------------------
    def show_status(self, status: WorkerStatus) -> None:
        if self._closing:
            return
        self.status_label.setText(describe(status))
        self.pause_button.setText("Resume" if status.state == "paused" else "Pause")
        if status.state == "downloading model":
            self.banner.show_download(status.downloaded, status.download_size)
        elif self._last_state == "downloading model" and status.state != "no model":
            self.banner.hide()  # downloaded; a failed download keeps the problem banner
        finished = status.state == "idle" and self._last_state in ("indexing", "scanning")
        if finished or (status.state == "indexing" and self._refresh_due()):
            self._refresh_live()
        elif status.offline != self._offline:
            self.refresh_folders()
        self._offline = status.offline
        self._last_state = status.state

    def _refresh_due(self) -> bool:
        return time.monotonic() - self._last_refresh >= LIVE_REFRESH_S

    def _refresh_live(self) -> None:
        """New photos appear in the current results when they match; the sidebar's
        counts follow. Results are replaced only if the user is at the top of the grid
        (replacing them would throw away where they scrolled to); the next search or
        a scroll back up shows the rest."""
        self._last_refresh = time.monotonic()
        self.refresh_folders()
        self.refresh_problems()
        if self.grid.verticalScrollBar().value() == 0:
            self.run_search()

    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()

    # -- shutdown --------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the worker cleanly (pending photos stay pending for next time)."""
        self.status_label.setText("Stopping…")
        self._closing = True  # status signals still queued are ignored from here on
        self.worker.stop()
        self.searches.shutdown()  # waits for a reopen in flight, whose library _reopened closes
        self.thumbnail_tasks.shutdown()
        if self._owns_library:
            self.library.close()
        event.accept()
