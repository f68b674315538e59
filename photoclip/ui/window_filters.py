"""The main window's filters: searches through ``Library.find`` with the filter bar's
choices beside the query, a filter-only answer paged into the grid newest first, the
bar's counts (``Library.facets``) and the sidebar's Places.

Every read runs in the one-thread search pool and comes back on the GUI thread;
results of an older search are dropped by generation, counts by the filter they
were asked for (a newer filter supersedes them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core.models import Facets, PhotoFilter, SearchHit
from ..core.search.filters import Chip, remove_chip
from .filter_bar import FilterBar
from .results_model import PAGE, StackMark
from .window_parts import WindowBase

if TYPE_CHECKING:
    from ..core.search.finder import FindResult

log = logging.getLogger(__name__)

Rows = list[Any]  # (photo, score) or (photo, score, StackMark | None): results_model.Row


def stack_mark(hit: SearchHit) -> StackMark | None:
    """The head of a folded stack carries its size to the grid's badge."""
    if hit.stack_id is None or hit.stack_size < 2:
        return None
    return StackMark(hit.stack_id, hit.stack_size)


class FilterActions(WindowBase):
    filter_bar: FilterBar
    _facets_of: PhotoFilter | None  # the filter whose counts the bar shows or awaits

    def _build_filter_bar(self) -> FilterBar:
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self.run_search)
        self.filter_bar.typed_chip_removed.connect(self.remove_typed_chip)
        self._facets_of = None
        return self.filter_bar

    # -- searching ---------------------------------------------------------------------
    def find_rows(self, text: str, picked: PhotoFilter | None, limit: int,
                  ) -> tuple[Rows, int | None, FindResult]:
        """The grid's rows for a query and the bar's filter (run in the search pool): the
        best ``limit`` matches, or a filter-only query's first page and its total."""
        found = self.library.find(text, filters=picked, top=limit)
        if found.total is None:  # ranked hits: each stack folded into its head
            return [(hit.photo, hit.score, stack_mark(hit)) for hit in found.hits], None, found
        return [(hit.photo, None) for hit in found.hits], found.total, found

    def filtered_pages(self, text: str, picked: PhotoFilter | None) -> Callable[[int], Rows]:
        """A filter-only query's later pages, newest first, as the grid scrolls to them."""
        library = self.library
        return lambda offset: [(hit.photo, None) for hit in library.find(
            text, filters=picked, top=PAGE, offset=offset).hits]

    def page_fetcher(self, generation: int, page: Callable[[int], Rows]) -> Callable[[int], None]:
        """Pages fetched as their cells are painted (a 100,000-photo grid holds only the
        pages scrolled to; SQL runs in the search pool)."""

        def fetch(offset: int) -> None:
            self.searches.run(lambda: page(offset),
                              lambda rows, error: self._generation.is_current(generation)
                              and self.model.fill(offset, rows or []))

        return fetch

    def remove_typed_chip(self, chip: Chip) -> None:
        """A filter typed in the query (or a date phrase) goes: the query is rewritten
        without it and asked again."""
        self.search_box.setText(remove_chip(self.search_box.text(), chip))
        self.run_search()

    def show_place(self, query: str) -> None:
        """A place from the sidebar: its filter-only query, newest first, with its chip."""
        self.search_box.setText(query)  # leaves a browsed tag or album, as typing does
        self.sidebar.places.select_query(query)
        self.run_search()

    def place_follows(self, text: str) -> None:
        """The query was edited: the sidebar's place stays chosen only while it is the query."""
        if self.sidebar.places.chosen_query() not in (None, text):
            self.sidebar.places.select_query(None)

    # -- counts ------------------------------------------------------------------------
    def refresh_facets(self, wanted: PhotoFilter) -> None:
        """The bar's counts under the filter in force, asked only when it changed. The
        dates are left out of it: the histogram shows the whole timeline, the chosen
        months marked."""
        shown = replace(wanted, after=None, before=None)
        if shown == self._facets_of:
            return
        self._facets_of = shown
        library = self.library
        self.searches.run(lambda: library.facets(shown),
                          lambda facets, error: self._facets_arrived(shown, facets, error))

    def _facets_arrived(self, shown: PhotoFilter, facets: Facets | None,
                        error: BaseException | None) -> None:
        if shown != self._facets_of:
            return  # a newer filter's counts are on their way
        if error is not None or facets is None:
            log.warning("counting photos for the filters failed: %s", error)
            self._facets_of = None  # ask again next time
            return
        self.filter_bar.show_facets(facets)
        if shown.is_empty():
            self.sidebar.show_places(facets.places)  # the whole library's: the sidebar's too

    def refresh_places(self) -> None:
        """The sidebar's Places over the whole library (while indexing, photos arrive);
        the bar's counts are due again too."""
        self._facets_of = None
        library = self.library
        self.searches.run(lambda: library.facets(None),
                          lambda facets, error: facets is not None
                          and self.sidebar.show_places(facets.places))
