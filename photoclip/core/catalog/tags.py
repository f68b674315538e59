"""Catalog SQL for tags, saved searches (smart albums) and personal concepts.

Mixed into ``Catalog``. A tag row is one of: a user tag (typed, imported from
keywords, or an auto tag the user confirmed), an auto tag (zero-shot, with the
label set, its version, the model and the score), or a rejected auto tag,
kept so that no later run adds it again. Auto tags are replaced per label set;
user and rejected rows are never touched by a run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..models import SmartAlbum, Tag
from .connections import CatalogConnections

if TYPE_CHECKING:
    import numpy as np

_TAG_COLUMNS = "name, source, score, label_set, set_version, model_id"
CHUNK = 500  # ids per statement: stays under SQLite's variable limit


def concept_set(name: str) -> str:
    """The label set a concept's auto tags are recorded under (one per concept, so
    re-learning one replaces only its own tags)."""
    return f"concept:{name}"


def _tag(row: Sequence[object]) -> Tag:
    return Tag(*row)  # type: ignore[arg-type]


class TagsAlbumsConcepts(CatalogConnections):
    def tags_epoch(self) -> int:
        """Bumped by every change to tags, smart albums or concepts (albums are cached on it)."""
        return self._counter("tags_epoch")

    @classmethod
    def _bump_tags(cls, db: sqlite3.Connection) -> None:
        cls._bump(db, "tags_epoch")

    # -- reading tags ----------------------------------------------------------------
    def tags(self, photo_id: int, *, rejected: bool = False) -> list[Tag]:
        """A photo's tags by name; rejected ones only when asked for."""
        where = "" if rejected else " AND source != 'rejected'"
        rows = self._reader().execute(
            f"SELECT {_TAG_COLUMNS} FROM tags WHERE photo_id = ?{where} ORDER BY name",
            (photo_id,))
        return [_tag(r) for r in rows]

    def tag_counts(self) -> list[tuple[str, int]]:
        """Each tag with the number of live, indexed photos that have it, most first."""
        rows = self._reader().execute(
            "SELECT t.name, COUNT(*) FROM tags t JOIN photos p ON p.id = t.photo_id "
            "WHERE t.source != 'rejected' AND p.deleted_at IS NULL AND p.state = 'indexed' "
            "GROUP BY t.name ORDER BY COUNT(*) DESC, t.name")
        return [(r[0], r[1]) for r in rows]

    def photo_ids_with_tag(self, name: str) -> list[int]:
        """Live, indexed photos tagged ``name`` (not rejected), newest first."""
        rows = self._reader().execute(
            "SELECT p.id FROM tags t JOIN photos p ON p.id = t.photo_id "
            "WHERE t.name = ? AND t.source != 'rejected' AND p.deleted_at IS NULL "
            "AND p.state = 'indexed' ORDER BY COALESCE(p.taken_at, p.indexed_at) DESC, p.id DESC",
            (name,))
        return [r[0] for r in rows]

    # -- writing tags --------------------------------------------------------------
    def add_tags(self, photo_id: int, tags: Iterable[Tag]) -> None:
        """Add or overwrite tags as given (a user tag also replaces a rejection)."""
        with self._transaction() as db:
            self._bump_tags(db)
            db.executemany(
                f"INSERT INTO tags(photo_id, {_TAG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(photo_id, name) DO UPDATE SET source = excluded.source, "
                "score = excluded.score, label_set = excluded.label_set, "
                "set_version = excluded.set_version, model_id = excluded.model_id",
                [(photo_id, t.name, t.source, t.score, t.label_set, t.set_version, t.model_id)
                 for t in tags],
            )

    def add_keywords(self, keywords: dict[int, list[str]]) -> None:
        """Keywords found in photos' metadata, as user tags. A name the photo already
        has a row for is left as it is: a rejection stands, and PhotoClip's own auto
        tags, read back from a sidecar it wrote, stay auto tags."""
        with self._transaction() as db:
            self._bump_tags(db)
            db.executemany(
                "INSERT INTO tags(photo_id, name, source, label_set) VALUES (?, ?, 'user', "
                "'keywords') ON CONFLICT(photo_id, name) DO NOTHING",
                [(pid, name) for pid, names in keywords.items() for name in names],
            )

    def remove_tags(self, photo_id: int, names: Iterable[str]) -> None:
        """Remove tags. A keyword read from the photo's own metadata is marked rejected
        instead, so reading the photo again (an edit, a new model) doesn't bring it back."""
        pairs = [(photo_id, name) for name in names]
        with self._transaction() as db:
            self._bump_tags(db)
            db.executemany("UPDATE tags SET source = 'rejected' WHERE photo_id = ? AND name = ? "
                           "AND label_set = 'keywords'", pairs)
            db.executemany("DELETE FROM tags WHERE photo_id = ? AND name = ? "
                           "AND source != 'rejected'", pairs)

    def set_tag_source(self, photo_id: int, name: str, source: str) -> None:
        """Confirm (``user``) or reject (``rejected``) a tag; a rejection of a tag the
        photo doesn't have yet is recorded too, so no run adds it later."""
        with self._transaction() as db:
            self._bump_tags(db)
            db.execute(
                "INSERT INTO tags(photo_id, name, source) VALUES (?, ?, ?) "
                "ON CONFLICT(photo_id, name) DO UPDATE SET source = excluded.source",
                (photo_id, name, source))

    def replace_auto_tags(
        self, label_set: str, set_version: str, model_id: str, photo_ids: Sequence[int],
        decided: Iterable[tuple[int, str, float]], *, everything: bool = False,
    ) -> tuple[int, set[tuple[int, str]]]:
        """One label set's run over ``photo_ids`` (``everything``: the whole library):
        its old auto tags on them go, the new decisions (photo_id, name, score) come
        in, except where the user has already decided on that name (user or rejected
        rows win). Returns the tags written and the (photo_id, name) pairs that went."""
        decided = list(decided)
        with self._transaction() as db:
            self._bump_tags(db)
            before = self._auto_tags_of(db, label_set, None if everything else photo_ids)
            if everything:
                db.execute("DELETE FROM tags WHERE source = 'auto' AND label_set = ?", (label_set,))
            for start in range(0, 0 if everything else len(photo_ids), CHUNK):
                chunk = list(photo_ids[start:start + CHUNK])
                db.execute(  # +label_set: look rows up by photo (the key), not by set
                    "DELETE FROM tags WHERE photo_id IN "
                    f"({','.join('?' * len(chunk))}) AND source = 'auto' AND +label_set = ?",
                    [*chunk, label_set])
            cursor = db.executemany(
                f"INSERT INTO tags(photo_id, {_TAG_COLUMNS}) VALUES (?, ?, 'auto', ?, ?, ?, ?) "
                # Another set's auto tag of the same name stays: a run never takes over
                # what it did not write.
                "ON CONFLICT(photo_id, name) DO NOTHING",
                [(pid, name, score, label_set, set_version, model_id)
                 for pid, name, score in decided])
            return max(cursor.rowcount, 0), before - {(pid, name) for pid, name, _ in decided}

    @staticmethod
    def _auto_tags_of(db: sqlite3.Connection, label_set: str,
                      photo_ids: Sequence[int] | None) -> set[tuple[int, str]]:
        if photo_ids is None:
            return {(r[0], r[1]) for r in db.execute(
                "SELECT photo_id, name FROM tags WHERE source = 'auto' AND label_set = ?",
                (label_set,))}
        found: set[tuple[int, str]] = set()
        for start in range(0, len(photo_ids), CHUNK):
            chunk = list(photo_ids[start:start + CHUNK])
            found |= {(r[0], r[1]) for r in db.execute(
                f"SELECT photo_id, name FROM tags WHERE photo_id IN ({','.join('?' * len(chunk))}) "
                "AND source = 'auto' AND +label_set = ?", [*chunk, label_set])}
        return found

    def forget_label_set(self, label_set: str) -> set[tuple[int, str]]:
        """Remove a set's auto tags everywhere (the set was disabled or deleted);
        returns the (photo_id, name) pairs removed."""
        with self._transaction() as db:
            self._bump_tags(db)
            removed = self._auto_tags_of(db, label_set, None)
            db.execute("DELETE FROM tags WHERE source = 'auto' AND label_set = ?", (label_set,))
            return removed

    def tag_rows(self) -> list[tuple[int, str]]:
        """(photo_id, name) of every tag (not rejected) of a live, indexed photo: what
        album listings are computed from, in one query."""
        return [(r[0], r[1]) for r in self._reader().execute(
            "SELECT t.photo_id, t.name FROM tags t JOIN photos p ON p.id = t.photo_id "
            "WHERE t.source != 'rejected' AND p.state = 'indexed' AND p.deleted_at IS NULL")]

    # -- tags still owed (see record_results) -----------------------------------------
    def tags_owed(self, model_id: str) -> list[int]:
        """Live indexed photos with a vector of ``model_id`` whose auto tags were never
        written (a kill or a failure after their batch was committed). Other marks wait:
        a photo pending again or re-encoded by another model is tagged when indexed."""
        rows = self._reader().execute(  # CROSS JOIN: the (tiny) owed table drives, not photos
            "SELECT o.photo_id FROM tags_owed o CROSS JOIN photos p ON p.id = o.photo_id "
            "WHERE p.state = 'indexed' AND p.model_id = ? AND p.deleted_at IS NULL "
            "ORDER BY o.photo_id", (model_id,))
        return [r[0] for r in rows]

    def settle_tags_owed(self, photo_ids: Sequence[int]) -> None:
        """These photos' tags are written: no longer owed."""
        with self._transaction() as db:
            for start in range(0, len(photo_ids), CHUNK):
                chunk = list(photo_ids[start:start + CHUNK])
                db.execute(f"DELETE FROM tags_owed WHERE photo_id IN ({','.join('?' * len(chunk))})",
                           chunk)

    # -- vectors for scoring ---------------------------------------------------------
    def vectors_of(self, photo_ids: Sequence[int], model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the given indexed photos that have a vector of ``model_id``."""
        import numpy as np

        ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, len(photo_ids), CHUNK):
            chunk = list(photo_ids[start:start + CHUNK])
            for pid, blob in self._reader().execute(
                f"SELECT id, embedding FROM photos WHERE id IN ({','.join('?' * len(chunk))}) "
                "AND model_id = ? AND embedding IS NOT NULL AND state = 'indexed' "
                "AND deleted_at IS NULL ORDER BY id", [*chunk, model_id]):
                ids.append(pid)
                blobs.append(blob)
        if not ids:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
        return np.array(ids, dtype=np.int64), vectors

    def photo_times(self) -> list[tuple[int, float]]:
        """(id, when taken) of every live indexed photo, oldest first: EXIF time, else
        the file's modification time (what a camera copy or a download keeps)."""
        rows = self._reader().execute(
            "SELECT id, COALESCE(taken_at, mtime_ns / 1e9) AS t FROM photos "
            "WHERE state = 'indexed' AND deleted_at IS NULL ORDER BY t, id")
        return [(r[0], r[1]) for r in rows]

    # -- smart albums ------------------------------------------------------------------
    def save_smart_album(self, album: SmartAlbum) -> None:
        with self._transaction() as db:
            self._bump_tags(db)
            db.execute(
                "INSERT INTO smart_albums(name, query, min_score, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET query = excluded.query, "
                "min_score = excluded.min_score",
                (album.name, album.query, album.min_score, time.time()))

    def smart_albums(self) -> list[SmartAlbum]:
        rows = self._reader().execute(
            "SELECT name, query, min_score FROM smart_albums ORDER BY name COLLATE NOCASE")
        return [SmartAlbum(r[0], r[1], r[2]) for r in rows]

    def delete_smart_album(self, name: str) -> bool:
        with self._transaction() as db:
            self._bump_tags(db)
            return db.execute("DELETE FROM smart_albums WHERE name = ?", (name,)).rowcount > 0

    # -- personal concepts -------------------------------------------------------------
    def save_concept(self, name: str, example_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            self._bump_tags(db)
            db.execute(
                "INSERT INTO concepts(name, examples, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET examples = excluded.examples",
                (name, json.dumps(list(example_ids)), time.time()))

    def concepts(self) -> dict[str, list[int]]:
        """Each concept's name and its example photo ids."""
        rows = self._reader().execute("SELECT name, examples FROM concepts ORDER BY name")
        return {r[0]: [int(i) for i in json.loads(r[1])] for r in rows}

    def delete_concept(self, name: str) -> set[tuple[int, str]] | None:
        """Forget a concept and its auto tags; returns the (photo_id, name) pairs
        removed, None when there was no such concept."""
        with self._transaction() as db:
            self._bump_tags(db)
            removed = self._auto_tags_of(db, concept_set(name), None)
            db.execute("DELETE FROM tags WHERE source = 'auto' AND label_set = ?",
                       (concept_set(name),))
            found = db.execute("DELETE FROM concepts WHERE name = ?", (name,)).rowcount > 0
            return removed if found else None
