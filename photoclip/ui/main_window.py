"""The main window: search bar, photo grid, folders, live indexing status.
Folders, filters, model switching and photo actions are its parts beside it
(window_*.py, on the base in window_parts.py);
tags, albums and concepts are its Organize helper.

Thin: every action calls the core's Library (searches in the one-thread search
pool, writes through the worker), and results come back as queued callbacks.
Nothing here decodes, encodes, queries SQL or touches the index.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.files.thumbnails import ThumbnailCache
from ..core.library import Library, LibraryError
from ..core.live.worker import LibraryWorker
from ..core.models import Failure, PhotoFilter, PhotoState
from ..core.search.query import QueryError
from .bridge import WorkerBridge
from .browse import Browse
from .grid_delegate import GridDelegate, GridLook
from .organize import Organize
from .photo_grid import PhotoGrid
from .results_model import PAGE, ResultsModel
from .sidebar import Sidebar
from .tasks import Generation, TaskRunner
from .widgets import ModelBanner, SearchBox
from .window_duplicates import DuplicateActions
from .window_filters import FilterActions
from .window_folders import FolderActions
from .window_grid_look import GridLookActions
from .window_help import HelpActions
from .window_photos import PhotoActions
from .window_selection import SelectionActions
from .window_status import LiveStatus
from .window_switching import ModelSwitching
from .window_timeline import TimelineActions
from .window_viewer import ViewerActions

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
RESULTS = 200


class MainWindow(DuplicateActions, FilterActions, FolderActions, GridLookActions, HelpActions, LiveStatus,
                 ModelSwitching, PhotoActions, SelectionActions, TimelineActions, ViewerActions):
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
        self.browse: Browse | None = None  # a sidebar tag or album instead of a query
        self.shown_query = ""  # the text query whose results are on show, if any
        self.closing = False
        self._limit = RESULTS  # raised by "More results" to show weaker matches
        self._last_refresh = 0.0  # monotonic time of the last live refresh
        self._offline: tuple[Path, ...] = ()
        self.owns_library = False
        self.setWindowTitle("PhotoClip")
        self.setAcceptDrops(True)
        self.model = ResultsModel(ThumbnailCache(library.paths.thumbnails), self.thumbnail_tasks)
        self.model.marks_source = lambda ids: self.library.catalog.marks_of(ids)  # the library in use
        self._build_search_bar()
        self._build_pages()
        self._build_folders_dock()
        self._build_problems_dock()
        self._build_status_bar()
        self._build_actions()
        self.organize = Organize(self)
        self.build_duplicate_actions()  # in Organize's Tools menu
        self.build_selection_actions()
        self.build_viewer()  # a page of self.pages; its View menu goes before Tools
        self.build_timeline()  # the date header, the month scrubber, zoom (in the View menu)
        self.build_grid_look()  # View > Photo Shapes
        self._set_tab_order()
        bridge.status_changed.connect(self.show_status)
        bridge.message.connect(self.show_message)
        self.folders_changed.connect(self.refresh_folders)
        self.notice.connect(self.show_message)
        self.search_again.connect(self.run_search)
        self.refresh_folders()
        self.run_search()
        self.resize(1100, 760)
        self.build_help_menu()  # last: lists every other part's actions, ends the menu bar
        self.restore_window_state()  # where the window was left, over the defaults above

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
        self.grid = PhotoGrid()  # cells placed by PhotoClip: justified rows, sections, squares
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.delegate = GridDelegate(self.grid, look=GridLook.JUSTIFIED)
        self.grid.setItemDelegate(self.delegate)
        self.apply_cell_size(self.library.settings.thumbnail_size)
        self.grid.setModel(self.model)
        self.grid.setAccessibleName("Photos")
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.grid.setDragEnabled(True)  # out to a file manager or another app, as file URLs
        self.grid.setDragDropMode(QListView.DragDropMode.DragOnly)
        self.grid.activated.connect(lambda index: self.open_viewer(index.row()))  # double-click, Enter
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self.show_context_menu)
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
        self.banner.model_chosen.connect(self.use_model)
        central = QWidget()
        column = QVBoxLayout(central)
        column.addWidget(self.banner)
        column.addWidget(self.search_box)
        column.addWidget(self._build_filter_bar())
        column.addWidget(self.pages)
        column.addWidget(self.more_button, alignment=Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(central)

    def _build_folders_dock(self) -> None:
        self.sidebar = Sidebar()
        self.sidebar.remove_requested.connect(self.confirm_remove_folder)
        self.sidebar.place_requested.connect(self.show_place)
        dock = QDockWidget("Library", self)
        dock.setObjectName("library")
        dock.setWidget(self.sidebar)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_problems_dock(self) -> None:
        self.problems = QListWidget()
        self.problems.setAccessibleName("Problems")
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

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        add = QAction("&Add Folder…", self, triggered=self.choose_folder)
        add.setShortcut(QKeySequence("Ctrl+O"))
        quit_action = QAction("&Quit", self, triggered=self.close)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        settings = QAction("&Settings…", self, triggered=self.open_settings)
        # The platform's Preferences key where it has one (none on Linux): else Ctrl+,
        settings.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
                              or [QKeySequence("Ctrl+,")])
        menu.addAction(add)
        menu.addAction(settings)
        menu.addAction(quit_action)
        find = QAction("Find", self, triggered=self._focus_search)
        find.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(find)

    def _set_tab_order(self) -> None:
        """Search → photos → more results → folders: the order of the eye, not of creation."""
        chain = [self.search_box, self.grid, self.more_button, self.sidebar.folders,
                 self.sidebar.tags, self.sidebar.albums, self.pause_button]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    # -- searching -------------------------------------------------------------------
    def show_more(self) -> None:
        self._limit += RESULTS
        self.run_search()

    def _query_edited(self, text: str) -> None:
        self._limit = RESULTS
        self.place_follows(text)
        if self._similar_to is not None and text != self._similar_label():
            self._similar_to = None  # typing leaves "find similar"
        if self.browse is not None and text != self.browse.label:
            self.browse = None  # and a tag or album
            self.sidebar.clear_choice()
        self._debounce.start()

    def _similar_label(self) -> str:
        return f"similar to {self._similar_to.name}" if self._similar_to else ""

    def find_similar(self, path: Path) -> None:
        self._similar_to, self.browse = path, None
        self.sidebar.clear_choice()
        self._show_mode(self._similar_label())

    def show_browse(self, browse: Browse) -> None:
        """A tag or album from the sidebar; the search box says which (Esc goes back)."""
        self._similar_to, self.browse = None, browse
        self._show_mode(browse.label)

    def _show_mode(self, label: str) -> None:
        self._limit = RESULTS
        self.search_box.blockSignals(True)
        self.search_box.setText(label)
        self.search_box.blockSignals(False)
        self.run_search()

    def run_search(self) -> None:
        self._debounce.stop()
        text = self.search_box.text().strip()
        similar_to, browse = self._similar_to, self.browse
        limit, picked = self._limit, self.filter_bar.picker_filter()
        generation = self._generation.next()

        def rows() -> tuple[list[tuple[Any, float | None]], int | None, Any]:
            """The rows; for the library view and filter-only queries, how many photos
            there are in all; for queries, the FindResult (chips, counts)."""
            if browse is not None:
                return [(photo, None) for photo in browse.photos(self.library, limit)], None, None
            if similar_to is not None:
                hits = self.library.similar(similar_to, top=limit)
                return [(h.photo, h.score) for h in hits], None, None
            if not text and picked is None:
                first = [(photo, None) for photo in self.library.newest(PAGE)]
                # Two reads: photos indexed in between must not leave blank rows in page 0.
                total = self.library.catalog.state_counts()[PhotoState.INDEXED]
                return first, (total if len(first) == PAGE else len(first)), None
            return self.find_rows(text, picked, limit)

        def work() -> tuple[list[tuple[Any, float | None]], int | None, Any, Any]:
            found_rows, total, found = rows()
            return found_rows, total, found, self.shapes_of(found_rows, total, found)

        self.searches.run(work, lambda result, error: self._show(
            generation, text, picked, result, error))

    def _show(self, generation: int, text: str, picked: PhotoFilter | None, answer: Any,
              error: BaseException | None) -> None:
        if not self._generation.is_current(generation):
            return  # an older query answered late
        nothing: Any = ([], None, None, (None, None))
        result, total, found, (aspects, days) = answer if answer is not None else nothing
        if error is not None:
            if not isinstance(error, (LibraryError, QueryError)):
                log.error("search failed", exc_info=error)
            result = []
            self.empty.setText(str(error) if isinstance(error, (LibraryError, QueryError))
                               else f"Search failed: {error}")
        browsing = not text and picked is None and self._similar_to is None
        full_page = bool(result) and len(result) >= self._limit
        querying = (bool(text) or picked is not None) and self._similar_to is None \
            and self.browse is None
        self.shown_query = text if querying and error is None else ""
        filtered = found is not None and total is not None  # a filter-only query, paged
        if browsing:
            newest = self.library.newest
            self.model.set_items(result or [], total, self.page_fetcher(
                generation, lambda offset: [(photo, None) for photo in newest(PAGE, offset)]), aspects, days)
        elif filtered:
            self.model.set_items(result or [], total, self.page_fetcher(
                generation, self.filtered_pages(text, picked)), aspects, days)
        else:
            self.model.set_items(result or [], aspects=aspects)
        self.more_button.setVisible(full_page and not browsing and not filtered)
        self.filter_bar.show_result(found)  # a tag, an album, "similar": no chips of a query
        if querying or browsing:
            self.refresh_facets(found.parsed.filter if found is not None else PhotoFilter())
        if self.pages.currentWidget() is self.viewer_page:
            return  # the viewer stays on show; the grid under it is up to date for Esc
        if result:
            self.pages.setCurrentIndex(0)
            return
        if error is None:
            has_folders = bool(self.sidebar.count())
            self.add_button.setVisible(not has_folders)  # no filter or query wants a new folder
            self.empty.setText(
                "No photos here any more." if self.browse is not None else
                "No photos match these filters." if found is not None
                and not found.parsed.filter.is_empty() else
                "No matching photos." if text else
                "Photos appear here as they are indexed." if has_folders else
                "Welcome to PhotoClip. Add a folder of photos (or drop one here) to start.")
        self.pages.setCurrentIndex(1)

    def show_message(self, text: str) -> None:
        """A message from the worker; a missing model gets a banner, not a fleeting line."""
        if text.startswith("photos can't be indexed"):
            self.banner.show_problem(text)
        self.statusBar().showMessage(text, 15_000)

    # -- shutdown --------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the worker cleanly (pending photos stay pending for next time)."""
        self.save_window_state()
        self.status_label.setText("Stopping…")
        self.closing = True  # status signals still queued are ignored from here on
        self.worker.stop()
        self.organize.shutdown()
        self.searches.shutdown()  # waits for a reopen in flight, whose library _reopened closes
        self.thumbnail_tasks.shutdown()
        if self.owns_library:
            self.library.close()
        event.accept()
