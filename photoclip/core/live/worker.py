"""The background worker: the one thread that writes to a live library.

It holds the library's writer lock for its whole life (a second process is
told who has it), runs a reconcile scan at start-up, after lost events and
periodically, and in between applies what the watcher reports and encodes
what became pending. Everything it reports goes through plain callbacks; the
Qt layer turns them into signals, `photoclip watch` into log lines.

Indexing runs in chunks and checks a cancel event between photos, so pause and
stop take effect within a batch: the batch in flight is either committed in
one transaction or dropped (its photos stay pending). Searches run on other
threads meanwhile and only ever see committed rows and whole index updates.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..catalog.errors import CatalogDamaged, CatalogError, catalog_problem
from ..clip.encoder import ModelUnavailable
from ..library import Library
from ..models import IndexProgress, PhotoState
from .apply_changes import ChangeApplier
from .catch_up import CatchUp
from .change_queue import ChangeQueue
from .reconcile import folder_available
from .watcher import FolderWatcher, ObserverFactory
from .worker_status import MessageCallback, StatusCallback, WorkerStatus  # the UI imports it from here
from .worker_tasks import TaskInbox, WorkerStopped  # tests import it from here

log = logging.getLogger(__name__)

RECONCILE_INTERVAL_S = 15 * 60.0  # events make it fast; the periodic scan makes it right
HEALTH_INTERVAL_S = 2.0  # folders going offline or returning, dead watches
SETTLE_S = 2.0  # files modified more recently than this may still be being written
INDEX_CHUNK = 256  # photos per indexing pass: other writers get the lock in between
IDLE_SAVE_S = 1.0  # save the index once nothing happened for this long
BUSY_SAVE_S = 60.0  # and at least this often during long indexing (other processes read it)
ERROR_BACKOFF_S = (5.0, 30.0, 120.0, 600.0)  # a failing cycle is retried, ever less often
PURGE_INTERVAL_S = 24 * 3600.0


@dataclass
class _Burst:
    """Counters for one stretch of indexing, across chunks."""

    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0


class LibraryWorker:
    def __init__(
        self, library: Library, *, on_status: StatusCallback | None = None,
        on_message: MessageCallback | None = None, queue: ChangeQueue | None = None,
        observer_factory: ObserverFactory | None = None,
        polling_factory: ObserverFactory | None = None,
        reconcile_interval_s: float = RECONCILE_INTERVAL_S, make_thumbnails: bool = False,
    ) -> None:
        self.library = library
        # The app's grid thumbnails from the indexing decode (`photoclip watch` has no grid).
        self.make_thumbnails = make_thumbnails
        self.queue = queue or ChangeQueue()
        self._on_status = on_status or (lambda status: None)
        self._on_message = on_message or (lambda message: None)
        watcher_options: dict[str, Any] = {}
        if observer_factory is not None:
            watcher_options["observer_factory"] = observer_factory
        self.watcher = FolderWatcher(
            self.queue, exclude=library.settings.exclude, on_message=self._message,
            polling_folders=[Path(p).expanduser().resolve()
                             for p in library.settings.polling_folders],
            polling_factory=polling_factory, **watcher_options,
        )
        self._applier = ChangeApplier(library.catalog, library.index, library.encoder.model_id,
                                      tuple(library.settings.exclude), settle_s=SETTLE_S)
        self.reconcile_interval_s = reconcile_interval_s
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._interrupt = threading.Event()  # the indexer's cancel: set by pause and stop
        self._tasks = TaskInbox()
        self._thread: threading.Thread | None = None
        self._status = WorkerStatus()
        self._burst: _Burst | None = None
        self._reconcile_due = True  # at start-up
        self._pending_due = True
        # Metadata backfill, then the text pass: a batch at a time once nothing is pending.
        self._catch_up = CatchUp(library, self._interrupt, self._write, self._publish, self._message)
        self._model_error: str | None = None
        # Set once the catalog is found damaged: retrying cannot mend it, and every write
        # is refused anyway (the user must restore or move the file, then start again).
        self._damaged: CatalogDamaged | None = None
        self._last_activity = self._last_save = time.monotonic()
        self._saved = True
        self._idle_since: float | None = None
        if hasattr(library.encoder, "on_download"):  # a first run fetches the weights
            library.encoder.on_download = self._downloading

    # -- control (any thread) -----------------------------------------------------------
    def start(self) -> LibraryWorker:
        """Claim the library (LibraryLocked if another process writes to it) and start."""
        self.library.claim_writer("watch")
        self._thread = threading.Thread(target=self._run, name="photoclip-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop watching and indexing; True if the worker finished within ``timeout``."""
        self._stop.set()
        self._interrupt.set()
        self.queue.wake()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
        self.watcher.stop()
        self._tasks.fail_all()
        if getattr(self.library.encoder, "on_download", None) == self._downloading:
            self.library.encoder.on_download = None  # no cycle keeping this worker alive
        if finished:
            with self.library.writing("watch"):
                self.library.index.save()
            self.library.release_writer()
        self._publish(state="stopped", current=None)
        return finished

    def pause(self) -> None:
        """Stop encoding (the batch in flight is dropped; its photos stay pending)."""
        self._paused.set()
        self._interrupt.set()
        self.queue.wake()

    def resume(self) -> None:
        self._paused.clear()
        self._interrupt.clear()
        self._model_error = None  # weights may have been put in place meanwhile
        self._pending_due = self._reconcile_due = True  # events may have overflowed meanwhile
        self.queue.wake()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def status(self) -> WorkerStatus:
        return self._status

    def submit(self, task: Callable[[], Any], *, rescan: bool = True) -> Future[Any]:
        """Run ``task`` on the worker thread between chunks (folder changes from the UI).
        ``rescan``: look at the folders again afterwards (a folder was added or removed);
        a tag or album edit changes no file and says False.
        Once the worker is stopping, the future fails at once instead of never running."""
        future: Future[Any] = Future()
        if self._stop.is_set():
            future.set_exception(WorkerStopped("PhotoClip's indexer is stopping; try again"))
            return future
        if self._damaged is not None:
            future.set_exception(self._damage())
            return future
        self._tasks.put((task, future, rescan))
        self.queue.wake()
        return future

    def wait_idle(self, timeout: float, quiet_s: float = 0.5) -> bool:
        """Block until nothing is queued or pending for ``quiet_s`` (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            since = self._idle_since
            if since is not None and time.monotonic() - since >= quiet_s and not len(self.queue):
                return True
            time.sleep(0.05)
        return False

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        # Watches are set up here, not on the caller's (UI) thread: inotify walks
        # the whole tree to add them, a polling observer lists it.
        self.watcher.start([])
        next_health = 0.0
        next_reconcile = time.monotonic() + self.reconcile_interval_s
        next_purge = 0.0
        failures = 0
        while not self._stop.is_set():
            if self._damaged is not None:
                self._tasks.fail_all(self._damage)  # handed in just before it was found
                self._stop.wait(0.5)
                continue
            try:
                if len(self.queue):
                    self._idle_since = None  # events to look at: not idle, even if not due yet
                self._run_tasks()
                if self._paused.is_set():
                    self._publish(state="paused", current=None)
                    self.queue.wait(0.5)
                    continue
                now = time.monotonic()
                if now >= next_health:
                    next_health = now + HEALTH_INTERVAL_S
                    self._check_folders()
                if self.queue.take_overflow() or self._reconcile_due or now >= next_reconcile:
                    self._reconcile()
                    next_reconcile = time.monotonic() + self.reconcile_interval_s
                    continue
                if self._apply_ready() or self._index_pending() or self._catch_up.step():
                    continue
                if now >= next_purge:
                    self._write(self.library.purge_trash, busy=False)
                    next_purge = now + PURGE_INTERVAL_S
                self._rest(next_health)
                failures = 0
            except Exception as exc:  # keep watching: a bad cycle must not end live indexing
                self._cycle_failed(self._as_catalog_problem(exc), failures)
                failures += 1

    def _as_catalog_problem(self, exc: Exception) -> Exception:
        """A SQLite failure met on a read (writes map their own) as the catalog's one-line
        problem, so a damaged page or a full disk reads the same from any query."""
        if not isinstance(exc, sqlite3.DatabaseError):
            return exc
        problem = catalog_problem(exc, self.library.catalog.path, self.library.paths.backups)
        return exc if problem is None else problem

    def _cycle_failed(self, exc: Exception, failures: int) -> None:
        if isinstance(exc, CatalogDamaged):
            self._halt(exc)
            return
        delay = ERROR_BACKOFF_S[min(failures, len(ERROR_BACKOFF_S) - 1)]
        if isinstance(exc, (CatalogError, OSError)):  # a full disk, a drive gone:
            log.debug("live indexing failed", exc_info=True)  # the message says it all
        else:
            log.exception("live indexing failed")
        self._message(f"live indexing hit an error; retrying in {delay:.0f} s: {exc}")
        self._reconcile_due = True
        self._stop.wait(delay)

    def _halt(self, damage: CatalogDamaged) -> None:
        """Stop live indexing for good, saying so once: no retry can mend a damaged file."""
        log.debug("live indexing stopped", exc_info=damage)
        self._damaged = damage
        self.library.catalog.note_damage(damage)  # later processes refuse the file too
        self.watcher.stop()  # its events could never be applied
        self._message(f"live indexing stopped: {damage}")
        self._publish(state="catalog damaged", current=None)

    def _damage(self) -> CatalogDamaged:
        return CatalogDamaged(str(self._damaged))

    def _run_tasks(self) -> None:
        for task, future, rescan in self._tasks.take():
            try:
                future.set_result(self._write(task))
            except Exception as exc:
                future.set_exception(exc)
            self._reconcile_due = self._reconcile_due or rescan

    def _write(self, work: Callable[[], Any], *, busy: bool = True) -> Any:
        if busy:
            self._busy()
        with self.library.writing("watch"):
            self.library.load_index_for_writing()  # a write then updates it in place
            return work()

    def _busy(self) -> None:
        self._idle_since = None
        self._last_activity = time.monotonic()
        self._saved = False

    def _check_folders(self) -> None:
        folders = self.library.catalog.folders()
        if self.watcher.check(folders):
            self._reconcile_due = True
        offline = tuple(f.path for f in folders if f.id in self.watcher.offline)
        if offline != self._status.offline:
            self._publish(offline=offline)

    def _reconcile(self) -> None:
        self._reconcile_due = False
        self._publish(state="scanning", current=None)

        def scan() -> None:
            outcome = self.library.scan(settle_s=SETTLE_S)
            trashed = self.library.trash_missing(outcome)
            for path in outcome.recent:  # still being written: look again once settled
                self.queue.file_changed(path, complete=False)
            if trashed:
                log.info("%d photos are gone from disk (kept in the trash)", trashed)

        self._write(scan)
        self._pending_due = True

    def _apply_ready(self) -> bool:
        ready = self.queue.take_ready()
        if not ready:
            return False
        applied = self._write(lambda: self._applier.apply(ready, self.library.catalog.folders()))
        for path in applied.recent:
            self.queue.file_changed(path, complete=False)
        if applied.moved or applied.trashed:
            log.info("%d moved, %d removed from search", applied.moved, applied.trashed)
        self._pending_due = self._pending_due or applied.marked > 0
        return True

    def _index_pending(self) -> bool:
        """One chunk of pending photos; False when there was nothing to do."""
        if not self._pending_due or self._model_error is not None:
            return False
        # Not an empty mount point either: its pending files would all fail to read.
        online = {f.id for f in self.library.catalog.folders()
                  if f.id not in self.watcher.offline
                  and folder_available(self.library.catalog, f)}
        if self._paused.is_set() or self._stop.is_set():
            return False
        burst = self._burst or _Burst()
        self._burst = burst
        burst.total = burst.done + self.library.catalog.state_counts()[PhotoState.PENDING]
        before = burst.done
        try:
            done = self._write(lambda: self.library.index_pending(
                online, lambda p: self._progress(burst, p), self._interrupt, limit=INDEX_CHUNK,
                thumbnails=self.make_thumbnails))
        except ModelUnavailable as exc:
            self._model_error = str(exc)
            self._message(f"photos can't be indexed: {exc}")
            self._publish(state="no model", current=None)
            return False
        if done.total == 0:
            self._pending_due = False
            self._burst = None
            return False
        if self._interrupt.is_set():
            return False  # paused or stopping; resume() asks for the rest
        burst.done = before + done.done
        self._catch_up.photos_indexed()
        if time.monotonic() - self._last_save >= BUSY_SAVE_S:
            self._write(self.library.index.save, busy=False)
            self._last_save = time.monotonic()
        return True  # maybe more pending: go round again (tasks and events first)

    def _progress(self, burst: _Burst, progress: IndexProgress) -> None:
        done = burst.done + progress.done
        if progress.current is not None and progress.current != self._status.current:
            log.info("indexed %s", progress.current)
        elapsed = time.monotonic() - burst.started
        self._publish(
            state="indexing", done=done, total=max(burst.total, done), current=progress.current,
            rate=done / elapsed if elapsed > 0 else 0.0, indexed=self._status.indexed + 1,
            queued=max(burst.total - done, 0) + len(self.queue),
        )

    def _rest(self, next_health: float) -> None:
        """Nothing to do: save the index once things are quiet, then sleep until woken."""
        now = time.monotonic()
        if not self._saved and now - self._last_activity >= IDLE_SAVE_S:
            self._write(self.library.index.save, busy=False)
            self._saved, self._last_save = True, time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
            self._burst = None
            self._publish(state="no model" if self._model_error else "idle", current=None,
                          queued=len(self.queue), done=0, total=0, rate=0.0)
        due = self.queue.next_due()
        wake_at = min(next_health, due if due is not None else next_health, now + IDLE_SAVE_S)
        self.queue.wait(max(0.02, wake_at - now))

    # -- reporting ---------------------------------------------------------------------
    def _publish(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)
        try:
            self._on_status(self._status)
        except Exception:  # a front end's bug must not stop indexing
            log.exception("status callback failed")

    def _downloading(self, done: int, total: int) -> None:
        self._publish(state="downloading model", downloaded=done, download_size=total,
                      current=None)

    def _message(self, text: str) -> None:
        log.warning("%s", text)
        try:
            self._on_message(text)
        except Exception:
            log.exception("message callback failed")
