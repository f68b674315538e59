"""The change queue's debouncing, coalescing and bound, on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.live.change_queue import ChangeQueue, Move


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_closed_file_is_ready_after_a_short_quiet(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(quiet_s=0.2, open_quiet_s=2.0, clock=clock)
    photo = tmp_path / "a.jpg"
    queue.file_changed(photo, complete=False)  # created
    queue.file_changed(photo, complete=False)  # written
    queue.file_changed(photo, complete=True)  # closed after writing
    assert not queue.take_ready()
    clock.now += 0.25
    assert queue.take_ready().files == [photo]  # coalesced: one change, not three
    assert len(queue) == 0


def test_a_file_still_growing_waits_until_its_size_settles(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(quiet_s=0.2, open_quiet_s=2.0, stable_s=0.25, clock=clock)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 10)
    queue.file_changed(photo, complete=False)  # no close event (a polling observer)
    clock.now += 2.1
    assert not queue.take_ready()  # first look: remember the size
    photo.write_bytes(b"x" * 20)  # still being written
    clock.now += 0.25
    assert not queue.take_ready()
    clock.now += 0.25
    assert queue.take_ready().files == [photo]  # unchanged between two looks


def test_a_new_event_restarts_the_wait(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(quiet_s=0.2, clock=clock)
    photo = tmp_path / "a.jpg"
    queue.file_changed(photo, complete=True)
    clock.now += 0.15
    queue.file_changed(photo, complete=True)
    clock.now += 0.15
    assert not queue.take_ready()
    clock.now += 0.1
    assert queue.take_ready().files == [photo]


def test_moves_keep_order_and_carry_pending_changes(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(quiet_s=0.2, clock=clock)
    queue.file_changed(tmp_path / "trip" / "a.jpg", complete=False)
    queue.moved(tmp_path / "x.jpg", tmp_path / "y.jpg", is_dir=False)
    queue.moved(tmp_path / "trip", tmp_path / "Trip", is_dir=True)
    clock.now += 5
    ready = queue.take_ready()
    assert ready.moves == [Move(tmp_path / "x.jpg", tmp_path / "y.jpg", False),
                           Move(tmp_path / "trip", tmp_path / "Trip", True)]
    # The edit waiting under the old folder name is now looked for under the new one.
    assert set(ready.files) == {tmp_path / "y.jpg", tmp_path / "Trip" / "a.jpg"}


def test_past_capacity_it_forgets_and_asks_for_a_scan(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(capacity=100, clock=clock)
    for i in range(250):
        queue.file_changed(tmp_path / f"{i}.jpg", complete=True)
    assert queue.high_water <= 100 and len(queue) <= 100
    assert queue.take_overflow() is True
    assert queue.take_overflow() is False  # reported once


def test_take_ready_honours_its_limit(clock: Clock, tmp_path: Path) -> None:
    queue = ChangeQueue(clock=clock)
    for i in range(30):
        queue.file_changed(tmp_path / f"{i}.jpg", complete=True)
    clock.now += 1
    assert len(queue.take_ready(limit=10)) == 10
    assert len(queue.take_ready(limit=100)) == 20
