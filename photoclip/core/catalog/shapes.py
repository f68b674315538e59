"""The shape of each photo as the grid shows it: width over height, upright (the stored
size is after EXIF orientation) and turned by the user's rotation (photo_marks); and
the wall-clock day it was taken, as YYYYMMDD (the timeline's sections). The grid's
justified rows are laid out from these before any page of photos has arrived, so a
100,000-photo library gives them all in one read. Mixed into ``Catalog``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import PhotoFilter
from .meta import members
from .meta_filters import PhotoFilters

UNKNOWN_ASPECT = 1.0  # a photo whose size is not known yet: a square
NO_DAY = 0  # a photo with no capture date
# The day as the timeline names it: the photographer's wall clock (photo_meta), else the
# capture time read as this computer's local time (as timeline.header_text does).
_DAY = ("COALESCE(CAST(replace(substr(m.taken_local, 1, 10), '-', '') AS INTEGER), "
        "CAST(strftime('%Y%m%d', p.taken_at, 'unixepoch', 'localtime') AS INTEGER), 0)")
# Read in one string from SQLite, not a row each: ~4x faster at 100,000 photos.
_SHAPES_SQL = (
    "SELECT group_concat(p.id || ',' || COALESCE(p.width, 0) || ',' || COALESCE(p.height, 0) || ',' "
    f"|| COALESCE(k.rotation, 0) || ',' || {_DAY}) FROM photos p "
    "LEFT JOIN photo_marks k ON k.photo_id = p.id LEFT JOIN photo_meta m ON m.photo_id = p.id "
    "WHERE p.state = 'indexed' AND p.deleted_at IS NULL")


class PhotoShapes(PhotoFilters):
    def aspects_of(self, photo_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Width over height of each of ``photo_ids`` as shown (float32, in their order);
        ``UNKNOWN_ASPECT`` for a photo not indexed or without a size."""
        ids, aspects, _ = self._shapes()
        return _look_up(ids, aspects, photo_ids, UNKNOWN_ASPECT)

    def days_of(self, photo_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The day each of ``photo_ids`` was taken, YYYYMMDD (int32, in their order);
        ``NO_DAY`` for one without a date."""
        ids, _, days = self._shapes()
        return _look_up(ids, days, photo_ids, NO_DAY)

    def listing_shapes(self, f: PhotoFilter, *, kept: np.ndarray | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(aspects, days) of the photos ``f`` keeps, newest first: the order of the
        library view (``newest_photos``) and of a filter-only query's pages
        (``newest_first``), filtered once for both. ``kept``: the filter's
        ``filtered_ids`` when the caller has them already."""
        order = self._listing(f, kept)
        return self.aspects_of(order), self.days_of(order)

    def _listing(self, f: PhotoFilter, kept: np.ndarray | None) -> np.ndarray:
        order = self._newest_order()
        if not f.is_empty():
            order = order[members(self.filtered_ids(f) if kept is None else kept, order)]
        return order

    def _shapes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ascending ids, their aspects, their days), kept per thread until any commit."""
        def compute(db: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            joined = self._reader().execute(_SHAPES_SQL).fetchone()[0]
            if not joined:
                return np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.int32)
            table = np.fromstring(joined, dtype=np.int64, sep=",").reshape(-1, 5)
            table = table[np.argsort(table[:, 0], kind="stable")]
            width, height = table[:, 1].astype(np.float64), table[:, 2].astype(np.float64)
            turned = table[:, 3] % 2 == 1  # a quarter turn swaps the sides
            width, height = np.where(turned, height, width), np.where(turned, width, height)
            known = (width > 0) & (height > 0)
            aspects = np.full(len(table), UNKNOWN_ASPECT, dtype=np.float32)
            aspects[known] = width[known] / height[known]
            return table[:, 0].copy(), aspects, table[:, 4].astype(np.int32)
        return self._cached("shapes", compute)


def _look_up(ids: np.ndarray, values: np.ndarray, wanted_ids: Sequence[int] | np.ndarray,
             missing: float) -> np.ndarray:
    """``values`` (one per ascending ``ids``) of each of ``wanted_ids``; ``missing`` else."""
    wanted = np.asarray(wanted_ids, dtype=np.int64)
    found = np.full(len(wanted), missing, dtype=values.dtype)
    if not len(ids) or not len(wanted):
        return found
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    hit = ids[at] == wanted
    found[hit] = values[at[hit]]
    return found
