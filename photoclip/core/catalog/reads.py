"""Catalog SQL that reads photos, vectors and counts (the library view, search, status).

Mixed into ``Catalog``. Reads run on the calling thread's own connection, so they
never wait for the writer (WAL).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..models import Failure, Photo, PhotoState
from .connections import CatalogConnections
from .records import LIVE, PHOTO_COLUMNS, blob_to_vector, path_from_key, path_key, photo_from_row

# The library view. INDEXED BY: with the state index beside it, SQLite's planner
# would otherwise filter by state and sort every photo for every page.
NEWEST_SQL = (
    f"SELECT {PHOTO_COLUMNS} FROM photos INDEXED BY photos_newest "
    f"WHERE state = 'indexed' AND {LIVE} "
    "ORDER BY COALESCE(taken_at, indexed_at) DESC, id DESC LIMIT ? OFFSET ?"
)


class PhotoReads(CatalogConnections):
    """Typed reads of photo rows, their vectors and the counts the views show."""

    def photo(self, photo_id: int) -> Photo | None:
        row = self._reader().execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return photo_from_row(row) if row else None

    def photo_by_path(self, path: Path) -> Photo | None:
        row = self._reader().execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path = ?", (path_key(path),)
        ).fetchone()
        return photo_from_row(row) if row else None

    def photos_by_ids(self, ids: Sequence[int]) -> dict[int, Photo]:
        found: dict[int, Photo] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._reader().execute(
                f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({marks}) AND {LIVE}", chunk
            ):
                found[row[0]] = photo_from_row(row)
        return found

    def newest_photos(self, limit: int, offset: int = 0) -> list[Photo]:
        """Indexed photos, newest first (taken date, else when indexed): the library view."""
        rows = self._reader().execute(NEWEST_SQL, (limit, offset))
        return [photo_from_row(r) for r in rows]

    def vector(self, photo_id: int, model_id: str) -> np.ndarray | None:
        row = self._reader().execute(
            "SELECT embedding FROM photos WHERE id = ? AND model_id = ? AND embedding IS NOT NULL",
            (photo_id, model_id),
        ).fetchone()
        return blob_to_vector(row[0]) if row else None

    def photos_with_hash(self, content_hash: str, model_id: str) -> list[Photo]:
        rows = self._reader().execute(
            # Pending rows count too: during --reindex every row is pending, and a
            # pending row's vector still belongs to its recorded content_hash.
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE content_hash = ? AND model_id = ? "
            "AND embedding IS NOT NULL ORDER BY id",
            (content_hash, model_id),
        )
        return [photo_from_row(r) for r in rows]

    def all_vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every indexed photo made by ``model_id``: the index's source."""
        rows = self._reader().execute(
            "SELECT id, embedding FROM photos WHERE state = 'indexed' AND model_id = ? "
            f"AND embedding IS NOT NULL AND {LIVE} ORDER BY id", (model_id,),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.empty((0, 0), dtype=np.float32)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), -1)

    def vector_dim(self, model_id: str) -> int | None:
        row = self._reader().execute(
            "SELECT length(embedding) FROM photos WHERE model_id = ? AND embedding IS NOT NULL "
            "LIMIT 1", (model_id,),
        ).fetchone()
        return row[0] // 4 if row else None  # float32

    def state_counts(self) -> dict[PhotoState, int]:
        counts = {state: 0 for state in PhotoState}
        for state, count in self._reader().execute(
            f"SELECT state, COUNT(*) FROM photos WHERE {LIVE} GROUP BY state"
        ):
            counts[PhotoState(state)] = count
        return counts

    def folder_counts(self) -> dict[int, dict[PhotoState, int]]:
        """Photos per folder and state (the sidebar's "1,204 photos, 30 to index")."""
        counts: dict[int, dict[PhotoState, int]] = {}
        for folder_id, state, count in self._reader().execute(
            f"SELECT folder_id, state, COUNT(*) FROM photos WHERE {LIVE} GROUP BY folder_id, state"
        ):
            counts.setdefault(folder_id, {s: 0 for s in PhotoState})[PhotoState(state)] = count
        return counts

    def count_other_models(self, model_id: str) -> int:
        """Indexed photos whose vector came from another model (need re-encoding)."""
        return self._reader().execute(
            f"SELECT COUNT(*) FROM photos WHERE state = 'indexed' AND model_id != ? AND {LIVE}",
            (model_id,),
        ).fetchone()[0]

    def failures(self) -> list[Failure]:
        rows = self._reader().execute(
            f"SELECT path, failure_reason FROM photos WHERE state = 'failed' AND {LIVE} ORDER BY path"
        )
        return [Failure(path_from_key(r[0]), r[1] or "unknown") for r in rows]
