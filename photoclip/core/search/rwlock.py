"""A readers-writer lock for the HNSW index.

hnswlib's add and query are not safe together, but its queries are safe with
each other; this lock lets searches run in parallel and indexing exclude them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer (writer-preferring so a stream of searches can't starve indexing).

    Readers that arrive while a writer holds or waits for the lock queue
    behind it.  Each writer, on release, admits every reader queued at that
    moment before the next writer may enter ("phase-fair"): without this, a
    loop of add() calls would starve searches just as badly as the reverse.

    Not re-entrant: a thread must not take read() while holding read() or
    write(), because a queued writer would block it forever.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0  # readers inside
        self._writer = False  # a writer inside
        self._writers_waiting = 0
        self._readers_waiting = 0  # readers queued behind a writer
        self._admitted = 0  # queued readers let in by a writer, not yet inside
        self._admit_gen = 0  # bumped whenever queued readers are admitted

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            if self._writer or self._writers_waiting:
                self._queue_reader_locked()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    def _queue_reader_locked(self) -> None:
        gen = self._admit_gen
        self._readers_waiting += 1
        try:
            while self._admit_gen == gen:
                self._cond.wait()
        except BaseException:  # e.g. KeyboardInterrupt while queued
            if self._admit_gen == gen:
                self._readers_waiting -= 1
            else:
                self._admitted -= 1
                self._cond.notify_all()
            raise
        self._admitted -= 1

    def _admit_queued_readers_locked(self) -> None:
        if self._readers_waiting:
            self._admitted += self._readers_waiting
            self._readers_waiting = 0
            self._admit_gen += 1
        self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers or self._admitted:
                    self._cond.wait()
            except BaseException:
                # Readers queued behind us must not wait for a writer that
                # will never come.
                self._writers_waiting -= 1
                if not self._writers_waiting and not self._writer:
                    self._admit_queued_readers_locked()
                raise
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._admit_queued_readers_locked()
