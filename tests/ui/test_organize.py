"""Tags, albums, label sets and concepts in the window, offscreen, on a real indexed library."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QTreeWidget, QTreeWidgetItem

from photoclip.core.library import Library
from photoclip.core.settings import load_settings, save_settings
from photoclip.ui.main_window import MainWindow
from tests.ui.conftest import add_and_index, save_screenshot, thumbnails_shown

pytestmark = pytest.mark.model

# The tiny model knows captions like "a red circle": colours in the templates, shapes as labels.
SHAPES = """
name = "shapes"
description = "Which shape the picture shows"
templates = ["a red {}", "a green {}", "a blue {}", "a yellow {}"]
labels = ["circle", "square", "triangle"]
"""


def _add_and_index(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> Path:
    return add_and_index(qtbot, window, library, tmp_path / "Shapes", seed=7)


def _message_box() -> QMessageBox:
    (box,) = [w for w in QApplication.topLevelWidgets()
              if isinstance(w, QMessageBox) and w.isVisible()]
    return box


def _answer(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text().replace("&", "") == text).click()


def _click(qtbot, tree: QTreeWidget, item: QTreeWidgetItem | None) -> None:
    assert item is not None
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(item).center())


def _shown_ids(window: MainWindow) -> list[int]:
    return [photo.id for photo in window.model.photos()]


def _sidebar_counts(window: MainWindow) -> dict[str, int]:
    tags = window.sidebar.tags
    return {tags.topLevelItem(i).text(0): int(tags.topLevelItem(i).text(1).replace(",", ""))
            for i in range(tags.topLevelItemCount())}


def test_label_set_tags_show_in_the_sidebar_and_are_decided_in_the_preview(
        qtbot, window: MainWindow, library: Library, tmp_path: Path) -> None:
    _add_and_index(qtbot, window, library, tmp_path)
    shapes = tmp_path / "shapes.toml"
    shapes.write_text(SHAPES, encoding="utf-8")

    # Tools > Label Sets…: add the file (installed and turned on), then tag the library.
    dialog = window.organize.open_label_sets()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.item("scenes") is not None, timeout=10_000)
    dialog.add_file(shapes)
    qtbot.waitUntil(lambda: dialog.item("shapes") is not None, timeout=30_000)
    assert dialog.item("shapes").checkState(0) == Qt.CheckState.Checked
    assert "shapes" in load_settings(library.paths.settings).label_sets
    dialog.tag_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Tagged 24 photos"), timeout=60_000)
    assert "from shapes" in dialog.status.text()
    dialog.close()

    # The sidebar lists every tag with its count, most first.
    expected = dict(library.organizer.tag_counts())
    assert {"circle", "square", "triangle"} <= set(expected)
    qtbot.waitUntil(lambda: _sidebar_counts(window) == expected, timeout=30_000)
    counts = list(_sidebar_counts(window).values())
    assert counts == sorted(counts, reverse=True)
    biggest = next(iter(expected))
    assert expected[biggest] >= library.settings.album_min_photos, expected
    qtbot.waitUntil(lambda: window.sidebar.find("album", biggest) is not None,  # an album too
                    timeout=10_000)

    # Clicking a tag shows exactly its photos, and says so in the search box.
    shape = max(("circle", "square", "triangle"), key=lambda name: expected[name])
    _click(qtbot, window.sidebar.tags, window.sidebar.find("tag", shape))
    members = library.catalog.photo_ids_with_tag(shape)
    qtbot.waitUntil(lambda: _shown_ids(window) == members, timeout=30_000)
    assert window.search_box.text() == f"Tag: {shape}"
    assert not window.organize.save_search_action.isEnabled()  # not a text query
    qtbot.waitUntil(lambda: thumbnails_shown(window, min(len(members), 6)), timeout=30_000)

    # The preview's chips: reject on one photo, add and remove, confirm on the next.
    preview = window.open_preview(0)
    qtbot.addWidget(preview)
    first, second = window.model.photo(0), window.model.photo(1)
    qtbot.waitUntil(lambda: shape in preview.tags.chips, timeout=10_000)
    assert preview.tags.button(shape, "confirm") is not None
    preview.tags.button(shape, "reject").click()
    qtbot.waitUntil(lambda: shape not in preview.tags.chips, timeout=30_000)
    rejected = {t.name: t.source for t in library.catalog.tags(first.id, rejected=True)}
    assert rejected[shape] == "rejected"
    assert shape not in {t.name for t in library.catalog.tags(first.id)}

    qtbot.keyClick(preview.focusWidget(), Qt.Key.Key_Right)  # where the keys really go
    assert preview.photo == second
    qtbot.waitUntil(lambda: shape in preview.tags.chips, timeout=10_000)
    qtbot.keyClicks(preview.tags.add_field, "favourite")
    qtbot.keyClick(preview.tags.add_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "favourite" in preview.tags.chips, timeout=30_000)
    assert preview.tags.button("favourite", "remove") is not None
    qtbot.waitUntil(lambda: preview.picture.pixmap() is not None
                    and not preview.picture.pixmap().isNull(), timeout=30_000)
    save_screenshot(preview, "preview-tags")
    preview.tags.button(shape, "confirm").click()
    qtbot.waitUntil(lambda: preview.tags.button(shape, "remove") is not None, timeout=30_000)
    assert {t.name: t.source for t in library.catalog.tags(second.id)}[shape] == "user"
    preview.tags.button("favourite", "remove").click()
    qtbot.waitUntil(lambda: "favourite" not in preview.tags.chips, timeout=30_000)
    assert "favourite" not in {t.name for t in library.catalog.tags(second.id)}
    preview.close()

    # The rejected photo left the tag: the grid showing it and the count follow.
    qtbot.waitUntil(lambda: first.id not in _shown_ids(window)
                    and _sidebar_counts(window)[shape] == len(members) - 1, timeout=30_000)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)  # back to the library
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=30_000)
    assert window.browse is None and not window.sidebar.tags.selectedItems()


def test_a_concept_from_a_selection_and_a_search_saved_as_a_smart_album(
        qtbot, window: MainWindow, library: Library, tmp_path: Path) -> None:
    _add_and_index(qtbot, window, library, tmp_path)
    shapes = tmp_path / "shapes.toml"  # tags for the sidebar's screenshot
    shapes.write_text(SHAPES, encoding="utf-8")
    window.worker.submit(lambda: library.organizer.tag_library(
        library.organizer.resolve_label_set(str(shapes)))).result(timeout=60)
    qtbot.keyClicks(window.search_box, "a red circle")
    qtbot.waitUntil(lambda: window.model.rowCount() == 24 and window.shown_query == "a red circle",
                    timeout=30_000)
    assert window.organize.search_box_save.isVisible()

    # Saved with a cutoff: by default the weakest match shown, here raised to the second best.
    dialog = window.organize.save_search()
    qtbot.addWidget(dialog)
    scores = window.organize.shown_scores()
    assert len(scores) == 24 and dialog.cutoff.value() <= min(scores) < dialog.cutoff.value() + 0.001
    assert dialog.name.text() == "a red circle"
    dialog.name.setText("Reds")
    dialog.cutoff.setValue(scores[1] - 0.0005)
    dialog.accept()
    qtbot.waitUntil(lambda: window.sidebar.find("smart", "Reds") is not None, timeout=30_000)
    top_two = [window.model.photo(0).id, window.model.photo(1).id]

    # A concept from three selected photos (one is too few to learn from).
    grid = window.grid
    grid.setCurrentIndex(window.model.index(0))
    assert not window.organize.concept_action.isEnabled()
    grid.selectionModel().select(window.model.index(2), QItemSelectionModel.SelectionFlag.Select)
    grid.selectionModel().select(window.model.index(4), QItemSelectionModel.SelectionFlag.Select)
    assert window.organize.concept_action.isEnabled()
    examples = {window.model.photo(row).id for row in (0, 2, 4)}
    window.organize.concept_action.trigger()
    ask = window.organize.concept_dialog
    assert ask is not None and "3 photos" in ask.labelText()
    ask.setTextValue("Rex")
    ask.accept()
    qtbot.waitUntil(lambda: "Learned 'Rex' from 3 photos" in window.statusBar().currentMessage(),
                    timeout=60_000)
    tagged = library.catalog.photo_ids_with_tag("Rex")
    assert f"{len(tagged)} photos tagged" in window.statusBar().currentMessage()
    assert set(library.catalog.concepts()["Rex"]) == examples and examples <= set(tagged)
    qtbot.waitUntil(lambda: _sidebar_counts(window).get("Rex") == len(tagged), timeout=30_000)

    # The smart album, chosen in the sidebar, holds the two photos that were above its cutoff.
    _click(qtbot, window.sidebar.albums, window.sidebar.find("smart", "Reds"))
    qtbot.waitUntil(lambda: window.search_box.text() == "Smart album: Reds"
                    and _shown_ids(window) == top_two, timeout=30_000)
    qtbot.waitUntil(lambda: thumbnails_shown(window, 2), timeout=30_000)
    save_screenshot(window, "tags-albums")

    # Right-click > Delete Smart Album… asks first; the window goes back to the library.
    albums = window.sidebar.albums
    albums.customContextMenuRequested.emit(
        albums.visualItemRect(window.sidebar.find("smart", "Reds")).center())
    (menu,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    next(a for a in menu.actions() if a.text() == "Delete Smart Album…").trigger()
    menu.close()
    box = _message_box()
    assert "Reds" in box.text()
    _answer(box, "Delete")
    qtbot.waitUntil(lambda: window.sidebar.find("smart", "Reds") is None, timeout=30_000)
    assert library.catalog.smart_albums() == []
    qtbot.waitUntil(lambda: window.search_box.text() == "" and window.model.rowCount() == 24,
                    timeout=30_000)


def test_the_label_set_dialog_turns_sets_on_and_off_and_explains_a_broken_file(
        qtbot, window: MainWindow, library: Library, tmp_path: Path) -> None:
    library.settings.label_sets = ["scenes"]  # the fixture turns the built-ins off
    save_settings(library.settings, library.paths.settings)  # ...and the file says so
    (library.paths.label_sets).mkdir(parents=True, exist_ok=True)
    (library.paths.label_sets / "mine.toml").write_text('name = "mine"\n', encoding="utf-8")
    dialog = window.organize.open_label_sets()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.item("scenes") is not None, timeout=10_000)
    scenes = dialog.item("scenes")
    assert scenes.checkState(0) == Qt.CheckState.Checked and scenes.text(2) == "Built-in"
    assert int(scenes.text(1)) > 1 and scenes.text(3)
    assert "Cannot use mine.toml" in dialog.status.text()  # a broken file of the user's is named

    scenes.setCheckState(0, Qt.CheckState.Unchecked)  # asks first; Cancel keeps it on
    _answer(_message_box(), "Cancel")
    assert scenes.checkState(0) == Qt.CheckState.Checked
    assert "scenes" in load_settings(library.paths.settings).label_sets

    scenes.setCheckState(0, Qt.CheckState.Unchecked)
    box = _message_box()
    assert "auto tags will be removed" in box.text()
    _answer(box, "Turn Off")
    qtbot.waitUntil(lambda: library.paths.settings.is_file()
                    and "scenes" not in load_settings(library.paths.settings).label_sets,
                    timeout=30_000)
    qtbot.waitUntil(lambda: dialog.item("scenes") is not None
                    and dialog.item("scenes").checkState(0) == Qt.CheckState.Unchecked,
                    timeout=10_000)
    dialog.item("scenes").setCheckState(0, Qt.CheckState.Checked)  # on again: no question
    qtbot.waitUntil(lambda: "scenes" in load_settings(library.paths.settings).label_sets,
                    timeout=30_000)

    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\nlabels = ["a", "b"\n', encoding="utf-8")
    dialog.add_file(broken)
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=30_000)
    box = _message_box()
    assert "Cannot add broken.toml" in box.text() and "not valid TOML" in box.text()
    _answer(box, "OK")
    assert dialog.item("broken") is None
    assert not (library.paths.label_sets / "broken.toml").exists()
