"""Work handed to the background worker from other threads (folder changes, tag edits).

The worker runs each task on its own thread between indexing chunks, under the
writer lock, so a task never races the indexing; the caller waits on a Future.
"""

from __future__ import annotations

import queue as queue_module
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

# The task, its future, and whether to look at the folders again afterwards.
QueuedTask = tuple[Callable[[], Any], Future[Any], bool]


class WorkerStopped(Exception):
    """Work handed to a worker that is stopping (e.g. while the app switches models)."""


class TaskInbox:
    """Tasks waiting for the worker thread; any thread may put, only the worker takes."""

    def __init__(self) -> None:
        self._queue: queue_module.SimpleQueue[QueuedTask] = queue_module.SimpleQueue()

    def put(self, task: QueuedTask) -> None:
        self._queue.put(task)

    def take(self) -> Iterator[QueuedTask]:
        """Tasks waiting in the queue, each marked running (cancelled ones skipped)."""
        while True:
            try:
                task, future, rescan = self._queue.get_nowait()
            except queue_module.Empty:
                return
            if future.set_running_or_notify_cancel():
                yield task, future, rescan

    def fail_all(self, error: Callable[[], Exception] | None = None) -> None:
        for _, future, _ in self.take():
            # A fresh exception each: one raised again and again grows its traceback.
            future.set_exception(error() if error else WorkerStopped(
                "PhotoClip's indexer stopped before doing this; try again"))
