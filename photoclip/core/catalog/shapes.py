"""The shape of each photo as the grid shows it: width over height, upright (the stored
size is after EXIF orientation) and turned by the user's rotation (photo_marks). The
grid's justified rows are laid out from these before any page of photos has arrived,
so a 100,000-photo library gives them all in one read. Mixed into ``Catalog``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import PhotoFilter
from .meta import members
from .meta_filters import PhotoFilters

UNKNOWN_ASPECT = 1.0  # a photo whose size is not known yet: a square
# Read in one string from SQLite, not a row each: ~4x faster at 100,000 photos.
_SHAPES_SQL = (
    "SELECT group_concat(p.id || ',' || COALESCE(p.width, 0) || ',' || COALESCE(p.height, 0) || ',' "
    "|| COALESCE(k.rotation, 0)) FROM photos p LEFT JOIN photo_marks k ON k.photo_id = p.id "
    "WHERE p.state = 'indexed' AND p.deleted_at IS NULL")


class PhotoShapes(PhotoFilters):
    def aspects_of(self, photo_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Width over height of each of ``photo_ids`` as shown (float32, in their order);
        ``UNKNOWN_ASPECT`` for a photo not indexed or without a size."""
        ids, aspects = self._shapes()
        wanted = np.asarray(photo_ids, dtype=np.int64)
        found = np.full(len(wanted), UNKNOWN_ASPECT, dtype=np.float32)
        if not len(ids) or not len(wanted):
            return found
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        hit = ids[at] == wanted
        found[hit] = aspects[at[hit]]
        return found

    def listing_aspects(self, f: PhotoFilter, *, kept: np.ndarray | None = None) -> np.ndarray:
        """The aspects of the photos ``f`` keeps, newest first: the order of the library
        view (``newest_photos``) and of a filter-only query's pages (``newest_first``).
        ``kept``: the filter's ``filtered_ids`` when the caller has them already."""
        order = self._newest_order()
        if not f.is_empty():
            order = order[members(self.filtered_ids(f) if kept is None else kept, order)]
        return self.aspects_of(order)

    def _shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ascending ids, their aspects), kept per thread until any commit."""
        def compute(db: object) -> tuple[np.ndarray, np.ndarray]:
            joined = self._reader().execute(_SHAPES_SQL).fetchone()[0]
            if not joined:
                return np.empty(0, np.int64), np.empty(0, np.float32)
            table = np.fromstring(joined, dtype=np.int64, sep=",").reshape(-1, 4)
            table = table[np.argsort(table[:, 0], kind="stable")]
            width, height = table[:, 1].astype(np.float64), table[:, 2].astype(np.float64)
            turned = table[:, 3] % 2 == 1  # a quarter turn swaps the sides
            width, height = np.where(turned, height, width), np.where(turned, width, height)
            known = (width > 0) & (height > 0)
            aspects = np.full(len(table), UNKNOWN_ASPECT, dtype=np.float32)
            aspects[known] = width[known] / height[known]
            return table[:, 0].copy(), aspects
        return self._cached("shapes", compute)
