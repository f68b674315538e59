"""More batch actions on the grid's selection (real window offscreen, tiny model): taking
a tag off the selected photos, and learning a concept from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from photoclip.core.library import Library
from photoclip.core.models import Tag
from photoclip.core.organize.concepts import ConceptError
from photoclip.ui.main_window import MainWindow
from photoclip.ui.shortcuts_help import ShortcutEntry, window_shortcuts
from tests.ui.conftest import add_and_index, save_screenshot
from tests.ui.test_selection import select_rows


def _tags(library: Library, photo_id: int, rejected: bool = False) -> dict[str, str]:
    return {t.name: t.source for t in library.catalog.tags(photo_id, rejected=rejected)}


def _action(window: MainWindow, text: str):
    return next(a for a in window.photo_menu.actions() if a.text() == text)


def _message(qtbot, window: MainWindow, text: str) -> None:
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == text, timeout=30_000)


@pytest.fixture
def indexed_window(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> MainWindow:
    add_and_index(qtbot, window, library, tmp_path / "Pictures", seed=7)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=30_000)
    return window


def test_remove_tag_offers_the_selections_tags_and_takes_the_chosen_one_off(
        qtbot, indexed_window: MainWindow, library: Library) -> None:
    window = indexed_window
    ids = [window.model.photo(row).id for row in range(6)]
    circle = Tag("circle", "auto", 0.4, "shapes")
    given = {ids[0]: [Tag("beach"), Tag("sunny")], ids[2]: [Tag("beach"), circle],
             ids[5]: [circle, Tag("dog")], ids[1]: [Tag("beach")]}  # row 1 is not selected
    window.worker.submit(lambda: [library.catalog.add_tags(i, t) for i, t in given.items()],
                         rescan=False).result(timeout=30)
    photos = select_rows(window, [0, 2, 5])

    _action(window, "&Remove Tag…").trigger()
    qtbot.waitUntil(lambda: window.remove_tag_dialog is not None, timeout=30_000)
    dialog = window.remove_tag_dialog
    assert dialog.comboBoxItems() == ["beach (on 2 of 3 photos)", "circle (on 2 of 3 photos; suggested on 2)",
                                      "dog (on 1 of 3 photos)", "sunny (on 1 of 3 photos)"]
    save_screenshot(dialog, "remove-tag")
    dialog.setTextValue("circle (on 2 of 3 photos; suggested on 2)")
    dialog.accept()
    _message(qtbot, window, "removed the tag 'circle' from 2 photos (2 suggested: rejected)")
    # A suggestion is rejected, as the preview's chips reject it: gone, and kept from coming back.
    assert [_tags(library, p.id) for p in photos] == [
        {"beach": "user", "sunny": "user"}, {"beach": "user"}, {"dog": "user"}]
    assert _tags(library, ids[5], rejected=True) == {"circle": "rejected", "dog": "user"}

    window.remove_tag_from_selection("beach")  # the user's own tag: removed
    _message(qtbot, window, "removed the tag 'beach' from 2 photos")
    assert [_tags(library, p.id) for p in photos] == [{"sunny": "user"}, {}, {"dog": "user"}]
    assert _tags(library, ids[2], rejected=True) == {"circle": "rejected"}
    assert _tags(library, ids[1]) == {"beach": "user"}  # not selected: untouched
    window.remove_tag_from_selection("beach")
    _message(qtbot, window, "none of the 3 photos had the tag 'beach'")

    select_rows(window, [3])
    window.remove_tag_from_selection()
    _message(qtbot, window, "the selected photo has no tags")


def test_a_concept_is_learned_from_the_selection_from_the_photo_menu(
        qtbot, indexed_window: MainWindow, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    window = indexed_window
    concept = window.organize.concept_action
    assert concept in window.photo_menu.actions()  # the Tools menu's own action, not a twin
    shortcuts = window_shortcuts(window)
    assert ShortcutEntry("Photo", "Remove Tag…", "Ctrl+Shift+T") in shortcuts
    assert [e for e in shortcuts if e.keys == "Ctrl+Shift+K"] == [
        ShortcutEntry("Tools", "Create Concept from Selection…", "Ctrl+Shift+K")]
    menu = QMenu(window)  # the grid's context menu, as window_photos builds it
    window.add_selection_actions(menu)
    window.organize.add_photo_actions(menu)
    texts = [a.text() for a in menu.actions()]
    assert "&Remove Tag…" in texts and texts.count(concept.text()) == 1

    select_rows(window, [4])
    window.make_concept_from_selection("Rex")
    assert window.statusBar().currentMessage() == (
        "Select at least two photos of the same thing (3 to 10 work best)")

    photos = select_rows(window, [0, 2, 4])
    assert concept.isEnabled()
    assert window.make_concept_from_selection("Rex") is None  # named: no dialog
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Learned 'Rex' from 3 photos"),
                    timeout=60_000)
    tagged = library.catalog.photo_ids_with_tag("Rex")
    assert window.statusBar().currentMessage() == f"Learned 'Rex' from 3 photos; {len(tagged)} photos tagged"
    assert sorted(library.catalog.concepts()["Rex"]) == sorted(p.id for p in photos)
    assert {p.id for p in photos} <= set(tagged)

    window.organize.concept_dialog = None
    concept.trigger()  # from the menu, unnamed: Organize's dialog asks
    asked = window.organize.concept_dialog
    assert asked is not None and "3 photos" in asked.labelText()
    asked.reject()
    assert window.make_concept_from_selection() is window.organize.concept_dialog is not asked
    window.organize.concept_dialog.reject()

    def too_few(name: str, examples: list[Path]) -> None:
        raise ConceptError("a concept needs at least 2 indexed example photos")

    monkeypatch.setattr(library.organizer, "add_concept", too_few)
    window.make_concept_from_selection("Tom")
    _message(qtbot, window, "Could not learn 'Tom': a concept needs at least 2 indexed example photos")
    for box in [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]:
        box.close()
    assert "Tom" not in library.catalog.concepts()
