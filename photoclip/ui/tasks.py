"""Run work off the GUI thread and get the result back on it (Picard's run_task).

Callbacks always run on the GUI thread, through a queued signal. Two pools: a
one-thread one for searches (each new query makes older ones stale, and their
results are dropped by generation), and a small one for thumbnails. Tags,
albums and label sets read in a third (``LibraryTasks``), so a slow album
listing never holds up a search, and write through the library's worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from ..core.library import Library
    from ..core.live.worker import LibraryWorker

log = logging.getLogger(__name__)


class TaskRunner(QObject):
    _finished = Signal(object, object, object)  # callback, result, error

    def __init__(self, workers: int, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._closed = False
        self._finished.connect(self._deliver)  # queued: emitted from pool threads

    def run(self, work: Callable[[], Any],
            callback: Callable[[Any, BaseException | None], None]) -> Future[Any] | None:
        """None once shut down: late requests (a repaint, a queued signal) are dropped."""
        if self._closed:
            return None
        future = self._pool.submit(work)
        self.deliver(future, callback)
        return future

    def deliver(self, future: Future[Any],
                callback: Callable[[Any, BaseException | None], None]) -> None:
        """``callback(result, error)`` on the GUI thread once ``future`` is done
        (a future of this pool, or of another thread such as the library's worker)."""
        future.add_done_callback(lambda f: self._finished.emit(
            callback, None if f.cancelled() or f.exception() else f.result(),
            None if f.cancelled() else f.exception()))

    def _deliver(self, callback: Callable[[Any, BaseException | None], None], result: Any,
                 error: BaseException | None) -> None:
        try:
            callback(result, error)
        except Exception:
            log.exception("task callback failed")

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


class Generation:
    """Marks results stale: only the answer to the latest request is shown."""

    def __init__(self) -> None:
        self.current = 0

    def next(self) -> int:
        self.current += 1
        return self.current

    def is_current(self, generation: int) -> bool:
        return generation == self.current


class LibraryTasks(QObject):
    """Reads of the library in a one-thread pool, writes handed to its worker (the
    single writer); every answer comes back on the GUI thread.

    ``library`` and ``worker`` are asked for at each call: a model switch replaces
    both, and work must go to the ones in use then. Work gets that library.
    """

    def __init__(self, library: Callable[[], Library], worker: Callable[[], LibraryWorker],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library, self._worker = library, worker
        self._reads = TaskRunner(1, "organize", self)
        self._closed = False

    def read(self, work: Callable[[Library], Any],
             callback: Callable[[Any, BaseException | None], None]) -> None:
        library = self._library()
        self._reads.run(lambda: work(library), self._unless_closed(callback))

    def write(self, work: Callable[[Library], Any],
              callback: Callable[[Any, BaseException | None], None]) -> None:
        library = self._library()
        # Tags and albums change no file: no folder rescan after them.
        future = self._worker().submit(lambda: work(library), rescan=False)
        self._reads.deliver(future, self._unless_closed(callback))

    def _unless_closed(self, callback: Callable[[Any, BaseException | None], None],
                       ) -> Callable[[Any, BaseException | None], None]:
        def call(result: Any, error: BaseException | None) -> None:
            if not self._closed:  # the window is gone: nothing left to tell
                callback(result, error)

        return call

    def shutdown(self) -> None:
        self._closed = True
        self._reads.shutdown()
