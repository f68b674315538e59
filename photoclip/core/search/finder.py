"""Asking by what, when, where and with what: CLIP text beside filters, in one answer.

``Finder.find`` parses the query (``filters.parse_filters``: typed filters such as
``place:Lisbon``, date phrases such as "last summer"), merges the filters the front end
set (pickers, CLI options), and answers in one of three ways:

- only filters: the matching photos, newest first, a page at a time;
- text (and perhaps filters): the true top-k of the filtered set
  (``Searcher.nearest_filtered``; no post-filtered HNSW list that runs dry);
- text with ``sort:date``: the matches above an adaptive relevance cutoff, newest first,
  and how many weaker ones were hidden (``Searcher.by_date``).

A text query also asks the index of the text read in the photos (``catalog/text.py``,
unless ``use_text`` is off): when some allowed photo's text holds the query's words, CLIP's
top ``FUSION_DEPTH`` and the text index's are fused by reciprocal rank fusion (``fuse_ranks``)
and each hit found by its text says what matched (``SearchHit.matched_text``). The score
shown stays the CLIP cosine, a text-only hit's computed for it. No text match (a catalog
with no text at all: one empty FTS lookup, ~0.1 ms): CLIP's answer exactly as without.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..catalog.store import Catalog
from ..catalog.text_search import parse_text_query
from ..files.places import fold
from ..models import Facets, PhotoFilter, SearchHit
from .filters import ParsedQuery, merge, parse_filters
from .query import QueryError, QueryTerm, parse_query
from .searcher import DEFAULT_TOP, Searcher
from .stacks import fold_stacks, mark_stacks

# Album names -> the photo ids they hold (tag, event and smart albums: the organizer knows).
AlbumResolver = Callable[[Iterable[str]], set[int]]
FUSION_DEPTH = 100  # how deep each ranking (CLIP's of the allowed set, the text index's) is fused
LINE_GAP = " · "  # between the photo's lines in matched_text: it is shown on one line
STACK_DEPTH = 3  # results asked per hit shown when stacks fold
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al. 2009): flattens the top ranks


@dataclass(frozen=True)
class FindResult:
    hits: list[SearchHit]
    parsed: ParsedQuery  # the text CLIP saw, the filter in force, the sort, the chips to show
    hidden: int = 0  # sort:date: matches under the adaptive cutoff, not shown
    total: int | None = None  # filter-only queries: how many photos match in all
    stacked: int = 0  # hits folded into the stack of a better-ranked one (search/stacks.py)
    # Filter-only queries' first page: the shape of every photo matched, newest first (the
    # grid lays out rows it has not fetched yet from these; catalog/shapes.py).
    aspects: np.ndarray | None = field(default=None, compare=False, repr=False)
    days: np.ndarray | None = field(default=None, compare=False, repr=False)  # YYYYMMDD, same order


class Finder:
    def __init__(self, catalog: Catalog, searcher: Searcher, albums: AlbumResolver,
                 before_text: Callable[[], None] = lambda: None) -> None:
        self._catalog = catalog
        self._searcher = searcher
        self._albums = albums
        # Called before the words are encoded (the library: "no vectors yet" said up front,
        # rather than a model loaded to search nothing); a filter-only query never calls it.
        self._before_text = before_text

    def find(
        self, query: str, *, filters: PhotoFilter | None = None, sort: str | None = None,
        literal: bool = False, top: int = DEFAULT_TOP, offset: int = 0,
        min_score: float | None = None, cwd: Path | None = None, use_text: bool = True,
        stacks: str | None = None,
    ) -> FindResult:
        """``stacks``: the tier ("near", "similar") whose groups fold into one hit; a
        filter-only list (newest first, paged, counted) is marked with them, not folded."""
        asked = {"filters": filters, "sort": sort, "literal": literal, "min_score": min_score,
                 "cwd": cwd, "use_text": use_text}
        if stacks is None:
            return self._find(query, top=top, offset=offset, **asked)
        stacks_of = lambda ids: self._catalog.stacks_of(ids, stacks)  # noqa: E731
        # Enough to fill the page once a few stacks have folded (a burst of 10 folds 9).
        result = self._find(query, top=(offset + top) * STACK_DEPTH, offset=0, **asked)
        if result.total is not None:
            result = self._find(query, top=top, offset=offset, **asked)
            return replace(result, hits=mark_stacks(result.hits, stacks_of))
        hits, folded = fold_stacks(result.hits, stacks_of)
        return replace(result, hits=hits[offset:offset + top], stacked=folded)

    def _find(
        self, query: str, *, filters: PhotoFilter | None, sort: str | None, literal: bool,
        top: int, offset: int, min_score: float | None, cwd: Path | None, use_text: bool,
    ) -> FindResult:
        parsed = parse_filters(query, literal=literal)
        wanted = merge(parsed.filter, filters) if filters is not None else parsed.filter
        parsed = replace(parsed, filter=wanted, sort=sort or parsed.sort)
        allowed_filter = self._with_albums_resolved(wanted)
        if not parsed.text.strip():
            if wanted.is_empty():
                raise QueryError("the query is empty")
            result = self._newest_first(parsed, allowed_filter, top, offset)
            return replace(result, hits=self._with_text_filter_lines(result.hits, wanted.text))
        self._before_text()
        terms = parse_query(parsed.text, cwd)
        vector = self._searcher.query_vector(terms)
        exclude = {p.id for t in terms if t.image and (p := self._catalog.photo_by_path(t.image))}
        allowed = None if allowed_filter.is_empty() else self._catalog.filtered_ids(allowed_filter)
        if allowed is not None and exclude:
            allowed = allowed[~np.isin(allowed, list(exclude))]
        if parsed.sort == "date":
            hits, hidden = self._searcher.by_date(vector, allowed, offset + top)
            return FindResult(self._with_text_filter_lines(hits[offset:offset + top], wanted.text),
                              parsed, hidden)
        fused = self._fused(terms, vector, allowed, exclude, offset + top) if use_text else None
        if fused is not None:
            hits = [h for h in fused if min_score is None or h.score >= min_score][offset:offset + top]
            return FindResult(self._with_text_filter_lines(hits, wanted.text), parsed)
        if allowed is None:
            hits = self._searcher.nearest(vector, offset + top, min_score, exclude)
        else:
            hits = self._searcher.nearest_filtered(vector, allowed, offset + top, min_score)
        return FindResult(self._with_text_filter_lines(hits[offset:], wanted.text), parsed)

    def _fused(self, terms: list[QueryTerm], vector: np.ndarray, allowed: np.ndarray | None,
               exclude: set[int], want: int) -> list[SearchHit] | None:
        """CLIP's and the text index's rankings fused, best first; None when no allowed
        photo's text matches the query's words (then CLIP's ranking is the answer)."""
        # The words of the query's positive text terms; a quote left here is a stray one
        # (parse_filters took the pairs): for the text side it is no syntax, only a gap.
        words = " ".join(t.text for t in terms if t.image is None and t.weight > 0).replace('"', " ")
        depth = max(FUSION_DEPTH, want)
        matches = self._text_matches(words, allowed, exclude, depth)
        if not matches:
            return None
        if allowed is None:
            clip = self._searcher.nearest(vector, depth, None, exclude)
        else:
            clip = self._searcher.nearest_filtered(vector, allowed, depth)
        by_id = {hit.photo.id: hit for hit in clip}
        text_only = np.array([pid for pid in matches if pid not in by_id], np.int64)
        if len(text_only):  # their cosines, for the score shown (and the files checked)
            scored = self._searcher.nearest_filtered(vector, text_only, len(text_only))
            by_id.update((hit.photo.id, hit) for hit in scored)
        order = fuse_ranks([[hit.photo.id for hit in clip], list(matches)])
        return [replace(by_id[i], matched_text=matches.get(i)) for i in order if i in by_id]

    def _text_matches(self, words: str, allowed: np.ndarray | None, exclude: set[int],
                      depth: int) -> dict[int, str]:
        """The best ``depth`` allowed photos whose text matches ``words``: id -> snippet,
        best first. Asks the index for more while the filter leaves too few of them."""
        limit = depth
        while True:
            found = self._catalog.text_matches(words, limit)
            ids = np.array([pid for pid, _, _ in found], np.int64)
            keep = ~np.isin(ids, list(exclude)) if exclude else np.ones(len(ids), bool)
            if allowed is not None:
                keep &= np.isin(ids, allowed)
            kept = {pid: one_line(snippet) for (pid, _, snippet), ok in zip(found, keep, strict=True) if ok}
            if len(kept) >= depth or len(found) < limit:
                return dict(list(kept.items())[:depth])
            limit *= 4

    def _with_text_filter_lines(self, hits: list[SearchHit], queries: Sequence[str]) -> list[SearchHit]:
        """Hits kept by a ``text:`` filter say what of their text matched it (their lines
        holding its words), unless the fusion said already."""
        if not queries or not hits:
            return hits
        terms = [fold(t.text) for q in queries for t in parse_text_query(q).terms]
        texts = self._catalog.text_of(h.photo.id for h in hits if h.matched_text is None)
        matching = {pid: [line for line, _, _ in stored.lines if any(t in fold(line) for t in terms)]
                    for pid, stored in texts.items()}
        lines = {pid: LINE_GAP.join(found) for pid, found in matching.items() if found}
        return [replace(h, matched_text=lines.get(h.photo.id)) if h.photo.id in lines else h for h in hits]

    def _newest_first(self, parsed: ParsedQuery, allowed: PhotoFilter, top: int,
                      offset: int) -> FindResult:
        kept = self._catalog.filtered_ids(allowed)  # once: the page and the count
        photos = self._catalog.newest_first(allowed, top, offset, kept=kept)
        aspects, days = self._catalog.listing_shapes(allowed, kept=kept) if offset == 0 else (None, None)
        return FindResult([SearchHit(p, 0.0) for p in photos], parsed, total=len(kept),
                          aspects=aspects, days=days)

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


def fuse_ranks(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: the ids of all ``rankings`` (each best first) by the sum of
    1 / (k + rank) over the rankings that hold them; a tie keeps the earlier ranking's order."""
    fused: dict[int, float] = {}
    first_seen: dict[int, tuple[int, int]] = {}
    for which, ranking in enumerate(rankings):
        for rank, pid in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (k + rank)
            first_seen.setdefault(pid, (rank, which))
    return sorted(fused, key=lambda pid: (-fused[pid], first_seen[pid]))


def one_line(snippet: str) -> str:
    """A text index snippet (the photo's lines, "…" where text was left out) on one line."""
    return LINE_GAP.join(line.strip() for line in snippet.splitlines() if line.strip())
