"""The filter bar and the Places sidebar driven with pytest-qt, offscreen.

The window is the real one, on a library with the fake encoder; ``Library.find`` and
``Library.facets`` are replaced by ``FakeFinder``, which answers with canned photos and
counts and records every search, so each test knows exactly what was asked and shown.
The query is parsed by the real ``parse_filters`` (the chips are the real ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photoclip.core.library import Library
from photoclip.core.models import Facets, Photo, PhotoFilter, PhotoState, SearchHit
from photoclip.core.paths import app_paths
from photoclip.core.search.filters import merge, parse_filters
from photoclip.core.search.finder import FindResult
from photoclip.core.settings import Settings
from photoclip.ui.app import create_window
from photoclip.ui.filter_bar import PHRASE_TIP, FilterBar
from photoclip.ui.main_window import MainWindow
from photoclip.ui.results_model import PAGE
from tests.fakes import FakeEncoder
from tests.ui.conftest import save_screenshot

FACETS = Facets(
    months=(("2024-01", 4), ("2024-02", 9), ("2024-04", 2), ("2024-05", 6)),  # March: none
    places=(("Portugal", "Lisbon", "Lisbon", 12), ("Portugal", "Porto", "Porto", 5),
            ("Brazil", "São Paulo", "São Paulo", 3)),
    cameras=(("Google Pixel 7", 14), ("Apple iPhone 13", 6)),
    folders=(("Trips", 11),),
    tags=(("beach", 8), ("people", 2)),
    kinds=(("screenshot", 3),),
)


def _photo(number: int) -> Photo:
    return Photo(number, Path(f"/nowhere/photo{number}.jpg"), 1, 1000, 0, PhotoState.INDEXED)


@dataclass
class Asked:
    query: str
    filters: PhotoFilter | None
    offset: int


@dataclass
class FakeFinder:
    """Stands in for ``Library.find`` and ``Library.facets``: three photos for a text
    query (40 weaker hidden under sort:date), five for a filter-only one (450 in
    ``folder:big``); none when the query holds the word "nothing"."""

    searches: list[Asked] = field(default_factory=list)
    counted: list[PhotoFilter | None] = field(default_factory=list)

    def find(self, query: str, *, filters: PhotoFilter | None = None, sort: str | None = None,
             literal: bool = False, top: int = 100, offset: int = 0, **_: object) -> FindResult:
        self.searches.append(Asked(query, filters, offset))
        parsed = parse_filters(query, literal=literal)
        parsed = replace(parsed, filter=merge(parsed.filter, filters) if filters else parsed.filter)
        if "nothing" in parsed.text:
            return FindResult([], parsed)
        if not parsed.text:  # newest first: photo 1, 2, ...
            total = 450 if "big" in parsed.filter.folders else 5
            hits = [SearchHit(_photo(n), 0.0) for n in range(offset + 1, min(total, offset + top) + 1)]
            return FindResult(hits, parsed, total=total)
        hits = [SearchHit(_photo(n), 0.9 - n / 10) for n in range(1, 4)]
        return FindResult(hits, parsed, hidden=40 if parsed.sort == "date" else 0)

    def facets(self, filters: PhotoFilter | None = None) -> Facets:
        self.counted.append(filters)
        return FACETS

    def last(self) -> Asked:
        return self.searches[-1]


@pytest.fixture
def finder() -> FakeFinder:
    return FakeFinder()


@pytest.fixture
def window(qtbot, tmp_path: Path, finder: FakeFinder,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(batch_size=8, decode_workers=1, label_sets=[]),
                      encoder=FakeEncoder())  # type: ignore[arg-type]
    monkeypatch.setattr(library, "find", finder.find)
    monkeypatch.setattr(library, "facets", finder.facets)
    win, _ = create_window(library)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitUntil(lambda: win.sidebar.places.topLevelItemCount() == 2, timeout=10_000)
    yield win
    win.close()
    library.close()


def _search(qtbot, window: MainWindow, finder: FakeFinder, text: str) -> None:
    before = len(finder.searches)
    window.search_box.setText(text)
    window.run_search()
    qtbot.waitUntil(lambda: (len(finder.searches) > before and window.model.rowCount() > 0)
                    or "nothing" in text, timeout=10_000)
    qtbot.wait(50)  # the answer's callback, queued behind the search


def _menu_texts(bar: FilterBar, kind: str) -> list[str]:
    return [a.text() for a in bar.pickers[kind].menu().actions()]


def test_typed_filters_and_a_date_phrase_show_as_chips(qtbot, window: MainWindow,
                                                      finder: FakeFinder) -> None:
    _search(qtbot, window, finder, "beach place:Lisbon camera:\"Pixel 7\" in July 2022")
    bar = window.filter_bar
    assert bar.chip_texts() == ["place: Lisbon", "camera: Pixel 7", "in July 2022"]
    assert finder.last().query == 'beach place:Lisbon camera:"Pixel 7" in July 2022'
    phrase = bar.chips[2]
    assert phrase.toolTip() == PHRASE_TIP
    assert phrase.property("phrase") is True and bar.chips[0].property("phrase") is False
    assert bar.status.text() == "3 matches"
    save_screenshot(window, "filter-bar")


def test_the_cross_of_a_typed_chip_rewrites_the_query_and_searches_again(
        qtbot, window: MainWindow, finder: FakeFinder) -> None:
    _search(qtbot, window, finder, "beach place:Lisbon tag:people")
    before = len(finder.searches)
    window.filter_bar.remove_button("place: Lisbon").click()
    qtbot.waitUntil(lambda: window.filter_bar.chip_texts() == ["tag: people"], timeout=10_000)
    assert window.search_box.text() == "beach tag:people"
    assert finder.searches[before].query == "beach tag:people"
    assert finder.searches[before].filters is None


def test_the_cross_of_a_date_phrase_searches_the_words(qtbot, window: MainWindow,
                                                      finder: FakeFinder) -> None:
    _search(qtbot, window, finder, "dress in July 2022")
    window.filter_bar.remove_button("in July 2022").click()
    qtbot.waitUntil(lambda: window.filter_bar.chip_texts() == [], timeout=10_000)
    assert window.search_box.text() == 'dress "in July 2022"'
    assert finder.last().query == 'dress "in July 2022"'


def _drag(qtbot, window: MainWindow, first: int, last: int) -> None:
    histogram = window.filter_bar.histogram
    start, end = histogram.bar_rect(first).center(), histogram.bar_rect(last).center()
    start.setY(histogram.height() - 2)
    end.setY(histogram.height() - 2)
    qtbot.mousePress(histogram, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(histogram, pos=end)
    qtbot.mouseRelease(histogram, Qt.MouseButton.LeftButton, pos=end)


def test_the_month_histogram_chooses_a_date_range_for_the_next_search(
        qtbot, window: MainWindow, finder: FakeFinder) -> None:
    histogram = window.filter_bar.histogram
    # January to May 2024, March (no photos) a gap of the timeline.
    assert histogram.months == [("2024-01", 4), ("2024-02", 9), ("2024-03", 0), ("2024-04", 2),
                                ("2024-05", 6)]
    assert histogram.bar_rect(1).height() > histogram.bar_rect(0).height()
    _search(qtbot, window, finder, "beach")
    before = len(finder.searches)
    _drag(qtbot, window, 1, 3)  # February to April
    qtbot.waitUntil(lambda: len(finder.searches) > before, timeout=10_000)
    assert finder.last().query == "beach"
    assert finder.last().filters == PhotoFilter(after="2024-02-01", before="2024-05-01")
    qtbot.waitUntil(lambda: window.filter_bar.chip_texts() == ["date: February 2024 – April 2024"],
                    timeout=10_000)
    assert histogram.chosen == ("2024-02", "2024-04")
    # A click on one bar is that month; its × drops the dates again.
    _drag(qtbot, window, 4, 4)
    qtbot.waitUntil(lambda: finder.last().filters == PhotoFilter(after="2024-05-01",
                                                                 before="2024-06-01"),
                    timeout=10_000)
    before = len(finder.searches)
    window.filter_bar.remove_button("date: May 2024").click()
    qtbot.waitUntil(lambda: len(finder.searches) > before, timeout=10_000)
    assert finder.last().filters is None and histogram.chosen is None


def test_a_picker_shows_counts_and_its_choice_filters_the_next_search(
        qtbot, window: MainWindow, finder: FakeFinder) -> None:
    bar = window.filter_bar
    assert _menu_texts(bar, "camera") == ["Google Pixel 7\t14", "Apple iPhone 13\t6"]
    assert _menu_texts(bar, "place") == ["Portugal\t17", "    Lisbon\t12", "    Porto\t5",
                                         "Brazil\t3", "    São Paulo\t3"]
    assert _menu_texts(bar, "kind") == ["screenshot\t3"]
    _search(qtbot, window, finder, "beach")
    before = len(finder.searches)
    bar.pickers["camera"].menu().actions()[0].trigger()
    qtbot.waitUntil(lambda: len(finder.searches) > before, timeout=10_000)
    assert finder.last().query == "beach"
    assert finder.last().filters == PhotoFilter(cameras=("google pixel 7",))
    assert bar.chip_texts() == ["camera: Google Pixel 7"]
    # The counts are asked again under the filter now in force.
    qtbot.waitUntil(lambda: finder.counted[-1] == PhotoFilter(cameras=("google pixel 7",)),
                    timeout=10_000)
    qtbot.waitUntil(lambda: bar.pickers["camera"].menu().actions()[0].isChecked(), timeout=10_000)
    # The picker's chip goes with its ×; the query is left as it was.
    before = len(finder.searches)
    bar.remove_button("camera: Google Pixel 7").click()
    qtbot.waitUntil(lambda: len(finder.searches) > before, timeout=10_000)
    assert finder.last().filters is None and window.search_box.text() == "beach"
    assert bar.chip_texts() == []


def test_places_show_countries_and_cities_and_a_click_shows_the_place(
        qtbot, window: MainWindow, finder: FakeFinder) -> None:
    tree = window.sidebar.places
    rows = [(tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(1),
             [(tree.topLevelItem(i).child(j).text(0), tree.topLevelItem(i).child(j).text(1))
              for j in range(tree.topLevelItem(i).childCount())])
            for i in range(tree.topLevelItemCount())]
    assert rows == [("Portugal", "17", [("Lisbon", "12"), ("Porto", "5")]),
                    ("Brazil", "3", [("São Paulo", "3")])]
    before = len(finder.searches)
    tree.topLevelItem(0).setExpanded(True)
    lisbon = tree.find("Lisbon")
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(lisbon).center())
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10_000)
    assert window.search_box.text() == "place:Lisbon"
    assert finder.searches[before].query == "place:Lisbon" and finder.searches[before].filters is None
    assert window.filter_bar.chip_texts() == ["place: Lisbon"]
    assert window.filter_bar.status.text() == "5 matches"
    assert lisbon.isSelected()  # still chosen while it is the query
    tree.setCurrentItem(tree.find("São Paulo"))  # a name with a space is quoted
    qtbot.waitUntil(lambda: window.search_box.text() == 'place:"São Paulo"', timeout=10_000)
    assert not lisbon.isSelected()
    window.search_box.setText("beach")  # typing leaves the place
    assert not tree.selectedItems()


def test_the_status_line_counts_matches_hidden_ones_and_none(qtbot, window: MainWindow,
                                                            finder: FakeFinder) -> None:
    status = window.filter_bar.status
    _search(qtbot, window, finder, "beach sort:date")
    assert status.text() == "3 matches; 40 weaker hidden"
    _search(qtbot, window, finder, "beach")
    assert status.text() == ""  # a plain ranking: no count to tell
    _search(qtbot, window, finder, "nothing tag:beach")
    qtbot.waitUntil(lambda: status.text() == "no photos match these filters", timeout=10_000)
    assert window.pages.currentIndex() == 1
    assert window.empty.text() == "No photos match these filters."


def test_a_filter_only_query_pages_newest_first(qtbot, window: MainWindow,
                                                finder: FakeFinder) -> None:
    _search(qtbot, window, finder, "folder:big")
    model = window.model
    assert model.rowCount() == 450  # every row there, the later pages on their way
    assert [model.photo(row).id for row in range(PAGE)] == list(range(1, PAGE + 1))
    assert model.photo(PAGE) is None and finder.last().offset == 0
    assert window.filter_bar.status.text() == "450 matches"
    assert not window.more_button.isVisible()  # the grid pages in the rest itself
    model.data(model.index(300), Qt.ItemDataRole.DecorationRole)  # as painting asks
    qtbot.waitUntil(lambda: model.photo(300) is not None, timeout=10_000)
    assert finder.last() == Asked("folder:big", None, PAGE)
    assert [model.photo(row).id for row in (PAGE, 300, 2 * PAGE - 1)] == [PAGE + 1, 301, 2 * PAGE]
