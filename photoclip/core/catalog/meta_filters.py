"""Catalog SQL for filters: the photos a ``PhotoFilter`` keeps, and a page of them
newest first (the facet counts build on this in ``meta_facets``).

Mixed into ``Catalog``. Each condition is one indexed query for the ids it allows
(``photo_meta``'s date, place and camera columns, ``tags`` by name, ``photo_folders``;
cameras and folders are matched against their few distinct keys first),
handed back in one string (``group_concat``: a Python row per id costs ~10x more), and
the sets are intersected in numpy with the live, indexed photos' ids, which each
thread keeps until the database changes (``PRAGMA data_version``). Text matches folded
(``files.places.fold``: case and accents ignored). Photos without a meta row meet no
date, place, camera or orientation condition (the backfill gives them one). Albums are
not resolved here: the library turns them into ``PhotoFilter.ids``. Text conditions
(``PhotoFilter.text``) are the text index's matches (``text.PhotoTextStore.text_ids``).
Favourites and ratings are ``photo_marks`` rows (``marks.py``); a photo without one is no
favourite and unrated, so "not a favourite" and "unrated" take out the rows that say
otherwise rather than ask for rows that say so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from ..files.places import fold
from ..models import Photo, PhotoFilter
from .meta import json_ids, members
from .records import PHOTO_COLUMNS, photo_from_row
from .text import PhotoTextStore

KINDS_SET = "kinds"  # the label set whose tags kind: filters on
_CAMERA_KEYS = "SELECT DISTINCT camera_key FROM photo_meta WHERE camera_key IS NOT NULL"
_FOLDER_KEYS = "SELECT DISTINCT folder_key FROM photo_folders WHERE folder_key IS NOT NULL"
NARROWING = 3000  # kept ids few enough to hand to the next condition's query
_BY_IDS = "id IN (SELECT value FROM json_each(?))"
# Upright size: EXIF orientations 5-8 turn the picture a quarter.
_UPRIGHT_W = "(CASE WHEN m.orientation BETWEEN 5 AND 8 THEN m.height ELSE m.width END)"
_UPRIGHT_H = "(CASE WHEN m.orientation BETWEEN 5 AND 8 THEN m.width ELSE m.height END)"
_ORIENTATIONS = {"portrait": "<", "landscape": ">", "square": "="}


class _Query(NamedTuple):
    """A condition: the photo ids of ``table`` rows meeting ``where``."""

    table: str  # "photo_meta m"
    column: str  # "m.photo_id"
    where: str
    params: list[object]

    def sql(self, among: str | None = None) -> tuple[str, list[object]]:
        """SELECT of the ids as "pid"; ``among`` (a JSON list of ids): only those, looked
        up one by one (CROSS JOIN: SQLite must start from them, not from an index)."""
        if among is None:
            return f"SELECT {self.column} AS pid FROM {self.table} WHERE {self.where}", self.params
        return (f"SELECT {self.column} AS pid FROM json_each(?) j CROSS JOIN {self.table} "
                f"ON {self.column} = j.value WHERE {self.where}", [among, *self.params])


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _place_match(alias: str, places: Sequence[str]) -> tuple[str, list[object]]:
    """Any of ``places`` is the whole (folded) city, region or country, or the country code."""
    keys = sorted({fold(p) for p in places})
    codes = sorted({k.upper() for k in keys})
    columns = ("place_key", "region_key", "country_key")
    term = " OR ".join(f"{alias}.{c} IN ({_marks(keys)})" for c in columns)
    return f"({term} OR {alias}.country_code IN ({_marks(codes)}))", [*keys * len(columns), *codes]


def _meta_query(f: PhotoFilter, camera_keys: Sequence[str]) -> _Query | None:
    """The photo_meta conditions of ``f`` as one query (None: it has none)."""
    terms: list[str] = []
    params: list[object] = []
    # With a place too, "+" keeps SQLite off the date index: a place is the narrower
    # start far more often than a date range (it has no statistics to tell).
    taken = "+m.taken_local" if f.places else "m.taken_local"
    if f.after:
        terms.append(f"{taken} >= ?")
        params.append(f.after)
    if f.before:
        terms.append(f"{taken} < ?")
        params.append(f.before)
    if f.places:
        term, place_params = _place_match("m", f.places)
        terms.append(term)
        params += place_params
    if f.cameras:
        terms.append("m.camera_key IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(camera_keys)))
    if f.orientation:
        terms.append(f"{_UPRIGHT_W} {_ORIENTATIONS[f.orientation]} {_UPRIGHT_H}")
    if not terms:
        return None
    return _Query("photo_meta m", "m.photo_id", " AND ".join(terms), params)


def _marks_queries(f: PhotoFilter) -> tuple[list[_Query], list[_Query]]:
    """The favourite and rating conditions of ``f``: (ids wanted, ids taken out)."""
    wanted: list[_Query] = []
    unwanted: list[_Query] = []
    if f.favourite is not None:
        (wanted if f.favourite else unwanted).append(_marked("k.favourite = 1"))
    if f.min_rating:
        wanted.append(_marked("k.rating >= ?", f.min_rating))
    if f.exact_rating == 0:
        unwanted.append(_marked("k.rating > 0"))
    elif f.exact_rating is not None:
        wanted.append(_marked("k.rating = ?", f.exact_rating))
    return wanted, unwanted


def _marked(where: str, *params: object) -> _Query:
    return _Query("photo_marks k", "k.photo_id", where, list(params))


def _tags_query(names: Sequence[str], label_set: str | None = None) -> _Query:
    in_set = " AND t.label_set = ?" if label_set else ""
    where = f"t.name IN ({_marks(names)}) AND t.source != 'rejected'" + in_set
    return _Query("tags t", "t.photo_id", where, [*names, *([label_set] if label_set else [])])


class PhotoFilters(PhotoTextStore):
    # -- the photos a filter keeps ------------------------------------------------------
    def filtered_ids(self, f: PhotoFilter) -> np.ndarray:
        """Ids (int64, ascending) of the live indexed photos meeting every condition of ``f``."""
        kept = self._live_ids()
        wanted, unwanted = self._id_queries(f)
        if wanted is None:
            return np.empty(0, np.int64)
        if f.ids is not None:
            allowed = np.asarray(f.ids, np.int64)
            kept = np.unique(allowed[members(kept, allowed)])
        for query_text in f.text:  # every one of them; each is one FTS lookup, ids ascending
            kept = kept[members(self.text_ids(query_text), kept)]
        for query in wanted:  # the narrow ones first: they narrow the next queries
            among = json_ids(kept.tolist()) if len(kept) <= NARROWING else None
            allowed = self._id_set(*query.sql(among))
            kept = np.unique(allowed[members(kept, allowed)])
            if not len(kept):
                return kept
        for query in unwanted:
            among = json_ids(kept.tolist()) if len(kept) <= NARROWING else None
            kept = kept[~members(np.unique(self._id_set(*query.sql(among))), kept)]
        return kept

    def newest_first(self, f: PhotoFilter, limit: int, offset: int = 0, *,
                     kept: np.ndarray | None = None) -> list[Photo]:
        """A page of the photos ``f`` keeps, newest first (taken, else indexed: the
        library view's order), for a query that is only filters. ``kept``: the filter's
        ``filtered_ids`` when the caller has them already (it counts them too)."""
        order = self._newest_order()
        if not f.is_empty():
            order = order[members(self.filtered_ids(f) if kept is None else kept, order)]
        ids = order[offset:offset + limit].tolist()
        rows = {r[0]: photo_from_row(r) for r in self._reader().execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE {_BY_IDS}", (json_ids(ids),))}
        return [rows[i] for i in ids if i in rows]

    # -- a filter as queries --------------------------------------------------------------
    def _id_queries(self, f: PhotoFilter) -> tuple[list[_Query] | None, list[_Query]]:
        """Queries for the ids each condition allows (None: one allows none, as a tag
        nobody has) and for the ids the exclusions take out."""
        wanted: list[_Query] = []
        cameras = self._keys_containing("camera_keys", _CAMERA_KEYS, [fold(c) for c in f.cameras])
        if f.cameras and not cameras:
            return None, []
        for tag in f.tags:  # every one of them
            names = self._tag_names([tag])
            if not names:
                return None, []
            wanted.append(_tags_query(names))
        if f.kinds:  # any of them
            names = self._tag_names(f.kinds)
            if not names:
                return None, []
            wanted.append(_tags_query(names, KINDS_SET))
        if f.folders:
            self._fill_folder_keys()
            keys = self._keys_containing("folder_keys", _FOLDER_KEYS, [f"/{fold(n)}/" for n in f.folders])
            if not keys:
                return None, []
            wanted.append(_Query("photo_folders o", "o.photo_id",
                                 "o.folder_key IN (SELECT value FROM json_each(?))", [json.dumps(keys)]))
        marked, unwanted = _marks_queries(f)
        wanted += marked  # favourites and stars: few photos, most often
        meta = _meta_query(f, cameras)
        if meta is not None:  # last: tags and folders are narrower more often than not
            wanted.append(meta)
        excluded = self._tag_names(f.exclude_tags)
        if excluded:
            unwanted.append(_tags_query(excluded))
        if f.exclude_places:
            term, params = _place_match("m", f.exclude_places)
            unwanted.append(_Query("photo_meta m", "m.photo_id", term, params))
        return wanted, unwanted

    def _keys_containing(self, name: str, sql: str, parts: Sequence[str]) -> list[str]:
        """The distinct stored keys ``sql`` lists (cached) that contain any of ``parts``."""
        if not parts:
            return []
        keys = self._cached(name, lambda db: [r[0] for r in db.execute(sql)])
        return [k for k in keys if any(p in k for p in parts)]

    def _tag_names(self, wanted: Iterable[str]) -> list[str]:
        """The stored tag names that fold to any of ``wanted`` ("Beach" and "beach" for
        "beach"), so the tags index answers an accent- and case-blind match."""
        by_key = self._cached("tag_names", _tag_names_by_key)
        return sorted({n for w in wanted for n in by_key.get(fold(w), ())})



def _tag_names_by_key(db: sqlite3.Connection) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for (name,) in db.execute("SELECT DISTINCT name FROM tags"):
        by_key.setdefault(fold(name), []).append(name)
    return by_key
