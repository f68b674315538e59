"""The filter bar's favourites-and-rating picker (pytest-qt, offscreen): what each choice
asks for, its chip and tick, and in the real window (a library on the fake encoder, marks
set through it) the photos it leaves in the grid."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from photoclip.core.models import PhotoFilter
from photoclip.ui.app import create_window
from photoclip.ui.filter_bar import MARKS_PICKER, FilterBar
from photoclip.ui.main_window import MainWindow
from tests.fakes import fake_indexed_library
from tests.synthetic import draw_picture
from tests.ui.conftest import save_screenshot

MENU = ["♥ Favourites", "", "★ 1 star and up", "★★ 2 stars and up", "★★★ 3 stars and up",
        "★★★★ 4 stars and up", "★★★★★ 5 stars", "Unrated"]


def _action(bar: FilterBar, text: str) -> QAction:
    return next(a for a in bar.pickers[MARKS_PICKER].menu().actions() if a.text() == text)


def _ticked(bar: FilterBar) -> list[str]:
    return [a.text() for a in bar.pickers[MARKS_PICKER].menu().actions() if a.isChecked()]


def test_the_picker_asks_for_favourites_and_one_rating_at_a_time(qtbot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    button = bar.pickers[MARKS_PICKER]
    assert button.accessibleName() == "Favourites and rating filter"
    assert [a.text() for a in button.menu().actions()] == MENU
    with qtbot.waitSignal(bar.changed):
        _action(bar, "♥ Favourites").trigger()
    assert bar.picker_filter() == PhotoFilter(favourite=True)
    _action(bar, "★★★ 3 stars and up").trigger()
    _action(bar, "★★★★ 4 stars and up").trigger()  # takes the place of the three
    assert bar.picker_filter() == PhotoFilter(favourite=True, min_rating=4)
    assert bar.chip_texts() == ["♥ Favourites", "★★★★ 4 stars and up"]
    assert _ticked(bar) == ["♥ Favourites", "★★★★ 4 stars and up"]
    _action(bar, "Unrated").trigger()
    assert bar.picker_filter() == PhotoFilter(favourite=True, exact_rating=0)
    with qtbot.waitSignal(bar.changed):
        bar.remove_button("♥ Favourites").click()
    assert bar.picker_filter() == PhotoFilter(exact_rating=0) and _ticked(bar) == ["Unrated"]
    _action(bar, "Unrated").trigger()  # chosen again: dropped
    assert bar.picker_filter() is None and bar.chip_texts() == [] and _ticked(bar) == []


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, colour in enumerate(("red", "red", "blue", "blue", "green")):
        draw_picture(colour, "circle", random.Random(n)).save(photos / f"p{n}.png")
    library = fake_indexed_library(tmp_path / "home", photos)
    ids = {p.path.stem: p.id for p in library.newest(100)}
    library.set_favourite([ids["p0"], ids["p2"], ids["p3"]], True)
    library.set_rating([ids["p0"]], 4)
    library.set_rating([ids["p1"]], 5)
    library.set_rating([ids["p2"]], 2)
    win, _ = create_window(library)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 5, timeout=10_000)
    yield win
    win.close()
    library.close()


def _shown(window: MainWindow) -> set[str]:
    rows = range(window.model.rowCount())
    return {photo.path.stem for row in rows if (photo := window.model.photo(row)) is not None}


def test_the_grid_keeps_exactly_the_photos_picked(qtbot, window: MainWindow) -> None:
    bar = window.filter_bar
    _action(bar, "♥ Favourites").trigger()
    qtbot.waitUntil(lambda: _shown(window) == {"p0", "p2", "p3"}, timeout=10_000)
    _action(bar, "★★ 2 stars and up").trigger()
    qtbot.waitUntil(lambda: _shown(window) == {"p0", "p2"}, timeout=10_000)
    assert bar.status.text() == "2 matches"
    save_screenshot(window, "filter-bar-marks")
    window.search_box.setText("blue")  # CLIP ranks what the picker keeps
    window.run_search()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and window.model.photo(0) is not None
                    and window.model.photo(0).path.stem == "p2", timeout=10_000)
    bar.remove_button("♥ Favourites").click()
    qtbot.waitUntil(lambda: _shown(window) == {"p0", "p1", "p2"}, timeout=10_000)
