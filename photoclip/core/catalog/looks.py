"""Catalog SQL for duplicates: how photos look (``photo_looks``), the groups found
(``photo_stacks``), the user's choices (``duplicate_choices``) and what PhotoClip moved to
the system trash (``trashed_duplicates``). Migration 8.

Mixed into ``Catalog``. The groups are a cache of ``organize/grouping.py``'s answer,
replaced whole by a regrouping or per group by an incremental update; the choices and
the trash record are the user's and are never rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .connections import CatalogConnections
from .meta import json_ids
from .records import LIVE, path_from_key, path_key

TIERS = ("copies", "near", "similar")
CHOICES = ("best", "apart")
# photo id -> its (copies, near, similar) group ids, None where alone at that tier
StackRows = Mapping[int, tuple[int | None, int | None, int | None]]


_MISSING_LOOKS = (
    f"FROM photos p LEFT JOIN photo_looks l ON l.photo_id = p.id WHERE p.state = 'indexed' AND p.{LIVE} "
    "AND (l.photo_id IS NULL OR l.content_hash IS NOT p.content_hash OR (? AND l.phash IS NULL))")


class LooksRows(NamedTuple):
    """Every live indexed photo's grouping inputs, in id order (numpy, one row each)."""

    ids: np.ndarray  # int64
    phash: np.ndarray  # int64; 0 where has_hash is False
    has_hash: np.ndarray  # bool
    taken_at: np.ndarray  # float64 seconds; NaN where unknown
    content_hash: list[str]


class TrashedFile(NamedTuple):
    path: Path
    content_hash: str | None
    size: int | None
    kept_path: Path
    trashed_at: float


class PhotoLooksStore(CatalogConnections):
    # -- looks -------------------------------------------------------------------------
    def save_looks_many(self, items: Iterable[tuple[int, int | None, float | None]]) -> None:
        """(photo id, phash or None, sharpness or None) for photos, with the content they were
        taken from."""
        rows = [(int(pid), None if h is None else int(h), None if s is None else float(s), int(pid))
                for pid, h, s in items]
        if not rows:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO photo_looks(photo_id, content_hash, phash, sharpness) "
                "SELECT id, content_hash, ?, ? FROM photos WHERE id = ? "
                "ON CONFLICT(photo_id) DO UPDATE SET content_hash = excluded.content_hash, "
                "phash = excluded.phash, sharpness = excluded.sharpness",
                [(h, s, pid) for pid, h, s, _ in rows])

    def copy_looks_from_twins(self) -> int:
        """Photos whose content another photo's looks were taken from get those looks
        (a copy needs no decode); returns how many."""
        with self._transaction() as db:
            return db.execute(
                "INSERT INTO photo_looks(photo_id, content_hash, phash, sharpness) "
                "SELECT p.id, p.content_hash, l.phash, l.sharpness FROM photos p "
                "JOIN photo_looks l ON l.content_hash = p.content_hash "
                f"WHERE p.state = 'indexed' AND p.{LIVE} AND p.id NOT IN (SELECT photo_id FROM photo_looks) "
                "GROUP BY p.id").rowcount

    def photos_missing_looks(self, limit: int, *, want_hash: bool = False) -> list[tuple[int, Path]]:
        """Live indexed photos with no looks of their current content, newest first;
        ``want_hash``: also those taken without a hash (the extra was missing then)."""
        rows = self._reader().execute(
            f"SELECT p.id, p.path {_MISSING_LOOKS} ORDER BY p.id DESC LIMIT ?", (want_hash, limit))
        return [(pid, path_from_key(path)) for pid, path in rows]

    def count_missing_looks(self, *, want_hash: bool = False) -> int:
        return self._reader().execute(f"SELECT count(*) {_MISSING_LOOKS}", (want_hash,)).fetchone()[0]

    def sharpness_of(self, photo_ids: Iterable[int]) -> dict[int, float]:
        rows = self._reader().execute(
            "SELECT photo_id, sharpness FROM photo_looks WHERE sharpness IS NOT NULL "
            "AND photo_id IN (SELECT value FROM json_each(?))",
            (json_ids(photo_ids),))
        return dict(rows)

    def looks_rows(self, photo_ids: Sequence[int] | None = None) -> LooksRows:
        """The grouping's inputs for all live indexed photos (or ``photo_ids`` of them).
        The capture time is the headers' (photo_meta), never the file's date: a copy
        made today is no burst of the original."""
        where = "" if photo_ids is None else "AND p.id IN (SELECT value FROM json_each(?))"
        params = () if photo_ids is None else (json_ids(photo_ids),)
        rows = self._reader().execute(
            "SELECT p.id, l.phash, CASE WHEN m.taken_source != 'file' THEN m.taken_at END, "
            "p.content_hash FROM photos p LEFT JOIN photo_looks l ON l.photo_id = p.id "
            "LEFT JOIN photo_meta m ON m.photo_id = p.id "
            f"WHERE p.state = 'indexed' AND p.{LIVE} {where} ORDER BY p.id", params).fetchall()
        return LooksRows(
            ids=np.array([r[0] for r in rows], np.int64),
            phash=np.array([r[1] or 0 for r in rows], np.int64),
            has_hash=np.array([r[1] is not None for r in rows], bool),
            taken_at=np.array([np.nan if r[2] is None else r[2] for r in rows], np.float64),
            content_hash=[r[3] or "" for r in rows])

    # -- groups ------------------------------------------------------------------------
    def replace_stacks(self, groups: StackRows,
                       made_with: str) -> None:
        """All groups at once: photo id -> (copies, near, similar group ids); photos not
        named are in no group."""
        with self._transaction() as db:
            db.execute("DELETE FROM photo_stacks")
            self._put_stacks(db, groups)
            db.execute("INSERT INTO meta(key, value) VALUES ('stacks_made_with', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (made_with,))

    def update_stacks(self, groups: StackRows) -> None:
        """Some photos' groups (an incremental update): their rows are replaced."""
        with self._transaction() as db:
            db.execute("DELETE FROM photo_stacks WHERE photo_id IN (SELECT value FROM json_each(?))",
                       (json_ids(groups),))
            self._put_stacks(db, groups)

    @staticmethod
    def _put_stacks(db: sqlite3.Connection, groups: StackRows) -> None:
        db.executemany(
            "INSERT INTO photo_stacks(photo_id, copies_id, near_id, similar_id) "
            "SELECT id, ?, ?, ? FROM photos WHERE id = ?",
            [(c, n, s, pid) for pid, (c, n, s) in groups.items() if (c, n, s) != (None, None, None)])

    def stacks_made_with(self) -> str | None:
        return self.get_meta("stacks_made_with")

    def stack_rows(self) -> dict[int, tuple[int | None, int | None, int | None]]:
        """Every grouped live photo: id -> (copies, near, similar group ids)."""
        rows = self._reader().execute(
            "SELECT s.photo_id, s.copies_id, s.near_id, s.similar_id FROM photo_stacks s "
            f"JOIN photos p ON p.id = s.photo_id WHERE p.{LIVE}")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def groups(self, tier: str) -> list[list[int]]:
        """The groups of two or more live photos at ``tier``, each in id order."""
        column = f"{_tier(tier)}_id"
        rows = self._reader().execute(
            f"SELECT s.{column}, s.photo_id FROM photo_stacks s JOIN photos p ON p.id = s.photo_id "
            f"WHERE s.{column} IS NOT NULL AND p.{LIVE} ORDER BY s.{column}, s.photo_id")
        found: dict[int, list[int]] = {}
        for group, pid in rows:
            found.setdefault(group, []).append(pid)
        return [members for members in found.values() if len(members) > 1]

    def stacks_of(self, photo_ids: Iterable[int], tier: str) -> dict[int, tuple[int, int]]:
        """photo id -> (its group at ``tier``, the group's live size) for those grouped."""
        column = f"{_tier(tier)}_id"
        rows = self._reader().execute(
            f"SELECT s.photo_id, s.{column}, (SELECT count(*) FROM photo_stacks t JOIN photos q "
            f"ON q.id = t.photo_id WHERE t.{column} = s.{column} AND q.{LIVE}) FROM photo_stacks s "
            f"WHERE s.photo_id IN (SELECT value FROM json_each(?)) AND s.{column} IS NOT NULL",
            (json_ids(photo_ids),))
        return {pid: (group, size) for pid, group, size in rows if size > 1}

    def stacks_of_group(self, group_id: int, tier: str) -> list[tuple[int, int]]:
        """(photo id, group id) of the members of one group at ``tier``."""
        column = f"{_tier(tier)}_id"
        return [(r[0], r[1]) for r in self._reader().execute(
            f"SELECT photo_id, {column} FROM photo_stacks WHERE {column} = ?", (group_id,))]

    # -- the user's choices --------------------------------------------------------------
    def set_duplicate_choice(self, photo_id: int, choice: str | None) -> None:
        """'best' (keep this one of its group), 'apart' (never group it), None (forget)."""
        if choice is not None and choice not in CHOICES:
            raise ValueError(f"a duplicate choice is one of {', '.join(CHOICES)}, not {choice!r}")
        with self._transaction() as db:
            db.execute("DELETE FROM duplicate_choices WHERE photo_id = ?", (photo_id,))
            if choice is not None:
                db.execute("INSERT INTO duplicate_choices(photo_id, choice, decided_at) VALUES (?, ?, ?)",
                           (photo_id, choice, time.time()))

    def duplicate_choices(self) -> dict[int, str]:
        return dict(self._reader().execute("SELECT photo_id, choice FROM duplicate_choices"))

    # -- merging before removing ---------------------------------------------------------
    def merge_photo_work(self, kept: int, extras: Sequence[int]) -> int:
        """Carry what the user built on ``extras`` to ``kept``, in one transaction: their
        user tags (a tag the kept photo only had as an auto tag becomes the user's), their
        rejections (unless the kept photo has the tag as the user's own), their places in
        albums of one's own and among concepts' examples, hearts and stars. Returns how many
        tags were added or changed on ``kept``."""
        marks = json_ids(extras)
        with self._transaction() as db:
            self._bump(db, "tags_epoch")
            changed = db.execute(
                "INSERT INTO tags(photo_id, name, source, label_set) SELECT ?, name, 'user', label_set "
                "FROM tags WHERE photo_id IN (SELECT value FROM json_each(?)) AND source = 'user' "
                "ON CONFLICT(photo_id, name) DO UPDATE SET source = 'user', score = NULL "
                "WHERE tags.source != 'user'", (kept, marks)).rowcount
            changed += db.execute(
                "INSERT INTO tags(photo_id, name, source) SELECT ?, name, 'rejected' "
                "FROM tags WHERE photo_id IN (SELECT value FROM json_each(?)) AND source = 'rejected' "
                "ON CONFLICT(photo_id, name) DO UPDATE SET source = 'rejected' "
                "WHERE tags.source = 'auto'", (kept, marks)).rowcount
            # Albums of one's own: the kept photo takes an extra's place where it is not in yet.
            db.execute("INSERT INTO manual_album_photos(album, photo_id, position) SELECT album, ?, "
                       "MIN(position) FROM manual_album_photos WHERE photo_id IN (SELECT value FROM "
                       "json_each(?)) GROUP BY album ON CONFLICT(album, photo_id) DO NOTHING", (kept, marks))
            # A heart or stars on any of them stay with the photo kept (the most stars).
            db.execute("INSERT INTO photo_marks(photo_id, favourite, rating, rating_source) SELECT ?, "
                       "MAX(favourite), MAX(rating), 'user' FROM photo_marks WHERE photo_id IN (SELECT value "
                       "FROM json_each(?)) AND (favourite = 1 OR rating > 0) HAVING COUNT(*) > 0 "
                       "ON CONFLICT(photo_id) DO UPDATE SET favourite = MAX(favourite, excluded.favourite), "
                       "rating = MAX(rating, excluded.rating)", (kept, marks))
            gone = set(extras)
            for name, examples in db.execute("SELECT name, examples FROM concepts").fetchall():
                ids = [int(i) for i in json.loads(examples)]
                if gone & set(ids):
                    merged = list(dict.fromkeys(kept if i in gone else i for i in ids))
                    db.execute("UPDATE concepts SET examples = ? WHERE name = ?", (json.dumps(merged), name))
            return changed

    # -- what was trashed ----------------------------------------------------------------
    def record_trashed(self, path: Path, content_hash: str | None, size: int | None, kept: Path) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO trashed_duplicates(path, content_hash, size, kept_path, trashed_at) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (path_key(path), content_hash, size, path_key(kept), time.time()))

    def trashed_files(self) -> list[TrashedFile]:
        rows = self._reader().execute(
            "SELECT path, content_hash, size, kept_path, trashed_at FROM trashed_duplicates ORDER BY id")
        return [TrashedFile(path_from_key(p), h, s, path_from_key(k), t) for p, h, s, k, t in rows]


def _tier(tier: str) -> str:
    if tier not in TIERS:
        raise ValueError(f"a duplicate tier is one of {', '.join(TIERS)}, not {tier!r}")
    return tier
