"""Catalog SQL for what the user says of photos: favourites, 0-5 star ratings, the
rotation shown (never written into the photo), and albums made by hand (ordered; a photo
in any number of them). Migration 9. Mixed into ``Catalog``.

All of it is the user's (a source of truth). A photo in PhotoClip's trash keeps its
marks and album places, so a file put back comes back with them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from ..models import PhotoMarks
from .connections import CatalogConnections
from .meta import json_ids
from .records import LIVE

MAX_RATING = 5
_UPSERT_MARK = ("INSERT INTO photo_marks(photo_id, {column}) SELECT id, ? FROM photos WHERE id = ? "
                "ON CONFLICT(photo_id) DO UPDATE SET {column} = excluded.{column}")


class AlbumError(ValueError):
    """A manual album that is not there, or a name already taken: the message is the user's line."""


class MarksAndAlbums(CatalogConnections):
    # -- marks ---------------------------------------------------------------------------
    def marks_of(self, photo_ids: Iterable[int]) -> dict[int, PhotoMarks]:
        """The marks of those of ``photo_ids`` that have any (others: ``PhotoMarks()``)."""
        rows = self._reader().execute(
            "SELECT photo_id, favourite, rating, rotation FROM photo_marks "
            "WHERE photo_id IN (SELECT value FROM json_each(?))", (json_ids(photo_ids),))
        return {pid: PhotoMarks(bool(fav), int(rating), int(rotation)) for pid, fav, rating, rotation in rows}

    def set_favourite(self, photo_ids: Sequence[int], on: bool) -> None:
        self._mark("favourite", [(int(on), pid) for pid in photo_ids])

    def set_rating(self, photo_ids: Sequence[int], stars: int, *, source: str = "user") -> None:
        """0-5 stars; ``source`` "file" for a rating read from the photo's XMP."""
        if not 0 <= stars <= MAX_RATING:
            raise ValueError(f"a rating is 0 to {MAX_RATING} stars, not {stars}")
        with self._transaction() as db:
            self._bump(db, "tags_epoch")
            for pid in photo_ids:
                db.execute(_UPSERT_MARK.format(column="rating"), (stars, pid))
                db.execute("UPDATE photo_marks SET rating_source = ? WHERE photo_id = ?", (source, pid))

    def ratings_from_files(self, found: dict[int, int]) -> int:
        """Ratings read from photos' XMP, kept only where the user has not rated in PhotoClip."""
        with self._transaction() as db:
            changed = 0
            for pid, stars in found.items():
                row = db.execute("SELECT rating_source FROM photo_marks WHERE photo_id = ?",
                                 (pid,)).fetchone()
                if (row is None or row[0] != "user") and 0 <= stars <= MAX_RATING:
                    db.execute(_UPSERT_MARK.format(column="rating"), (stars, pid))
                    db.execute("UPDATE photo_marks SET rating_source = 'file' WHERE photo_id = ?", (pid,))
                    changed += 1
            return changed

    def set_rotation(self, photo_id: int, quarter_turns: int) -> None:
        """How the photo is shown: quarter turns clockwise (any integer, kept modulo 4)."""
        self._mark("rotation", [(int(quarter_turns) % 4, photo_id)])

    def _mark(self, column: str, rows: list[tuple[int, int]]) -> None:
        with self._transaction() as db:
            self._bump(db, "tags_epoch")  # favourites are a filter and a sidebar entry
            db.executemany(_UPSERT_MARK.format(column=column), rows)

    def favourite_ids(self) -> list[int]:
        rows = self._reader().execute(
            "SELECT m.photo_id FROM photo_marks m JOIN photos p ON p.id = m.photo_id "
            f"WHERE m.favourite = 1 AND p.{LIVE} ORDER BY COALESCE(p.taken_at, p.indexed_at) DESC")
        return [r[0] for r in rows]

    def rated_ids(self, at_least: int) -> list[int]:
        rows = self._reader().execute(
            "SELECT m.photo_id FROM photo_marks m JOIN photos p ON p.id = m.photo_id "
            f"WHERE m.rating >= ? AND p.{LIVE}", (at_least,))
        return [r[0] for r in rows]

    # -- albums of one's own ---------------------------------------------------------------
    def create_album(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise AlbumError("an album needs a name")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM manual_albums WHERE name = ?", (name,)).fetchone():
                raise AlbumError(f"there is already an album named {name!r}")
            self._bump(db, "tags_epoch")
            db.execute("INSERT INTO manual_albums(name, created_at) VALUES (?, ?)", (name, time.time()))

    def delete_album(self, name: str) -> bool:
        with self._transaction() as db:
            self._bump(db, "tags_epoch")
            return db.execute("DELETE FROM manual_albums WHERE name = ?", (name,)).rowcount > 0

    def add_to_album(self, name: str, photo_ids: Sequence[int]) -> int:
        """Append photos (those already in it stay where they are); returns how many joined."""
        with self._transaction() as db:
            name = self._album_named(db, name)
            self._bump(db, "tags_epoch")
            last = db.execute("SELECT COALESCE(MAX(position), 0) FROM manual_album_photos WHERE album = ?",
                              (name,)).fetchone()[0]
            added = 0
            for pid in dict.fromkeys(photo_ids):
                added += db.execute(
                    "INSERT INTO manual_album_photos(album, photo_id, position) SELECT ?, id, ? FROM photos "
                    "WHERE id = ? ON CONFLICT(album, photo_id) DO NOTHING",
                    (name, last + added + 1, pid)).rowcount
            return added

    def remove_from_album(self, name: str, photo_ids: Sequence[int]) -> int:
        with self._transaction() as db:
            name = self._album_named(db, name)
            self._bump(db, "tags_epoch")
            return db.execute("DELETE FROM manual_album_photos WHERE album = ? AND photo_id IN "
                              "(SELECT value FROM json_each(?))", (name, json_ids(photo_ids))).rowcount

    def manual_albums(self) -> list[tuple[str, list[int]]]:
        """Every album made by hand, by name, with its live photos in the album's order."""
        # One statement, so the album list and its photos come from one snapshot: read in two,
        # an album made between them would have photos but no name.
        rows = self._reader().execute(
            "SELECT m.name, p.id FROM manual_albums m "
            "LEFT JOIN manual_album_photos a ON a.album = m.name "
            f"LEFT JOIN photos p ON p.id = a.photo_id AND p.{LIVE} "
            "ORDER BY m.name, a.position")
        albums: dict[str, list[int]] = {}
        for name, pid in rows:
            members = albums.setdefault(name, [])
            if pid is not None:
                members.append(pid)
        return list(albums.items())

    @staticmethod
    def _album_named(db: sqlite3.Connection, name: str) -> str:
        """The album's stored name (names match whatever their case), or AlbumError."""
        row = db.execute("SELECT name FROM manual_albums WHERE name = ?", (name.strip(),)).fetchone()
        if row is None:
            raise AlbumError(f"no album named {name!r} (photoclip album create NAME makes one)")
        return row[0]
