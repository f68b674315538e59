"""`photoclip` with no command: assemble the core once, start the worker, show the window."""

from __future__ import annotations

import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.catalog.errors import CatalogError, catalog_problem
from ..core.library import Library, LibraryError
from ..core.live.worker import LibraryWorker
from ..core.lock import LibraryLocked
from ..core.paths import app_paths, resources_dir
from ..core.remote_search import SEARCH_COMMAND, answer_search
from ..core.settings import SettingsError, load_settings
from .bridge import WorkerBridge, start_worker
from .main_window import MainWindow
from .platform_check import guarded_start
from .single_instance import SingleInstance


def create_window(library: Library) -> tuple[MainWindow, LibraryWorker]:
    """The window and its running worker (tests build the app through this too)."""
    bridge = WorkerBridge()
    worker = start_worker(library, bridge)
    window = MainWindow(library, worker, bridge)
    bridge.setParent(window)
    return window, worker


def main(argv: Sequence[str] | None = None, model: str | None = None) -> int:
    # Qt's failure to load its platform plugin: one line and exit 1, not an abort.
    app = QApplication.instance() or guarded_start(lambda: QApplication(list(argv or sys.argv)))
    app.setApplicationName("PhotoClip")
    app.setDesktopFileName("photoclip")
    icon = resources_dir() / "icons" / "photoclip.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    paths = app_paths().ensure()
    instance = SingleInstance(paths.data_dir, paths.cache_dir)
    if instance.hand_over():
        return 0
    try:
        settings = load_settings(paths.settings)
        settings.model = model or settings.model
        library = Library(paths, settings)
    except (SettingsError, CatalogError, LibraryError, ValueError, OSError) as exc:
        return _cannot_start(exc)  # the user's files are left as they are
    try:
        window, _ = create_window(library)
    except (LibraryLocked, CatalogError) as exc:
        library.close()
        return _cannot_start(exc)
    except sqlite3.Error as exc:  # a damaged page met while filling the window
        library.close()
        problem = catalog_problem(exc, paths.catalog, paths.backups)
        if problem is None:
            raise
        return _cannot_start(problem)
    instance.commands[SEARCH_COMMAND] = _answer_searches(window)
    cannot_listen = instance.listen()  # None, or one line: the app runs on regardless
    instance.activated.connect(lambda: _bring_forward(window))
    app.aboutToQuit.connect(window.close)  # Ctrl+Q, SIGTERM, logout: the worker stops cleanly
    _quit_on_signals(app)
    window.show()
    if cannot_listen:  # logged already (stderr); the window says it too
        window.show_message(cannot_listen)
    try:
        return app.exec()
    finally:
        library.close()  # the one opened here; one reopened for a new model closes with the window


def _answer_searches(window: MainWindow) -> Callable[[dict[str, Any]], Future | dict[str, Any]]:
    """`photoclip search` asks the app: the search runs in the window's search pool, never
    on the GUI thread (the first may load the model), with the library in use by then."""
    def answer(message: dict[str, Any]) -> Future | dict[str, Any]:
        future = window.searches.run(lambda: answer_search(window.library, message), _ignore)
        if future is None:  # the window is closing
            return {"ok": False, "error": "PhotoClip is closing", "kind": "library"}
        return future

    return answer


def _ignore(_result: object, _error: BaseException | None) -> None:
    """The reply goes to the asker through its Future, not to the window."""


def _cannot_start(problem: Exception) -> int:
    """Say why in one line (and on stderr, for a terminal or a log) and exit non-zero."""
    print(f"photoclip: error: {problem}", file=sys.stderr)
    QMessageBox.critical(None, "PhotoClip", str(problem))
    return 1


def _quit_on_signals(app: QApplication) -> None:
    """SIGINT/SIGTERM quit the event loop (closing the window, so the worker stops).
    Python runs signal handlers only between bytecodes, so a timer wakes it up."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())
    waker = QTimer(app, interval=250)
    waker.timeout.connect(lambda: None)
    waker.start()


def _bring_forward(window: MainWindow) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()
