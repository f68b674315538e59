"""The worker's plain callbacks turned into Qt signals (delivered on the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.worker import WorkerStatus


class WorkerBridge(QObject):
    status_changed = Signal(object)  # WorkerStatus
    message = Signal(str)

    # Called on the worker thread: emitting is thread-safe, and connections to
    # objects living on the GUI thread are queued automatically.
    def on_status(self, status: WorkerStatus) -> None:
        self.status_changed.emit(status)

    def on_message(self, text: str) -> None:
        self.message.emit(text)
