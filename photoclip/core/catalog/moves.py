"""Catalog SQL for files that move, disappear and come back.

Mixed into ``Catalog`` (kept apart only to keep modules small). A move changes
a row's path and nothing else, so its vector, tags and album membership follow
the file. A deleted file's row goes to the trash for a grace period: out of
search, its vector and tags kept, so the same content coming back (a restore
from the desktop trash, a folder moved out and back) takes the row back.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .connections import CatalogConnections
from .records import FILE_RECORD_COLUMNS, LIVE, FileRecord, file_record_from_row, path_key

log = logging.getLogger(__name__)

_SEP = os.sep.encode()
# How the indexer words a failure to read a file (``indexer._read``): an OS error,
# worth another try, unlike a file whose content cannot be decoded.
READ_FAILURE_PREFIX = "cannot read file:"
# The latest trash stamp given (meta): stamps never go backwards with the wall clock.
TRASH_CLOCK_KEY = "trash_clock"
# How far ahead of the clock that stamp may be and still be believed: a clock set back
# by a little (a manual fix, NTP stepping a drifted one) keeps it; a stamp further ahead
# was made while the clock was wrong (ahead), and kept would hold every later trash back.
TRASH_CLOCK_SLACK_S = 86400.0
# No clock reading before this is right (2024-01-01, before PhotoClip existed): one that
# far back (a dead RTC battery boots at 2000 or 1970) keeps the stored stamp, however
# far ahead it is, so trash made then is not "decades old" once NTP fixes the clock.
PLAUSIBLE_SINCE = 1_704_067_200.0


def tombstone_key(photo_id: int) -> bytes:
    """A trashed row's path: never a real path (NUL can't appear in one), and unique."""
    return b"\0trash\0%d" % photo_id


def _trash_stamp(db: sqlite3.Connection, now: float) -> float:
    """When a row is trashed: ``now``, but never before an earlier stamp, so a clock
    set back (until NTP fixes it) cannot make a fresh trash look old enough to purge.
    An earlier stamp more than ``TRASH_CLOCK_SLACK_S`` ahead of a plausible clock is
    dropped (said once, as it is reset): trash made while the clock was ahead (2040)
    would otherwise stamp every later trash 2040, and none of it be purged until then."""
    seen = _stored_trash_clock(db)
    stamp = now if seen is None else max(now, seen)
    if seen is not None and seen > now + TRASH_CLOCK_SLACK_S and now >= PLAUSIBLE_SINCE:
        log.warning("the trash clock was %.0f days ahead of the system clock; "
                    "taking the system clock from now on", (seen - now) / 86400)
        stamp = now
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (TRASH_CLOCK_KEY, repr(stamp)))
    return stamp


def _stored_trash_clock(db: sqlite3.Connection) -> float | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (TRASH_CLOCK_KEY,)).fetchone()
    try:
        seen = float(row[0]) if row else None
    except (TypeError, ValueError):
        return None
    return seen if seen is not None and math.isfinite(seen) else None


def _under(prefix: bytes) -> tuple[bytes, bytes]:
    """Bounds of the keys strictly inside folder ``prefix`` (the byte after the separator
    closes the range: '0' after '/', ']' after '\\')."""
    prefix = prefix.rstrip(_SEP)
    return prefix + _SEP, prefix + bytes([_SEP[0] + 1])


class MovesAndTrash(CatalogConnections):
    # -- moves ---------------------------------------------------------------------
    def move_file(self, photo_id: int, dest: Path, folder_id: int) -> list[int]:
        """Give a row a new path in one transaction; returns the rows the move
        displaced (a photo renamed over another one, or over a folder), now in the trash."""
        key = path_key(dest)
        with self._transaction() as db:
            displaced = [i for i in self._rows_at(db, key) if i != photo_id]
            self._trash_rows(db, displaced, time.time())
            db.execute("UPDATE photos SET path = ?, folder_id = ? WHERE id = ?",
                       (key, folder_id, photo_id))
            if displaced:
                self._bump_epoch(db)
        return displaced

    def move_tree(self, src: Path, dest: Path, folder_id: int) -> tuple[int, list[int]]:
        """Re-root every row under folder ``src`` at ``dest`` in one transaction.

        Returns (rows moved, rows displaced). A folder renamed over another one
        (``rm -rf B && mv A B``, its deletes not applied yet) displaces whatever
        the catalog still has at ``dest``: those rows go to the trash with their
        own content, so B's photos coming back take their rows (and tags) back,
        and A's rows, with A's tags, are the ones at B's paths."""
        old, new = path_key(src).rstrip(_SEP), path_key(dest).rstrip(_SEP)
        low, high = _under(old)
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, path FROM photos WHERE path >= ? AND path < ?", (low, high)
            ).fetchall()
            moving = {pid for pid, _ in rows}
            displaced = [i for i in self._rows_at(db, new) if i not in moving]
            self._trash_rows(db, displaced, time.time())
            db.executemany(
                "UPDATE photos SET path = ?, folder_id = ? WHERE id = ?",
                [(new + bytes(path)[len(old):], folder_id, pid) for pid, path in rows],
            )
            if displaced:
                self._bump_epoch(db)
        return len(rows), displaced

    @staticmethod
    def _rows_at(db: sqlite3.Connection, key: bytes) -> list[int]:
        """Rows at path ``key`` itself or anywhere inside it, taken as a folder."""
        low, high = _under(key)
        return [r[0] for r in db.execute(
            "SELECT id FROM photos WHERE path = ? OR (path >= ? AND path < ?)", (key, low, high))]

    def retryable_failures(self) -> set[bytes]:
        """Path keys of failed photos that failed for a reason of the moment: the file
        could not be read (permissions, a drive's I/O error, a share's hiccup), not what
        is in it. A plain ``index`` tries these again; a bad image waits for a change."""
        rows = self._reader().execute(
            "SELECT path FROM photos WHERE state = 'failed' AND failure_reason LIKE ? "
            f"AND {LIVE}", (READ_FAILURE_PREFIX + "%",),
        )
        return {bytes(r[0]) for r in rows}

    def file_record(self, path: Path) -> FileRecord | None:
        r = self._reader().execute(
            f"SELECT {FILE_RECORD_COLUMNS} FROM photos WHERE path = ?", (path_key(path),),
        ).fetchone()
        return file_record_from_row(r) if r else None

    def records_under(self, folder: Path) -> Iterator[tuple[bytes, FileRecord]]:
        """(path key, record) of the live rows inside ``folder``, at any depth."""
        low, high = _under(path_key(folder))
        rows = self._reader().execute(
            f"SELECT path, {FILE_RECORD_COLUMNS} FROM photos WHERE path >= ? AND path < ?",
            (low, high),
        ).fetchall()
        for r in rows:
            yield bytes(r[0]), file_record_from_row(r[1:])

    # -- trash ---------------------------------------------------------------------
    def trash(self, photo_ids: Sequence[int], now: float | None = None) -> None:
        """Take photos whose files are gone out of the library, keeping what can come back."""
        if photo_ids:
            with self._transaction() as db:
                self._trash_rows(db, photo_ids, time.time() if now is None else now)
                self._bump_epoch(db)

    @staticmethod
    def _trash_rows(db: sqlite3.Connection, photo_ids: Iterable[int], now: float) -> None:
        stamp: float | None = None
        for pid in photo_ids:
            row = db.execute("SELECT path, embedding IS NOT NULL FROM photos WHERE id = ?",
                             (pid,)).fetchone()
            if row is None:
                continue
            if not row[1]:  # nothing to restore (never encoded, or failed): just forget it
                db.execute("DELETE FROM photos WHERE id = ?", (pid,))
                continue
            stamp = _trash_stamp(db, now) if stamp is None else stamp
            db.execute(
                "UPDATE photos SET deleted_at = ?, trashed_path = ?, path = ? WHERE id = ?",
                (stamp, row[0], tombstone_key(pid), pid),
            )

    def purge_trash(self, deleted_before: float, now: float | None = None) -> int:
        """Forget for good the photos trashed before ``deleted_before`` (tags go too).

        Not fooled by a clock that jumps (a dead RTC battery boots at 2000 until NTP
        fixes it, a wrong manual setting): stamps never go backwards (``_trash_stamp``),
        so a photo trashed while the clock was behind is not "25 years old" once it is
        fixed; and a stamp ahead of the clock now is never purged (it waits until the
        clock passes it, grace period included). A wrong clock keeps photos longer;
        it never forgets them sooner, except for a clock jumping forward at the purge
        itself, which no stored time can tell from a long absence, and a clock set
        back by more than a day to a plausible date (after ``PLAUSIBLE_SINCE``), which
        can't be told from a stamp made while the clock was ahead: the clock is
        believed there, so one wrong stamp never holds back every later trash."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM photos WHERE deleted_at IS NOT NULL AND deleted_at < ? "
                "AND deleted_at <= ?", (deleted_before, now),
            ).rowcount

    def trash_count(self) -> int:
        return self._reader().execute(
            "SELECT COUNT(*) FROM photos WHERE deleted_at IS NOT NULL").fetchone()[0]

    def forget(self, photo_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM photos WHERE id = ?", ((i,) for i in photo_ids))
            self._bump_epoch(db)
