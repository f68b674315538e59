"""`photoclip` with no command: assemble the core once, start the worker, show the window."""

from __future__ import annotations

import signal
import sqlite3
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.catalog.errors import CatalogError, catalog_problem
from ..core.library import Library, LibraryError
from ..core.live.worker import LibraryWorker
from ..core.lock import LibraryLocked
from ..core.paths import app_paths, resources_dir
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
    instance = SingleInstance(paths.data_dir)
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
    instance.listen()
    instance.activated.connect(lambda: _bring_forward(window))
    app.aboutToQuit.connect(window.close)  # Ctrl+Q, SIGTERM, logout: the worker stops cleanly
    _quit_on_signals(app)
    window.show()
    try:
        return app.exec()
    finally:
        library.close()  # the one opened here; one reopened for a new model closes with the window


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
