"""The worker's plain callbacks turned into Qt signals (delivered on the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.library import Library
from ..core.live.worker import LibraryWorker, WorkerStatus


class WorkerBridge(QObject):
    status_changed = Signal(object)  # WorkerStatus
    message = Signal(str)

    # Called on the worker thread: emitting is thread-safe, and connections to
    # objects living on the GUI thread are queued automatically.
    def on_status(self, status: WorkerStatus) -> None:
        self.status_changed.emit(status)

    def on_message(self, text: str) -> None:
        self.message.emit(text)


def start_worker(library: Library, bridge: WorkerBridge) -> LibraryWorker:
    """The app's worker for ``library``, reporting through ``bridge`` (LibraryLocked if
    `photoclip watch` or `index` holds the library)."""
    worker = LibraryWorker(library, on_status=bridge.on_status, on_message=bridge.on_message,
                           make_thumbnails=True)  # the grid's thumbnails from indexing's decode
    return worker.start()
