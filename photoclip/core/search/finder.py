"""Asking by what, when, where and with what: CLIP text beside filters, in one answer.

``Finder.find`` parses the query (``filters.parse_filters``: typed filters such as
``place:Lisbon``, date phrases such as "last summer"), merges the filters the front end
set (pickers, CLI options), and answers in one of three ways:

- only filters: the matching photos, newest first, a page at a time;
- text (and perhaps filters): the true top-k of the filtered set
  (``Searcher.nearest_filtered``; no post-filtered HNSW list that runs dry);
- text with ``sort:date``: the matches above an adaptive relevance cutoff, newest first,
  and how many weaker ones were hidden (``Searcher.by_date``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..catalog.store import Catalog
from ..models import Facets, PhotoFilter, SearchHit
from .filters import ParsedQuery, merge, parse_filters
from .query import QueryError, parse_query
from .searcher import DEFAULT_TOP, Searcher

# Album names -> the photo ids they hold (tag, event and smart albums: the organizer knows).
AlbumResolver = Callable[[Iterable[str]], set[int]]


@dataclass(frozen=True)
class FindResult:
    hits: list[SearchHit]
    parsed: ParsedQuery  # the text CLIP saw, the filter in force, the sort, the chips to show
    hidden: int = 0  # sort:date: matches under the adaptive cutoff, not shown
    total: int | None = None  # filter-only queries: how many photos match in all


class Finder:
    def __init__(self, catalog: Catalog, searcher: Searcher, albums: AlbumResolver) -> None:
        self._catalog = catalog
        self._searcher = searcher
        self._albums = albums

    def find(
        self, query: str, *, filters: PhotoFilter | None = None, sort: str | None = None,
        literal: bool = False, top: int = DEFAULT_TOP, offset: int = 0,
        min_score: float | None = None, cwd: Path | None = None,
    ) -> FindResult:
        parsed = parse_filters(query, literal=literal)
        wanted = merge(parsed.filter, filters) if filters is not None else parsed.filter
        parsed = replace(parsed, filter=wanted, sort=sort or parsed.sort)
        allowed_filter = self._with_albums_resolved(wanted)
        if not parsed.text.strip():
            if wanted.is_empty():
                raise QueryError("the query is empty")
            return self._newest_first(parsed, allowed_filter, top, offset)
        terms = parse_query(parsed.text, cwd)
        vector = self._searcher.query_vector(terms)
        exclude = {p.id for t in terms if t.image and (p := self._catalog.photo_by_path(t.image))}
        allowed = None if allowed_filter.is_empty() else self._catalog.filtered_ids(allowed_filter)
        if allowed is not None and exclude:
            allowed = allowed[~np.isin(allowed, list(exclude))]
        if parsed.sort == "date":
            hits, hidden = self._searcher.by_date(vector, allowed, offset + top)
            return FindResult(hits[offset:offset + top], parsed, hidden)
        if allowed is None:
            hits = self._searcher.nearest(vector, offset + top, min_score, exclude)
        else:
            hits = self._searcher.nearest_filtered(vector, allowed, offset + top, min_score)
        return FindResult(hits[offset:], parsed)

    def _newest_first(self, parsed: ParsedQuery, allowed: PhotoFilter, top: int,
                      offset: int) -> FindResult:
        photos = self._catalog.newest_first(allowed, top, offset)
        total = len(self._catalog.filtered_ids(allowed))
        return FindResult([SearchHit(p, 0.0) for p in photos], parsed, total=total)

    def _with_albums_resolved(self, wanted: PhotoFilter) -> PhotoFilter:
        """Albums become an allow-list of ids (a smart album is a saved search)."""
        if not wanted.albums:
            return wanted
        members = self._albums(wanted.albums)
        if wanted.ids is not None:
            members &= set(wanted.ids)
        return replace(wanted, albums=(), ids=tuple(sorted(members)))

    def facets(self, wanted: PhotoFilter) -> Facets:
        """How many photos each value holds under ``wanted`` (albums resolved first)."""
        allowed = self._with_albums_resolved(wanted)
        catalog = self._catalog
        return Facets(
            months=tuple(catalog.month_counts(allowed)), places=tuple(catalog.place_counts(allowed)),
            cameras=tuple(catalog.camera_counts(allowed)),
            folders=tuple(catalog.folder_name_counts(allowed)), tags=tuple(catalog.tag_name_counts(allowed)),
            kinds=tuple(catalog.kind_counts(allowed)),
        )
