"""How watchdog events become changes: photos only, no temp files, no hidden folders."""

from __future__ import annotations

from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
)

from photoclip.core.live.change_queue import ChangeQueue, Move
from photoclip.core.live.watcher import _Handler


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _ready(events: list, root: Path, exclude: tuple[str, ...] = ()) -> tuple:
    clock = Clock()
    queue = ChangeQueue(clock=clock, open_quiet_s=0.0)
    handler = _Handler(root, queue, exclude)
    for event in events:
        handler.dispatch(event)
    clock.now = 10.0
    ready = queue.take_ready()
    return sorted(ready.files), ready.moves, ready.folders


def test_temp_partial_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    r = str(tmp_path)
    events = [FileCreatedEvent(f"{r}/{name}") for name in (
        "a.jpg.part", "b.jpg.crdownload", "~$c.jpg", "d.jpg.tmp", ".e.jpg", "f.jpg.sb-1a2b-XyZ",
        "notes.txt", ".git/g.jpg", "@eaDir/h.jpg", "skip/i.jpg")]
    assert _ready(events, tmp_path, exclude=("skip",)) == ([], [], [])


def test_a_partial_download_renamed_into_place_is_a_new_photo(tmp_path: Path) -> None:
    r = str(tmp_path)
    events = [FileCreatedEvent(f"{r}/a.jpg.part"), FileMovedEvent(f"{r}/a.jpg.part", f"{r}/a.jpg")]
    assert _ready(events, tmp_path) == ([tmp_path / "a.jpg"], [], [])


def test_renames_become_moves_and_moves_out_become_deletes(tmp_path: Path) -> None:
    r = str(tmp_path)
    events = [
        FileMovedEvent(f"{r}/a.jpg", f"{r}/b.jpg"),
        DirMovedEvent(f"{r}/trip", f"{r}/Trip"),
        FileMovedEvent(f"{r}/c.jpg", f"{r}/.hidden/c.jpg"),  # out of what a scan sees
        FileDeletedEvent(f"{r}/d.jpg"),
        FileClosedEvent(f"{r}/e.jpg"),
        DirCreatedEvent(f"{r}/new"),
    ]
    files, moves, folders = _ready(events, tmp_path)
    assert moves == [Move(tmp_path / "a.jpg", tmp_path / "b.jpg", False),
                     Move(tmp_path / "trip", tmp_path / "Trip", True)]
    assert files == [tmp_path / "b.jpg", tmp_path / "c.jpg", tmp_path / "d.jpg", tmp_path / "e.jpg"]
    assert folders == [tmp_path / "new"]


def test_a_kernel_queue_overflow_asks_for_a_scan() -> None:
    import logging

    from photoclip.core.live.watcher import FolderWatcher

    root, observers = logging.getLogger(), logging.getLogger("watchdog.observers")
    saved = root.level, observers.level
    root.setLevel(logging.CRITICAL)  # as under the CLI: other libraries' logs silenced
    observers.setLevel(logging.NOTSET)
    queue = ChangeQueue()
    watcher = FolderWatcher(queue)
    watcher.start([])
    try:
        # watchdog reports IN_Q_OVERFLOW only through its logger.
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost")
        assert queue.take_overflow()
    finally:
        watcher.stop()
        root.setLevel(saved[0])
        observers.setLevel(saved[1])
    logging.getLogger("watchdog.observers.inotify_c").warning("queue overflowed again")
    assert not queue.take_overflow()  # stopped watchers stop listening
