"""`photoclip` with no command: assemble the core once, start the worker, show the window."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.library import Library
from ..core.lock import LibraryLocked
from ..core.paths import app_paths, resources_dir
from ..core.settings import load_settings
from ..core.worker import LibraryWorker
from .bridge import WorkerBridge, start_worker
from .main_window import MainWindow
from .single_instance import SingleInstance


def create_window(library: Library) -> tuple[MainWindow, LibraryWorker]:
    """The window and its running worker (tests build the app through this too)."""
    bridge = WorkerBridge()
    worker = start_worker(library, bridge)
    window = MainWindow(library, worker, bridge)
    bridge.setParent(window)
    return window, worker


def main(argv: Sequence[str] | None = None, model: str | None = None) -> int:
    app = QApplication.instance() or QApplication(list(argv or sys.argv))
    app.setApplicationName("PhotoClip")
    app.setDesktopFileName("photoclip")
    icon = resources_dir() / "icons" / "photoclip.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    paths = app_paths().ensure()
    instance = SingleInstance(paths.data_dir)
    if instance.hand_over():
        return 0
    settings = load_settings(paths.settings)
    settings.model = model or settings.model
    library = Library(paths, settings)
    try:
        window, _ = create_window(library)
    except LibraryLocked as exc:
        QMessageBox.critical(None, "PhotoClip", str(exc))
        library.close()
        return 1
    instance.listen()
    instance.activated.connect(lambda: _bring_forward(window))
    app.aboutToQuit.connect(window.close)  # Ctrl+Q, SIGTERM, logout: the worker stops cleanly
    _quit_on_signals(app)
    window.show()
    try:
        return app.exec()
    finally:
        library.close()  # the one opened here; one reopened for a new model closes with the window


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
