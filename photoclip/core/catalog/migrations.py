"""Ordered, named schema migrations for the catalog, and how a new catalog is made.

Each migration takes the catalog from version N-1 to N. The pending ones run in
one write transaction that reads the version itself, so two processes opening
the same old catalog never both apply them. The catalog backs the database file
up before running any of them on an existing library, and refuses a database
newer than ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _run_statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must stay one transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _initial_schema(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                 applied_at REAL NOT NULL);
        -- Paths are BLOBs of the OS's bytes: file names need not be valid UTF-8.
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            path BLOB NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT,
            width INTEGER,
            height INTEGER,
            taken_at REAL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'indexed', 'failed')),
            failure_reason TEXT,
            embedding BLOB,          -- float32, L2-normalised
            model_id TEXT,           -- which model made `embedding`
            indexed_at REAL
        );
        CREATE INDEX photos_by_hash ON photos(content_hash);
        CREATE INDEX photos_by_folder ON photos(folder_id);
        CREATE INDEX photos_by_state ON photos(state);
        """
    )


def _trash_and_tags(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- A deleted file's row stays for a grace period (its vector, tags and
        -- albums come back if the same content reappears). Its path is swapped
        -- for a tombstone key so the real path is free for a new file.
        ALTER TABLE photos ADD COLUMN deleted_at REAL;
        ALTER TABLE photos ADD COLUMN trashed_path BLOB;
        CREATE INDEX photos_by_deleted ON photos(deleted_at);
        CREATE TABLE tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'user',   -- 'user' or 'auto' (zero-shot)
            score REAL,
            PRIMARY KEY (photo_id, name)
        );
        CREATE INDEX tags_by_name ON tags(name);
        -- "st_dev:st_ino" of the folder when last seen holding files: an empty
        -- folder with another identity is a mount point left by an unplugged drive.
        ALTER TABLE folders ADD COLUMN identity TEXT;
        """
    )


def _newest_first_index(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- The library view (newest first) pages through this instead of sorting every
        -- photo for every page: a page deep in 100,000 photos took ~1 s without it.
        -- Expression and WHERE match Catalog.newest_photos exactly, or SQLite won't use it.
        CREATE INDEX photos_newest ON photos(COALESCE(taken_at, indexed_at) DESC, id DESC)
            WHERE state = 'indexed' AND deleted_at IS NULL;
        """
    )


def _auto_tags_albums_concepts(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- An auto tag records what made it, so a re-run with a changed set or model
        -- replaces exactly its own tags. source is now 'user', 'auto' or 'rejected'
        -- (a rejected auto tag stays, so no later run adds it again).
        ALTER TABLE tags ADD COLUMN label_set TEXT;
        ALTER TABLE tags ADD COLUMN set_version TEXT;
        ALTER TABLE tags ADD COLUMN model_id TEXT;
        CREATE INDEX tags_by_set ON tags(label_set, source);
        CREATE TABLE smart_albums (
            name TEXT PRIMARY KEY,
            query TEXT NOT NULL,
            min_score REAL NOT NULL,
            created_at REAL NOT NULL
        );
        -- A concept keeps its example photos, not a vector: the vector is learned
        -- again from them for whatever model the library uses.
        CREATE TABLE concepts (
            name TEXT PRIMARY KEY,
            examples TEXT NOT NULL,  -- JSON list of photo ids
            created_at REAL NOT NULL
        );
        """
    )


def _tags_owed(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- Photos indexed but not yet auto-tagged: marked in the transaction that indexes
        -- a batch, unmarked once its tags are written. A kill or a failure in between
        -- leaves the mark, and the next index tags them (nothing else would).
        CREATE TABLE tags_owed (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE
        );
        """
    )


def _photo_meta(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- What a photo's headers say (catalog/meta.py). The *_key columns hold fold()ed
        -- text to match on: place_key the city, region_key and country_key the others.
        CREATE TABLE photo_meta (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            meta_version INTEGER NOT NULL,
            taken_at REAL, taken_local TEXT, taken_offset_min INTEGER, taken_source TEXT,
            camera_make TEXT, camera_model TEXT, lens TEXT, orientation INTEGER,
            width INTEGER, height INTEGER, file_type TEXT, lat REAL, lon REAL,
            city TEXT, region TEXT, country TEXT, country_code TEXT,
            place_key TEXT, camera_key TEXT, region_key TEXT, country_key TEXT
        );
        CREATE INDEX photo_meta_by_taken ON photo_meta(taken_local);
        CREATE INDEX photo_meta_by_place ON photo_meta(place_key);
        CREATE INDEX photo_meta_by_region ON photo_meta(region_key);
        CREATE INDEX photo_meta_by_country ON photo_meta(country_key);
        CREATE INDEX photo_meta_by_country_code ON photo_meta(country_code);
        CREATE INDEX photo_meta_by_camera ON photo_meta(camera_key);
        -- The live, indexed photos newest first (the library view's order), read from
        -- this small index alone: filters start from their ids, and a filter-only query
        -- walks it for a page, never reading photo rows (each holds a vector).
        CREATE INDEX photos_live ON photos(state, deleted_at, COALESCE(taken_at, indexed_at) DESC, id DESC);
        -- The folder names on each photo's path, folded ("/pictures/trips/lisbon/"), for
        -- folder: filters (a few thousand distinct keys, matched in Python, then looked
        -- up). NULL: owed, filled in Python (fold is not SQL) before a folder filter runs.
        -- The triggers owe it for every new row and every row whose path or library
        -- folder changes, whoever writes it.
        CREATE TABLE photo_folders (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            folder_key TEXT,
            folder_names TEXT
        );
        CREATE INDEX photo_folders_by_key ON photo_folders(folder_key);
        INSERT INTO photo_folders(photo_id) SELECT id FROM photos;
        """
    )
    # One statement each: a trigger's body holds the ";" that _run_statements splits on.
    db.execute(
        """
        CREATE TRIGGER photo_folders_new AFTER INSERT ON photos BEGIN
            INSERT OR REPLACE INTO photo_folders(photo_id) VALUES (NEW.id);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER photo_folders_moved AFTER UPDATE OF path, folder_id ON photos
            WHEN NEW.path IS NOT OLD.path OR NEW.folder_id IS NOT OLD.folder_id BEGIN
            UPDATE photo_folders SET folder_key = NULL, folder_names = NULL WHERE photo_id = NEW.id;
        END
        """
    )


def _photo_text(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- The text read in each photo (catalog/text.py). Every photo read gets a row, one
        -- with no text too (lines '[]'), so it is not read again, engine says which engine
        -- and model version read it, content_hash which content (a changed file re-reads).
        -- lines: JSON [[text, [[x, y], ...], confidence], ...], full_text: the lines, one a line.
        CREATE TABLE photo_text (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            engine TEXT NOT NULL,
            content_hash TEXT,
            read_at REAL NOT NULL,
            lines TEXT NOT NULL,
            full_text TEXT NOT NULL
        );
        CREATE INDEX photo_text_by_engine ON photo_text(engine, content_hash);
        -- Words (diacritics and case folded: "cafe" finds "Café"), prefixes and phrases...
        CREATE VIRTUAL TABLE photo_text_words USING fts5(
            full_text, content = 'photo_text', content_rowid = 'photo_id',
            tokenize = "unicode61 remove_diacritics 2");
        -- ...and substrings (codes, numbers: "4711" in "INV-47110"), by trigrams.
        CREATE VIRTUAL TABLE photo_text_grams USING fts5(
            full_text, content = 'photo_text', content_rowid = 'photo_id', tokenize = 'trigram')
        """
    )
    # External-content tables are kept in step by triggers (so a photo deleted, which
    # cascades here, leaves its words too). Rows with no text are never indexed, so never
    # deleted from the index either: an FTS5 'delete' of what was not inserted corrupts it.
    # An update deletes the old words BEFORE and inserts the new AFTER: a defined order.
    for when, old_or_new, sql in (
        ("AFTER INSERT", "NEW", "INSERT INTO {t}(rowid, full_text) VALUES (NEW.photo_id, NEW.full_text)"),
        ("AFTER DELETE", "OLD", "INSERT INTO {t}({t}, rowid, full_text) "
                                "VALUES ('delete', OLD.photo_id, OLD.full_text)"),
        ("BEFORE UPDATE", "OLD", "INSERT INTO {t}({t}, rowid, full_text) "
                                 "VALUES ('delete', OLD.photo_id, OLD.full_text)"),
        ("AFTER UPDATE", "NEW", "INSERT INTO {t}(rowid, full_text) VALUES (NEW.photo_id, NEW.full_text)"),
    ):
        name = "photo_text_" + when.lower().replace(" ", "_")
        body = "; ".join(sql.format(t=t) for t in ("photo_text_words", "photo_text_grams"))
        db.execute(f"CREATE TRIGGER {name} {when} ON photo_text "
                   f"WHEN {old_or_new}.full_text != '' BEGIN {body}; END")


def _looks_and_stacks(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- What a photo looks like, for duplicates (files/looks.py): taken from the indexing
        -- decode (or the backfill) of the content content_hash names. phash NULL: taken
        -- without the dupes extra, sharpness NULL: the decode was too small to measure.
        CREATE TABLE photo_looks (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            content_hash TEXT,
            phash INTEGER,
            sharpness REAL
        );
        -- The groups found (organize/grouping.py), three nested partitions: a group's id
        -- is its anchor's photo id, NULL where the photo is alone at that tier. A cache of
        -- the grouping, kept in the catalog beside the photos it names (meta
        -- 'stacks_made_with' says for which model and thresholds: otherwise, regrouped).
        CREATE TABLE photo_stacks (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            copies_id INTEGER,
            near_id INTEGER,
            similar_id INTEGER
        );
        CREATE INDEX photo_stacks_by_similar ON photo_stacks(similar_id);
        CREATE INDEX photo_stacks_by_near ON photo_stacks(near_id);
        -- The user's decisions (source of truth): 'best' the photo to keep of its group,
        -- 'apart' a photo never grouped with others.
        CREATE TABLE duplicate_choices (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            choice TEXT NOT NULL CHECK (choice IN ('best', 'apart')),
            decided_at REAL NOT NULL
        );
        -- Every file PhotoClip moved to the system trash, and the photo kept for it.
        CREATE TABLE trashed_duplicates (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            content_hash TEXT,
            size INTEGER,
            kept_path TEXT NOT NULL,
            trashed_at REAL NOT NULL
        )
        """
    )


def _marks_and_albums(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        -- What the user says of a photo (catalog/marks.py), a source of truth: a favourite,
        -- 0-5 stars (rating_source 'user', or 'file' when read from its XMP), and a rotation
        -- in quarter turns clockwise shown on top of its EXIF orientation (never written
        -- into the photo). A row is kept while the photo is in the trash.
        CREATE TABLE photo_marks (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            favourite INTEGER NOT NULL DEFAULT 0 CHECK (favourite IN (0, 1)),
            rating INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
            rating_source TEXT,
            rotation INTEGER NOT NULL DEFAULT 0 CHECK (rotation BETWEEN 0 AND 3)
        );
        CREATE INDEX photo_marks_favourites ON photo_marks(favourite) WHERE favourite = 1;
        -- Albums the user makes by hand: ordered, any photo in several.
        CREATE TABLE manual_albums (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            created_at REAL NOT NULL
        );
        CREATE TABLE manual_album_photos (
            album TEXT NOT NULL COLLATE NOCASE
                REFERENCES manual_albums(name) ON DELETE CASCADE ON UPDATE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            PRIMARY KEY (album, photo_id)
        )
        """
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial_schema),
    Migration(2, "trash for deleted photos, tags, folder identity", _trash_and_tags),
    Migration(3, "index for the library view, newest first", _newest_first_index),
    Migration(4, "auto tags' provenance, smart albums, concepts", _auto_tags_albums_concepts),
    Migration(5, "photos still owed their auto tags", _tags_owed),
    Migration(6, "what photos' headers say, folder names for filters", _photo_meta),
    Migration(7, "text read in photos, its word and substring indexes", _photo_text),
    Migration(8, "how photos look, their duplicate groups, the user's choices", _looks_and_stacks),
    Migration(9, "favourites, ratings, rotations and albums of one's own", _marks_and_albums),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def apply_migrations(db: sqlite3.Connection, pending: Sequence[Migration]) -> None:
    """Run ``pending`` inside the caller's write transaction, recording each."""
    for migration in pending:
        migration.apply(db)
        db.execute(
            "INSERT INTO migrations(version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, time.time()),
        )
        db.execute(f"PRAGMA user_version = {migration.version}")


def create_catalog(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Make a new catalog at ``path`` whole or not at all.

    Built beside it and linked into place, so the file at ``path`` is always a complete
    catalog: an empty or half-made one is damage, never something PhotoClip left, and
    is refused rather than silently made again over (the user's library may be in a
    backup). ``os.link`` fails if another process linked its own first: that one wins.
    """
    fresh = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        db = sqlite3.connect(fresh, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("BEGIN IMMEDIATE")
            apply_migrations(db, migrations)
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection: checkpoints the WAL into the file
        with contextlib.suppress(FileExistsError):
            _link_or_move(fresh, path)
    finally:
        for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
            leftover.unlink(missing_ok=True)


def _link_or_move(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: a rename, if still nobody's there
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.replace(source, target)
