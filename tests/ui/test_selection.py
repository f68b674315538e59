"""Batch actions on the grid's selection (real window offscreen, tiny model): hearts,
stars, an album of one's own, tags, copies to a folder, and dragging out as file URLs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt

from photoclip.core.library import Library
from photoclip.core.models import PhotoMarks
from photoclip.ui.main_window import MainWindow
from tests.ui.conftest import add_and_index


def select_rows(window: MainWindow, rows: list[int]) -> list:
    selection = window.grid.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    return [window.model.photo(row) for row in rows]


def test_the_selection_is_favourited_rated_put_in_an_album_tagged_and_copied(
        qtbot, window: MainWindow, library: Library, tmp_path: Path) -> None:
    add_and_index(qtbot, window, library, tmp_path / "Pictures", seed=5)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=30_000)
    photos = select_rows(window, [0, 2, 5])
    ids = [p.id for p in photos]
    assert window.selected_photos() == photos

    window.favourite_selection()
    window.rate_selection(4)
    window.add_selection_to_album("Trip")
    window.tag_selection("sunny, beach")
    qtbot.waitUntil(lambda: dict(library.catalog.manual_albums()).get("Trip") == ids
                    and all(library.catalog.tags(i) for i in ids), timeout=30_000)
    qtbot.waitUntil(lambda: library.marks_of(ids) == {i: PhotoMarks(True, 4, 0) for i in ids}, timeout=30_000)
    assert {t.name for t in library.catalog.tags(ids[0])} >= {"sunny", "beach"}
    assert library.marks_of([window.model.photo(1).id]) == {}  # not selected: untouched
    qtbot.wait(200)  # the answers' callbacks: the results (and the selection) stay as they were
    assert window.selected_photos() == photos

    out = tmp_path / "copies"
    window.copy_selection_to_folder(out)
    qtbot.waitUntil(lambda: out.is_dir() and len(list(out.iterdir())) == 3, timeout=30_000)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.path.name for p in photos)

    data = window.model.mimeData([window.model.index(r) for r in (0, 2, 5)])
    assert [Path(u.toLocalFile()) for u in data.urls()] == [p.path for p in photos]
    assert window.model.flags(window.model.index(0)) & Qt.ItemFlag.ItemIsDragEnabled
    shortcuts = {a.text(): a.shortcut().toString() for a in window.photo_menu.actions()}
    assert shortcuts["&Favourite"] == "." and shortcuts["Rate ★★★★"] == "Ctrl+4"
