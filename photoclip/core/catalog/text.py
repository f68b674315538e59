"""Catalog SQL for the text read in photos (``photo_text``) and finding photos by it.

Mixed into ``Catalog``. The OCR engine's results come in as plain values (lines of
(text, box, confidence) and the engine's name and version), so the catalog does not
depend on the engine. Each photo read gets a row, one with no lines too, so the
background pass (``photos_missing_text``) never reads it again until the engine or the
photo's content changes. Two FTS5 indexes over the text, kept in step by triggers
(migration 7): words (diacritics folded) for words, prefixes and phrases, trigrams for
substrings of codes and numbers. Queries are parsed in ``text_search``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .meta import PhotoMetaStore, json_ids, members
from .records import path_from_key
from .text_search import TextQuery, parse_text_query

Box = tuple[tuple[float, float], ...]
Line = tuple[str, Box, float]  # (text, box corners as fractions of the picture, confidence 0..1)
BOX_SLACK = 0.25  # how far past the frame a stored box corner may lie, as a fraction
SNIPPET_TOKENS = 12  # words of context in a match's snippet
_UPSERT = (
    "INSERT INTO photo_text(photo_id, engine, content_hash, read_at, lines, full_text) "
    "SELECT id, ?, content_hash, ?, ?, ? FROM photos WHERE id = ? "
    "ON CONFLICT(photo_id) DO UPDATE SET engine = excluded.engine, "
    "content_hash = excluded.content_hash, read_at = excluded.read_at, "
    "lines = excluded.lines, full_text = excluded.full_text"
)


class StoredText(NamedTuple):
    engine: str
    read_at: float
    lines: list[Line]


def _line(value: object) -> Line:
    """One stored line, checked: a row is only trusted once its JSON has the right shape."""
    text, box, confidence = value  # type: ignore[misc]
    if not isinstance(text, str) or not isinstance(confidence, (int, float)):
        raise ValueError("a text line is not (text, box, confidence)")
    corners = tuple((float(x), float(y)) for x, y in box)
    # Fractions of the picture; a box may stick out a little past the frame, no further.
    if len(corners) != 4 or not all(-BOX_SLACK <= v <= 1 + BOX_SLACK for corner in corners for v in corner):
        raise ValueError("a text box is not 4 corners within the picture")
    return text, corners, float(confidence)


def _lines(stored: str) -> list[Line] | None:
    """The lines of a row's JSON, or None when they are not lines (the row is ignored)."""
    try:
        values = json.loads(stored)
        return [_line(v) for v in values] if isinstance(values, list) else None
    except (ValueError, TypeError):
        return None


def _row_values(photo_id: int, lines: Sequence[Line], engine: str, now: float) -> tuple[object, ...]:
    cleaned = [(t.strip(), [[float(x), float(y)] for x, y in box], float(c))
               for t, box, c in lines if t.strip()]
    full_text = "\n".join(t for t, _, _ in cleaned)
    return engine, now, json.dumps(cleaned, ensure_ascii=False), full_text, int(photo_id)


class PhotoTextStore(PhotoMetaStore):
    # -- writing -----------------------------------------------------------------------
    def save_text(self, photo_id: int, lines: Sequence[Line], engine: str) -> None:
        """Store (or replace) the text read in a photo; no lines: read, nothing written."""
        self.save_text_many([(photo_id, lines, engine)])

    def save_text_many(self, items: Iterable[tuple[int, Sequence[Line], str]]) -> None:
        """Store a batch in one write transaction (the indexes follow in it, by trigger).
        A photo gone meanwhile is skipped: its row would have nothing to belong to."""
        now = time.time()
        rows = [_row_values(pid, lines, engine, now) for pid, lines, engine in items]
        with self._transaction() as db:
            db.executemany(_UPSERT, rows)

    # -- reading -----------------------------------------------------------------------
    def text_of(self, photo_ids: Iterable[int]) -> dict[int, StoredText]:
        """The stored text of those of ``photo_ids`` that were read (a row whose lines
        do not read as lines is left out, as if never read)."""
        rows = self._reader().execute(
            "SELECT photo_id, engine, read_at, lines FROM photo_text "
            "WHERE photo_id IN (SELECT value FROM json_each(?))", (json_ids(photo_ids),))
        found = {pid: (engine, read_at, _lines(lines)) for pid, engine, read_at, lines in rows}
        return {pid: StoredText(e, r, lines) for pid, (e, r, lines) in found.items() if lines is not None}

    def photos_missing_text(self, limit: int, engine: str) -> list[tuple[int, Path]]:
        """(id, path) of up to ``limit`` live indexed photos not read by ``engine`` as
        they are now (never read, read by another engine or version, or changed since),
        newest first: the text pass's resumable work list (each saved batch drops out)."""
        ids = self._missing_text(engine)[:limit].tolist()
        rows = dict(self._reader().execute(
            "SELECT id, path FROM photos WHERE id IN (SELECT value FROM json_each(?))", (json_ids(ids),)))
        return [(i, path_from_key(rows[i])) for i in ids]

    def count_missing_text(self, engine: str) -> int:
        """How many photos ``photos_missing_text`` has left (the text pass's progress)."""
        return len(self._missing_text(engine))

    def _missing_text(self, engine: str) -> np.ndarray:
        order = self._newest_order()
        current = self._id_set(
            "SELECT t.photo_id AS pid FROM photo_text t JOIN photos p ON p.id = t.photo_id "
            "WHERE t.engine = ? AND t.content_hash IS p.content_hash", (engine,))
        return order[~members(np.sort(current), order)]

    # -- finding -----------------------------------------------------------------------
    def text_matches(self, query: str, limit: int) -> list[tuple[int, float, str]]:
        """(photo id, score, snippet) of the live photos whose text matches ``query``, best
        first; the score is higher for better matches (-bm25). Whole words, prefixes and
        phrases rank above matches found only inside longer text (codes, numbers). Raises
        ``TextQueryError`` for a query that cannot be read; no terms: no matches."""
        parsed = parse_text_query(query)
        if not parsed.terms or limit <= 0:
            return []
        found = self._word_matches(parsed, limit)
        if len(found) < limit and parsed.substring_expression():
            floor = min((score for _, score, _ in found), default=1.0)
            seen = {pid for pid, _, _ in found}
            found += [(pid, floor * s / (1 + s), snippet)  # below every whole-word match
                      for pid, s, snippet in self._substring_matches(parsed, limit + len(seen))
                      if pid not in seen][:limit - len(found)]
        return found

    def text_ids(self, query: str) -> np.ndarray:
        """Ascending ids of the live photos whose text matches ``query`` (the ``text:``
        filter); the same matches as ``text_matches``, unranked and unlimited."""
        parsed = parse_text_query(query)
        if not parsed.terms:
            return np.empty(0, np.int64)
        ids = self._id_set("SELECT rowid AS pid FROM photo_text_words WHERE photo_text_words MATCH ?",
                           (parsed.words_expression(),))
        if parsed.substring_expression():
            sql, params = self._substring_sql(parsed, "rowid AS pid")
            ids = np.concatenate([ids, self._id_set(sql, params)])
        return self._only_live(np.unique(ids))

    def _only_live(self, ids: np.ndarray) -> np.ndarray:
        # In numpy against the cached live ids, not by a join: a join looks up a photo
        # row for each match (a common word matches thousands: ~4 ms of 6 at 100,000).
        return ids[members(self._live_ids(), ids)]

    def _word_matches(self, parsed: TextQuery, limit: int) -> list[tuple[int, float, str]]:
        return self._ranked_live(
            "SELECT rowid, -bm25(photo_text_words), "
            f"snippet(photo_text_words, 0, '', '', '…', {SNIPPET_TOKENS}) FROM photo_text_words "
            "WHERE photo_text_words MATCH ? ORDER BY bm25(photo_text_words), rowid LIMIT ?",
            (parsed.words_expression(),), limit)

    def _substring_matches(self, parsed: TextQuery, limit: int) -> list[tuple[int, float, str]]:
        sql, params = self._substring_sql(
            parsed, "rowid, -bm25(photo_text_grams), "
                    f"snippet(photo_text_grams, 0, '', '', '…', {SNIPPET_TOKENS * 4})")
        return self._ranked_live(f"{sql} ORDER BY bm25(photo_text_grams), rowid LIMIT ?", params, limit)

    def _ranked_live(self, sql: str, params: tuple[str, ...], limit: int) -> list[tuple[int, float, str]]:
        """The first ``limit`` live rows of ``sql`` (ranked, LIMIT last): asked for a few
        more than ``limit`` for the trashed ones among them, and for all if still short."""
        asked = limit + 16
        while True:
            rows = self._reader().execute(sql, (*params, asked)).fetchall()
            ids = np.array([r[0] for r in rows], np.int64)
            kept = [(pid, float(score), snippet)
                    for (pid, score, snippet), live in zip(rows, members(self._live_ids(), ids), strict=True)
                    if live]
            if len(kept) >= limit or len(rows) < asked or asked < 0:
                return kept[:limit]
            asked = -1  # no LIMIT

    @staticmethod
    def _substring_sql(parsed: TextQuery, columns: str) -> tuple[str, tuple[str, ...]]:
        """The photos holding every long plain term as a substring and matching the
        other terms (prefixes, phrases, short words) in the words index."""
        sql = f"SELECT {columns} FROM photo_text_grams WHERE photo_text_grams MATCH ?"
        rest = parsed.rest_expression()
        if not rest:
            return sql, (parsed.substring_expression(),)
        return (sql + " AND rowid IN (SELECT rowid FROM photo_text_words WHERE photo_text_words MATCH ?)",
                (parsed.substring_expression(), rest))
