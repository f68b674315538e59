"""The main window: search bar, photo grid, folders, live indexing status.

Thin: every action calls the core's Library (searches in the one-thread search
pool, writes through the worker), and results come back as queued callbacks.
Nothing here decodes, encodes, queries SQL or touches the index.
"""

from __future__ import annotations

import logging
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
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.library import Library, LibraryError
from ..core.models import Failure, Folder, Photo, Tag
from ..core.query import QueryError
from ..core.thumbnails import ThumbnailCache
from ..core.worker import LibraryWorker, WorkerStatus
from .bridge import WorkerBridge
from .preview import PreviewDialog
from .results_model import ResultsModel
from .settings_dialog import SettingsDialog
from .tasks import Generation, TaskRunner
from .widgets import ModelBanner, SearchBox, describe

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
RESULTS = 200


class MainWindow(QMainWindow):
    folders_changed = Signal()
    notice = Signal(str)  # a message from another thread, shown on the GUI thread

    def __init__(self, library: Library, worker: LibraryWorker, bridge: WorkerBridge) -> None:
        super().__init__()
        self.library = library
        self.worker = worker
        self.searches = TaskRunner(1, "search", self)
        self.thumbnail_tasks = TaskRunner(2, "thumbnails", self)
        self._generation = Generation()
        self._last_state = ""
        self._similar_to: Path | None = None  # "find similar" mode instead of a text query
        self._closing = False
        self._limit = RESULTS  # raised by "More results" to show weaker matches
        self.setWindowTitle("PhotoClip")
        self.setAcceptDrops(True)
        self.model = ResultsModel(ThumbnailCache(library.paths.thumbnails), self.thumbnail_tasks)
        self._build_search_bar()
        self._build_pages()
        self._build_folders_dock()
        self._build_problems_dock()
        self._build_status_bar()
        self._build_actions()
        bridge.status_changed.connect(self.show_status)
        bridge.message.connect(self.show_message)
        self.folders_changed.connect(self.refresh_folders)
        self.notice.connect(self.show_message)
        self.refresh_folders()
        self.run_search()
        self.resize(1100, 760)

    # -- building ----------------------------------------------------------------------
    def _build_search_bar(self) -> None:
        self.search_box = SearchBox()
        self.search_box.image_dropped.connect(self.find_similar)
        self.search_box.setPlaceholderText('Search your photos, e.g. "dog on a beach at sunset"')
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
        self._apply_cell_size(self.library.settings.thumbnail_size)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setModel(self.model)
        self.grid.doubleClicked.connect(lambda index: self.open_preview(index.row()))
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
        self.folder_list = QListWidget()
        side = QWidget()
        column = QVBoxLayout(side)
        column.addWidget(QLabel("<b>Folders</b>"))
        column.addWidget(self.folder_list, 1)
        # Places the tagging work fills in; said plainly rather than hidden.
        for title in ("Tags", "Albums"):
            column.addWidget(QLabel(f"<b>{title}</b>"))
            soon = QLabel("Come with auto-tagging")
            soon.setEnabled(False)
            column.addWidget(soon)
        dock = QDockWidget("Library", self)
        dock.setObjectName("library")
        dock.setWidget(side)
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

    def _focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    # -- searching -------------------------------------------------------------------
    def _page_fetcher(self, generation: int) -> Callable[[int], None]:
        """Next pages of the whole library as the user scrolls (a 100,000-photo grid
        holds only the rows scrolled to; SQL runs in the search pool)."""

        def fetch(offset: int) -> None:
            self.searches.run(
                lambda: [(photo, None) for photo in self.library.newest(RESULTS, offset)],
                lambda page, error: self._generation.is_current(generation)
                and self.model.append_items(page or []))

        return fetch

    def show_more(self) -> None:
        self._limit += RESULTS
        self.run_search()

    def _use_model(self, spec: str) -> None:
        from ..core.settings import save_settings

        self.library.settings.model = spec
        save_settings(self.library.settings, self.library.paths.settings)
        self.banner.text.setText(f"Saved {spec} as the model; restart PhotoClip to use it.")

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

        def work() -> list[tuple[Any, float | None]]:
            if similar_to is not None:
                return [(h.photo, h.score) for h in self.library.similar(similar_to, top=limit)]
            if not text:
                return [(photo, None) for photo in self.library.newest(limit)]
            return [(hit.photo, hit.score) for hit in self.library.search(text, top=limit)]

        self.searches.run(work, lambda result, error: self._show(generation, text, result, error))

    def _show(self, generation: int, text: str, result: Any, error: BaseException | None) -> None:
        if not self._generation.is_current(generation):
            return  # an older query answered late
        if error is not None:
            if not isinstance(error, (LibraryError, QueryError)):
                log.error("search failed", exc_info=error)
            result = []
            self.empty.setText(str(error) if isinstance(error, (LibraryError, QueryError))
                               else f"Search failed: {error}")
        browsing = not text and self._similar_to is None
        full_page = bool(result) and len(result) >= self._limit
        self.model.set_items(result or [], self._page_fetcher(generation)
                             if browsing and full_page else None)
        self.more_button.setVisible(full_page and not browsing)
        if result:
            self.pages.setCurrentIndex(0)
            return
        if error is None:
            has_folders = bool(self.folder_list.count())
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

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.library.settings, self.library.paths.settings, self)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        dialog.open()
        return dialog

    def _settings_saved(self, dialog: SettingsDialog) -> None:
        saved = dialog.saved
        if saved is None:
            return
        restart = (saved.model, saved.device) != (self.library.settings.model,
                                                  self.library.settings.device)
        self.library.settings = saved
        self._apply_cell_size(saved.thumbnail_size)
        self.statusBar().showMessage(
            "Settings saved" + ("; the new model or device is used after a restart" if restart
                                else ""), 10_000)

    def _apply_cell_size(self, size: int) -> None:
        self.grid.setIconSize(QSize(size, size))
        self.grid.setGridSize(QSize(size + 24, size + 36))

    # -- a photo --------------------------------------------------------------------
    def open_preview(self, row: int) -> PreviewDialog:
        dialog = PreviewDialog(self.model.photos(), row, self.model.thumbnails,
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
        menu = QMenu(self)
        menu.addAction("Find Similar", lambda: self.find_similar(photo.path))
        menu.addAction("Open Preview", lambda: self.open_preview(index.row()))
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
        self.searches.run(self.library.catalog.folders,
                          lambda folders, error: self._show_folders(folders or []))

    def _show_folders(self, folders: list[Folder]) -> None:
        self.folder_list.clear()
        offline = set(self.worker.status.offline)
        for folder in folders:
            suffix = "  (offline)" if folder.path in offline else ""
            self.folder_list.addItem(f"{folder.path.name or folder.path}{suffix}")
            self.folder_list.item(self.folder_list.count() - 1).setToolTip(str(folder.path))
        if not self.model.rowCount():
            self.run_search()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
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
        if status.state == "idle" and self._last_state in ("indexing", "scanning"):
            self.run_search()  # new photos appear in the current results when they match
            self.refresh_folders()
            self.refresh_problems()
        elif status.offline != getattr(self, "_offline", ()):
            self.refresh_folders()
        self._offline = status.offline
        self._last_state = status.state

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
        self.searches.shutdown()
        self.thumbnail_tasks.shutdown()
        event.accept()
