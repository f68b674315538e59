"""What the main window's parts share: the base class of MainWindow and of its parts
(folders, model switching, photo actions in window_*.py), and the window as its
Organize helper sees it.

The parts are slices of one window, not separate objects: they read and swap the
same session (a model switch replaces library, worker and bridge together) and
override the window's Qt handlers (drops). So each part subclasses this base, which
declares the shared state, widgets and signals and the calls one part makes into
another; MainWindow, which subclasses every part, creates them and defines the rest.
Declared here, the parts never import main_window (nor each other), so nothing circles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QListView, QMainWindow, QMenu, QPushButton, QStackedWidget

from ..core.library import Library
from ..core.live.worker import LibraryWorker, WorkerStatus
from ..core.models import Photo
from .bridge import WorkerBridge
from .browse import Browse
from .grid_delegate import GridDelegate, GridLook
from .results_model import ResultsModel
from .sidebar import Sidebar
from .tasks import Generation, TaskRunner
from .widgets import ModelBanner, SearchBox


class PhotoTagging(Protocol):
    """What the photo actions use of the Organize helper (which itself sees the window)."""

    def change_tags(self, photo: Photo, action: str, names: list[str],
                    done: Callable[[BaseException | None], None]) -> None: ...

    def add_photo_actions(self, menu: QMenu) -> None: ...


class WindowBase(QMainWindow):
    folders_changed = Signal()
    library_reopened = Signal()  # a new model or device is in use
    folders_shown = Signal(list)  # the library folders' paths, after each refresh
    notice = Signal(str)  # a message from another thread, shown on the GUI thread
    search_again = Signal()  # from another thread: the results may have changed
    marks_changed = Signal(list)  # from another thread: these photo ids' favourite or stars changed

    # The session, replaced as a whole when the model or device is switched.
    library: Library
    worker: LibraryWorker
    bridge: WorkerBridge
    owns_library: bool  # the caller opened the first library; we, any reopened one
    closing: bool  # the window is closing: late answers and statuses are dropped
    # Pools: one thread for searches and reads, two for thumbnails.
    searches: TaskRunner
    thumbnail_tasks: TaskRunner
    _generation: Generation  # marks the answers of older searches stale
    # What is on show.
    model: ResultsModel
    grid: QListView
    delegate: GridDelegate  # the grid's cells: justified rows or square crops
    pages: QStackedWidget  # the grid, the empty state, the viewer
    sidebar: Sidebar
    search_box: SearchBox
    banner: ModelBanner
    status_label: QLabel
    pause_button: QPushButton
    browse: Browse | None  # a sidebar tag or album instead of a query
    shown_query: str  # the text query whose results are on show, if any
    organize: PhotoTagging

    # Defined by MainWindow or by a part; declared so the others can call them.
    def run_search(self) -> None:
        raise NotImplementedError

    def find_similar(self, path: Path) -> None:
        raise NotImplementedError

    def show_browse(self, browse: Browse) -> None:
        raise NotImplementedError

    def show_status(self, status: WorkerStatus) -> None:
        raise NotImplementedError

    def show_message(self, text: str) -> None:
        raise NotImplementedError

    def apply_cell_size(self, size: int) -> None:
        raise NotImplementedError

    def set_grid_look(self, look: GridLook) -> None:
        raise NotImplementedError

    def first_visible_row(self) -> int | None:
        raise NotImplementedError

    def find_view_menu(self) -> QMenu:
        raise NotImplementedError

    def refresh_folders(self) -> None:
        raise NotImplementedError

    def refresh_problems(self) -> None:
        raise NotImplementedError

    def refresh_places(self) -> None:
        raise NotImplementedError

    def choose_folder(self) -> None:
        raise NotImplementedError

    def confirm_remove_folder(self, path: Path) -> None:
        raise NotImplementedError

    def add_stack_actions(self, menu: QMenu, row: int) -> None:
        raise NotImplementedError

    def add_selection_actions(self, menu: QMenu) -> None:
        raise NotImplementedError
