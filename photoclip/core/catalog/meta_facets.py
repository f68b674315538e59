"""Facet counts for the filter bar and the Places sidebar: how many of the photos a
filter keeps fall in each month, place, camera, folder name and tag.

Mixed into ``Catalog``. Each facet's groups and their photo ids are read once (one
``GROUP BY`` with ``group_concat``) and kept per thread until the database changes;
a count is then a numpy membership test of those ids against the filter's kept ids,
so moving a filter re-counts in milliseconds. Pass the filter without the facet's own
condition to list the choices beside the current one (the month histogram under a
date range, every place while one is chosen).
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import numpy as np

from ..files.places import fold
from ..models import PhotoFilter, PhotoMeta
from .meta_filters import PhotoFilters, members

_GROUPS = {  # facet -> SELECT of (labels..., group_concat of photo ids)
    "months": "SELECT substr(taken_local, 1, 7), group_concat(photo_id) FROM photo_meta "
              "WHERE taken_local IS NOT NULL GROUP BY 1",
    "places": "SELECT country, region, city, group_concat(photo_id) FROM photo_meta "
              "WHERE country IS NOT NULL OR city IS NOT NULL GROUP BY 1, 2, 3",
    "cameras": "SELECT camera_make, camera_model, group_concat(photo_id) FROM photo_meta "
               "WHERE camera_make IS NOT NULL OR camera_model IS NOT NULL GROUP BY 1, 2",
    "folders": "SELECT folder_names, group_concat(photo_id) FROM photo_folders "
               "WHERE folder_names IS NOT NULL GROUP BY 1",
    "tags": "SELECT name, group_concat(photo_id) FROM tags WHERE source != 'rejected' GROUP BY 1",
    "kinds": "SELECT name, group_concat(photo_id) FROM tags WHERE source = 'auto' "
             "AND label_set = 'kinds' GROUP BY 1",
}
_Groups = tuple[list[tuple], np.ndarray, np.ndarray]  # labels, photo ids, each id's label index


class PhotoFacets(PhotoFilters):
    def month_counts(self, f: PhotoFilter) -> list[tuple[str, int]]:
        """("YYYY-MM", photos) for each month the kept photos were taken in, oldest first."""
        return sorted((label[0], n) for label, n in self._facet("months", f))

    def place_counts(self, f: PhotoFilter) -> list[tuple[str | None, str | None, str | None, int]]:
        """(country, region, city, photos) of the kept photos that have a place, most first."""
        rows = [(*label, n) for label, n in self._facet("places", f)]
        return sorted(rows, key=lambda r: (-r[3], *(x or "" for x in r[:3])))

    def camera_counts(self, f: PhotoFilter) -> list[tuple[str, int]]:
        """(camera, photos) of the kept photos, most first, named as ``PhotoMeta.camera``
        names it ("Google Pixel 7")."""
        counts: Counter[str] = Counter()
        for (make, model), n in self._facet("cameras", f):
            name = PhotoMeta(camera_make=make, camera_model=model).camera
            if name:
                counts[name] += n
        return _most_first(counts)

    def folder_name_counts(self, f: PhotoFilter) -> list[tuple[str, int]]:
        """(folder name, photos) for each folder name on the kept photos' paths (the
        library folder's own name included), most first. Not ``folder_counts``: that is
        the sidebar's photos per library folder and state."""
        self._fill_folder_keys()
        counts: Counter[str] = Counter()
        shown: dict[str, str] = {}  # folded name -> the spelling first met
        for (names,), n in self._facet("folders", f):
            for name in {shown.setdefault(fold(part), part) for part in names.split("/") if part}:
                counts[name] += n
        return _most_first(counts)

    def tag_name_counts(self, f: PhotoFilter) -> list[tuple[str, int]]:
        """(tag, photos) of the kept photos' tags (user and auto, not rejected), most first.
        Not ``tag_counts``: that is every tag's count in the library, with no filter."""
        return _most_first(Counter({label[0]: n for label, n in self._facet("tags", f)}))

    def kind_counts(self, f: PhotoFilter) -> list[tuple[str, int]]:
        """(kind, photos) of the kept photos by the ``kinds`` label set's auto tags."""
        return _most_first(Counter({label[0]: n for label, n in self._facet("kinds", f)}))

    def _facet(self, facet: str, f: PhotoFilter) -> list[tuple[tuple, int]]:
        """(labels, photos kept) of each of the facet's groups holding a kept photo."""
        kept = self.filtered_ids(f)
        labels, ids, group = self._cached(f"facet:{facet}", lambda db: _groups(db.execute(_GROUPS[facet])))
        if not len(kept) or not len(ids):
            return []
        counts = np.bincount(group[members(kept, ids)], minlength=len(labels))
        return [(labels[i], int(n)) for i, n in enumerate(counts) if n]


def _groups(rows: sqlite3.Cursor) -> _Groups:
    labels: list[tuple] = []
    parts: list[np.ndarray] = []
    for row in rows:
        labels.append(tuple(row[:-1]))
        parts.append(np.fromstring(row[-1], dtype=np.int64, sep=","))
    if not parts:
        return labels, np.empty(0, np.int64), np.empty(0, np.int64)
    group = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    return labels, np.concatenate(parts), group


def _most_first(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
