"""Watch library folders with watchdog and feed what changes into a ChangeQueue.

Events only make PhotoClip fast; the reconcile scan stays the source of truth.
So the watcher's job is to notice cheaply and to say when it can't: a folder
that goes offline, an OS watch limit (that folder is polled instead), a
kernel queue overflow or a dead observer thread all ask the worker for a scan.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from ..files.scanner import folder_identity, folder_online, is_library_path, is_photo_name
from ..models import Folder
from .change_queue import ChangeQueue

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 10.0  # a polling observer re-lists the whole tree this often
WATCH_LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)
MessageCallback = Callable[[str], None]
ObserverFactory = Callable[[], BaseObserver]


def watch_limit_message(folder: Path) -> str:
    return (
        f"cannot watch {folder} for changes: the system limit on watched folders is reached. "
        "Raise it (Linux: sudo sysctl fs.inotify.max_user_watches=524288, and add "
        "fs.inotify.max_user_watches=524288 to /etc/sysctl.conf to keep it); until then "
        f"this folder is checked every {POLL_INTERVAL_S:.0f} s, so new photos appear more slowly"
    )


class _Handler(FileSystemEventHandler):
    """Runs on the observer thread: classify and record, nothing slow."""

    def __init__(self, root: Path, queue: ChangeQueue, exclude: tuple[str, ...]) -> None:
        self.root = root
        self.queue = queue
        self.exclude = exclude

    def _photo(self, raw: str | bytes) -> Path | None:
        path = Path(os.fsdecode(raw)) if raw else None
        if path is None or not is_photo_name(path.name):
            return None
        return path if is_library_path(self.root, path, self.exclude) else None

    def _folder(self, raw: str | bytes) -> Path | None:
        path = Path(os.fsdecode(raw)) if raw else None
        if path is None or not is_library_path(self.root, path, self.exclude, is_dir=True):
            return None
        return path

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.is_synthetic:
            # watchdog's per-file echoes of a folder moved or moved in: the folder
            # event covers them (one move_tree, one folder scan), and they would
            # flood the queue for a big folder.
            return
        if isinstance(event, DirMovedEvent):
            src, dest = self._folder(event.src_path), self._folder(event.dest_path)
            if src and dest:
                self.queue.moved(src, dest, is_dir=True)
            elif src or dest:  # moved in from outside, or out of the library
                self.queue.folder_changed(src or dest)  # type: ignore[arg-type]
        elif isinstance(event, FileMovedEvent):
            src, dest = self._photo(event.src_path), self._photo(event.dest_path)
            if src and dest:
                self.queue.moved(src, dest, is_dir=False)
            elif dest:  # a temp or partial file renamed into place: whole now
                self.queue.file_changed(dest, complete=True)
            elif src:  # renamed to a non-photo name, or out of the library
                self.queue.file_changed(src, complete=True)
        elif isinstance(event, (DirCreatedEvent, DirDeletedEvent)):
            folder = self._folder(event.src_path)
            if folder is not None and folder != self.root:
                self.queue.folder_changed(folder)
        elif isinstance(event, (FileCreatedEvent, FileModifiedEvent, FileClosedEvent,
                                FileDeletedEvent)):
            path = self._photo(event.src_path)
            if path is not None:
                # A close after writing or a delete is final; a create or write is not.
                complete = isinstance(event, (FileClosedEvent, FileDeletedEvent))
                self.queue.file_changed(path, complete=complete)


class _OverflowListener(logging.Handler):
    """watchdog reports a kernel event-queue overflow only as a log warning."""

    def __init__(self, queue: ChangeQueue) -> None:
        super().__init__(logging.WARNING)
        self.queue = queue

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.queue.mark_overflow()


@dataclass
class _Watch:
    folder: Folder
    watch: ObservedWatch
    observer: BaseObserver
    identity: str  # scanner.folder_identity: a remount or a replaced folder changes it
    polled: bool


class FolderWatcher:
    def __init__(
        self, queue: ChangeQueue, *, exclude: Iterable[str] = (),
        polling_folders: Iterable[Path] = (), on_message: MessageCallback | None = None,
        observer_factory: ObserverFactory = Observer,
        polling_factory: ObserverFactory | None = None,
    ) -> None:
        self.queue = queue
        self.exclude = tuple(exclude)
        self.polling_folders = {Path(p) for p in polling_folders}
        self._on_message = on_message or (lambda message: None)
        self._observer_factory = observer_factory
        self._polling_factory = polling_factory or (lambda: PollingObserver(timeout=POLL_INTERVAL_S))
        self._native: BaseObserver | None = None
        self._polling: BaseObserver | None = None
        self._watches: dict[int, _Watch] = {}
        self.offline: set[int] = set()  # folder ids
        self._said: dict[int, str] = {}  # the last problem reported per folder (no repeats)
        self._overflow = _OverflowListener(queue)
        self._lock = threading.Lock()  # start/stop/check come from the worker and from stop()

    # -- life cycle ------------------------------------------------------------------
    def start(self, folders: Iterable[Folder]) -> None:
        # The overflow warning must be emitted even when the front end silences
        # other libraries' logs (the CLI sets the root logger to CRITICAL).
        observers_log = logging.getLogger("watchdog.observers")
        if observers_log.getEffectiveLevel() > logging.WARNING:
            observers_log.setLevel(logging.WARNING)
        logging.getLogger("watchdog").addHandler(self._overflow)
        self.check(folders)

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._overflow)
        with self._lock:
            for observer in (self._native, self._polling):
                if observer is not None:
                    observer.stop()
            for observer in (self._native, self._polling):
                if observer is not None and observer.is_alive():
                    observer.join(timeout=5)
            self._native = self._polling = None
            self._watches.clear()

    def polled(self, folder_id: int) -> bool:
        watch = self._watches.get(folder_id)
        return bool(watch and watch.polled)

    # -- health --------------------------------------------------------------------------
    def check(self, folders: Iterable[Folder]) -> list[Folder]:
        """Bring the watches in line with the folders; returns folders needing a scan:
        newly watched ones (back online, remounted, watch restarted) whose events we missed."""
        folders = list(folders)
        rescan: list[Folder] = []
        with self._lock:
            wanted = {f.id for f in folders}
            for folder_id in [i for i in self._watches if i not in wanted]:
                self._unwatch(folder_id)  # removed from the library
            for folder in folders:
                if self._check_one(folder):
                    rescan.append(folder)
        return rescan

    def _check_one(self, folder: Folder) -> bool:
        identity = folder_identity(folder.path) if folder_online(folder.path) else None
        current = self._watches.get(folder.id)
        if identity is None:
            if folder.id not in self.offline:
                self.offline.add(folder.id)
                self._on_message(f"{folder.path} is offline; its photos are kept until it returns")
            if current is not None:
                self._unwatch(folder.id)
            return False
        if current is not None and current.identity == identity and _alive(current):
            return False
        if folder.id in self.offline:
            self.offline.discard(folder.id)
            self._on_message(f"{folder.path} is back online; checking it for changes")
        elif current is not None:
            log.warning("the watch on %s stopped; restarting it", folder.path)
        if current is not None:
            self._unwatch(folder.id)
        self._watch(folder, identity)
        return True

    def _watch(self, folder: Folder, identity: str) -> None:
        handler = _Handler(folder.path, self.queue, self.exclude)
        if folder.path not in self.polling_folders and self._watch_natively(folder, identity, handler):
            return
        try:
            observer = self._polling_observer()
            watch = observer.schedule(handler, str(folder.path), recursive=True)
        except OSError as exc:  # the next health check tries again
            self._say_once(folder, f"cannot watch {folder.path} for changes: {exc}")
            return
        self._watches[folder.id] = _Watch(folder, watch, observer, identity, polled=True)

    def _watch_natively(self, folder: Folder, identity: str, handler: _Handler) -> bool:
        """OS events for the folder; False (after saying why) when it must be polled."""
        observer = self._native_observer()
        try:
            watch = observer.schedule(handler, str(folder.path), recursive=True)
        except OSError as exc:
            if exc.errno in WATCH_LIMIT_ERRNOS:
                self._say_once(folder, watch_limit_message(folder.path))
            else:
                log.warning("OS events unavailable for %s (%s); polling it", folder.path, exc)
            return False
        if _subfolders_left_unwatched(observer, watch, folder.path):
            # inotify ran out of watches part-way down the tree; watchdog carries on
            # silently, and photos in the unwatched subfolders would be missed.
            with contextlib.suppress(KeyError, OSError):
                observer.unschedule(watch)
            self._say_once(folder, watch_limit_message(folder.path))
            return False
        self._watches[folder.id] = _Watch(folder, watch, observer, identity, polled=False)
        return True

    def _say_once(self, folder: Folder, message: str) -> None:
        if self._said.get(folder.id) != message:
            self._said[folder.id] = message
            self._on_message(message)

    def _unwatch(self, folder_id: int) -> None:
        current = self._watches.pop(folder_id, None)
        if current is not None:
            with contextlib.suppress(KeyError, OSError):  # its emitter died with the folder
                current.observer.unschedule(current.watch)

    def _native_observer(self) -> BaseObserver:
        if self._native is None or not self._native.is_alive():  # a dead one can't restart
            self._native = self._observer_factory()
            self._native.start()
        return self._native

    def _polling_observer(self) -> BaseObserver:
        if self._polling is None or not self._polling.is_alive():  # a dead one can't restart
            self._polling = self._polling_factory()
            self._polling.start()
        return self._polling


def _subfolders_left_unwatched(observer: BaseObserver, watch: ObservedWatch, root: Path) -> bool:
    """Whether an inotify watch covers fewer folders than the tree has.

    Reads watchdog's inotify internals (guarded: with another observer, or if
    they change, it answers False and the periodic scan remains the safety net).
    """
    emitter = next((e for e in observer.emitters if e.watch == watch), None)
    watched = getattr(getattr(emitter, "_inotify", None), "_active_callbacks_by_path", None)
    if not isinstance(watched, dict):
        return False
    folders = 1
    for top, dirs, _ in os.walk(root):  # like watchdog: symlinked folders are not watched
        folders += sum(1 for name in dirs if not os.path.islink(os.path.join(top, name)))
    return len(watched) < folders


def _alive(watch: _Watch) -> bool:
    """The observer thread and this watch's emitter thread are both running."""
    if not watch.observer.is_alive():
        return False
    return any(e.watch == watch.watch and e.is_alive() for e in watch.observer.emitters)
