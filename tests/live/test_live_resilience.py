"""A live library under stress: event storms, watch limits, folders going away, two writers."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from photoclip.core.library import Library
from photoclip.core.live.change_queue import ChangeQueue
from photoclip.core.lock import LibraryLocked, WriterLock
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.live.conftest import Live, open_live, wait_until, write_picture

pytestmark = [pytest.mark.model,
              pytest.mark.skipif(sys.platform != "linux", reason="uses inotify")]


class StalledObserver(InotifyObserver):
    """A real inotify observer whose event delivery waits until the gate opens."""

    gate = threading.Event()

    def dispatch_events(self, event_queue: object) -> None:
        self.gate.wait()
        super().dispatch_events(event_queue)  # type: ignore[arg-type]


def test_storm_with_a_stalled_observer(tmp_path: Path, photos: Path, tiny_model_spec: str) -> None:
    StalledObserver.gate.clear()
    queue = ChangeQueue(capacity=500)
    live = open_live(tmp_path / "home", photos, tiny_model_spec, queue=queue,
                     observer_factory=StalledObserver)
    try:
        assert live.worker.wait_idle(60)
        written = [write_picture(photos / f"burst {i // 500}" / f"{i:04d}.png", i, seed=3)
                   for i in range(2000)]
        StalledObserver.gate.set()  # thousands of events at once
        counts = live.library.catalog.state_counts
        wait_until(lambda: counts()["indexed"] == 2000, 240, "2,000 photos indexed")
        assert live.worker.wait_idle(60)
        assert live.encoder.images_encoded == 2000  # each exactly once
        assert queue.high_water <= 500  # bounded: past capacity it asks for a scan instead
        assert {p.path for p in live.library.search("a photo", top=3000)} == set(written)
    finally:
        StalledObserver.gate.set()
        live.worker.stop()
        live.library.close()


class NoWatchesLeft(InotifyObserver):
    """inotify with fs.inotify.max_user_watches used up."""

    def schedule(self, *args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def test_watch_limit_falls_back_to_polling(tmp_path: Path, photos: Path,
                                           tiny_model_spec: str) -> None:
    live = open_live(tmp_path / "home", photos, tiny_model_spec, observer_factory=NoWatchesLeft,
                     polling_factory=lambda: PollingObserver(timeout=0.5))
    try:
        wait_until(lambda: any("fs.inotify.max_user_watches" in m for m in live.messages), 20)
        folder_id = live.library.catalog.folders()[0].id
        wait_until(lambda: live.worker.watcher.polled(folder_id), 20, "polling")
        added = [write_picture(photos / f"new{i}.png", i) for i in range(5)]
        live.wait_searchable(*added)
        assert live.encoder.images_encoded == 5
    finally:
        live.worker.stop()
        live.library.close()


def test_folder_removed_and_restored_forgets_nothing(live: Live, tmp_path: Path) -> None:
    pictures = [write_picture(live.photos / f"p{i}.png", i) for i in range(6)]
    live.wait_searchable(*pictures)
    ids = {p: live.library.catalog.photo_by_path(p).id for p in pictures}
    encoded = live.encoder.images_encoded
    unplugged = tmp_path / "drive elsewhere"

    os.rename(live.photos, unplugged)  # the drive goes away
    wait_until(lambda: live.worker.status.offline == (live.photos,), 20, "offline")
    live.photos.mkdir()  # ... leaving an empty mount point behind
    time.sleep(3)  # a health check and a scan have run meanwhile
    assert {p: live.library.catalog.photo_by_path(p).id for p in pictures} == ids
    assert live.library.catalog.trash_count() == 0
    assert any("offline" in m for m in live.messages)

    write_picture(unplugged / "taken while away.png", 9, seed=2)
    live.photos.rmdir()
    os.rename(unplugged, live.photos)  # plugged back in
    live.wait_searchable(*pictures, live.photos / "taken while away.png")
    assert {p: live.library.catalog.photo_by_path(p).id for p in pictures} == ids
    assert live.encoder.images_encoded == encoded + 1
    assert live.worker.status.offline == ()


def test_second_writer_is_refused_while_watching(live: Live, tmp_path: Path,
                                                 tiny_model_spec: str) -> None:
    other = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), Settings(),
                    encoder=FakeEncoder())
    try:
        with pytest.raises(LibraryLocked, match=rf"in use by .*pid {os.getpid()} \(watch\)"):
            other.index_photos()
    finally:
        other.close()
    env = dict(os.environ, PHOTOCLIP_HOME=str(tmp_path / "home"), PHOTOCLIP_MODEL=tiny_model_spec)
    done = subprocess.run([sys.executable, "-m", "photoclip.cli", "--reindex"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"in use by another PhotoClip process (pid {os.getpid()} (watch))" in done.stderr


def test_stale_lock_of_a_crashed_process_is_taken_over(tmp_path: Path, photos: Path,
                                                       tiny_model_spec: str) -> None:
    lock_path = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}).lock
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from photoclip.core.lock import WriterLock;"
        f"WriterLock(Path({str(lock_path)!r}), 'watch').acquire(); print('held', flush=True);"
        "time.sleep(600)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LibraryLocked):
        WriterLock(lock_path).acquire()
    holder.kill()  # crashes without releasing anything
    holder.wait()
    assert f"pid {holder.pid}" in lock_path.read_text()  # its note is still there...
    live = open_live(tmp_path / "home", photos, tiny_model_spec)  # ...and is taken over
    try:
        assert f"pid {os.getpid()} (watch)" in lock_path.read_text()
        picture = write_picture(photos / "after crash.png", 1)
        live.wait_searchable(picture)
    finally:
        live.worker.stop()
        live.library.close()


def test_folders_set_to_polling_are_polled(tmp_path: Path, photos: Path,
                                           tiny_model_spec: str) -> None:
    """Network shares: inotify never hears of other machines' changes there."""
    live = open_live(tmp_path / "home", photos, tiny_model_spec, polling_folders=(photos,),
                     polling_factory=lambda: PollingObserver(timeout=0.5))
    try:
        folder_id = live.library.catalog.folders()[0].id
        wait_until(lambda: live.worker.watcher.polled(folder_id), 20, "polling")
        picture = write_picture(photos / "from another machine.png", 4)
        live.wait_searchable(picture)
    finally:
        live.worker.stop()
        live.library.close()


def test_a_dead_observer_is_restarted_and_what_it_missed_is_found(live: Live) -> None:
    live.worker.watcher._native.stop()  # the observer thread dies (an OS error, a bug)
    missed = write_picture(live.photos / "while nobody watched.png", 6)
    live.wait_searchable(missed)  # the health check restarts the watch and scans
    later = write_picture(live.photos / "after the restart.png", 8)
    live.wait_searchable(later)


def test_watch_limit_hit_below_the_top_folder_is_noticed(
    tmp_path: Path, photos: Path, tiny_model_spec: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel refuses watches for subfolders: watchdog carries on silently."""
    from watchdog.observers import inotify_c

    (photos / "2025" / "summer").mkdir(parents=True)
    real_add = inotify_c.InotifyFD.add_callback

    def limited_add(self: object, path: bytes, *args: object, **kwargs: object) -> object:
        if os.fsencode(photos) != path.rstrip(b"/"):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return real_add(self, path, *args, **kwargs)

    monkeypatch.setattr(inotify_c.InotifyFD, "add_callback", limited_add)
    live = open_live(tmp_path / "home", photos, tiny_model_spec,
                     polling_factory=lambda: PollingObserver(timeout=0.5))
    try:
        wait_until(lambda: any("fs.inotify.max_user_watches" in m for m in live.messages), 20)
        folder_id = live.library.catalog.folders()[0].id
        wait_until(lambda: live.worker.watcher.polled(folder_id), 20, "polling")
        deep = write_picture(photos / "2025" / "summer" / "deep.png", 2)
        live.wait_searchable(deep)
    finally:
        live.worker.stop()
        live.library.close()
