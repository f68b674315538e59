"""Tools > Find Duplicates… and stacks in the grid, offscreen, on a real indexed library
(an original, its exact copy and a smaller copy, beside an unrelated picture)."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from photoclip.core.library import Library
from photoclip.core.models import Photo, PhotoState, SearchHit
from photoclip.core.organize.cleanup import CleanupPlan, CleanupReport
from photoclip.core.units import human_size
from photoclip.ui.duplicate_cards import short_folder
from photoclip.ui.duplicates_dialog import DuplicatesDialog
from photoclip.ui.grid_delegate import stack_badge_text
from photoclip.ui.main_window import MainWindow
from photoclip.ui.results_model import STACK_ROLE, StackMark
from tests.synthetic import draw_picture
from tests.ui.conftest import indexed, save_screenshot

pytestmark = pytest.mark.model


def _make_duplicates(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    rng = random.Random(3)
    paths = {name: folder / f"{name}.jpg" for name in ("original", "copy", "small", "other")}
    picture = draw_picture("red", "circle", rng, size=(400, 300))
    picture.save(paths["original"], quality=95)
    shutil.copyfile(paths["original"], paths["copy"])
    picture.resize((200, 150)).save(paths["small"], quality=80)
    draw_picture("blue", "square", rng, size=(400, 300)).save(paths["other"], quality=95)
    for path in paths.values():  # settled: the worker indexes them at once, not seconds later
        os.utime(path, (time.time() - 60, time.time() - 60))
    return paths


@pytest.fixture
def dupes(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> dict[str, Photo]:
    paths = _make_duplicates(tmp_path / "Dupes")
    window.add_folder(tmp_path / "Dupes")
    qtbot.waitUntil(lambda: indexed(library) == 4 and window.status_label.text() == "Up to date",
                    timeout=60_000)
    library.update_duplicates()
    return {name: library.photo_at(path) for name, path in paths.items()}


def _open(qtbot, window: MainWindow) -> DuplicatesDialog:
    window.find_duplicates_action.trigger()
    dialog = window.duplicates_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.list.count() > 0, timeout=10_000)
    _activate(qtbot, dialog)
    return dialog


def _activate(qtbot, dialog: DuplicatesDialog) -> None:
    """The keys are the dialog's shortcuts: they reach it while it is the active window."""
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=5_000)


def _names(photos) -> set[str]:
    return {p.path.name for p in photos}


def test_sizes_and_folders_in_human_words() -> None:
    assert [human_size(n) for n in (0, 1, 500, 1024, 21_500, 3_255_443, 5 * 10**9, 12 * 10**12)] == [
        "0 bytes", "1 byte", "500 bytes", "1.0 KB", "22 KB", "3.3 MB", "5.0 GB", "12 TB"]
    long = Path("/a/very/long/folder/name/that/goes/on/and/on/Dupes")
    assert short_folder(long, 20) == "/a/very/l…d/on/Dupes"
    assert short_folder(Path.home() / "Pictures") == "~/Pictures"


def test_review_keep_and_clean_up(qtbot, window: MainWindow, library: Library, dupes: dict[str, Photo],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (near,) = library.duplicates.groups("near")
    assert _names(near.photos) == {"original.jpg", "copy.jpg", "small.jpg"}
    dialog = _open(qtbot, window)
    assert window.find_duplicates_action.shortcut().toString() == "Ctrl+Shift+D"
    assert dialog.tier_name == "near" and dialog.list.count() == 1
    extra = sum(p.size for p in near.photos if p != near.keep)
    assert extra < 2**20  # small JPEGs: kilobytes, shown as such
    assert dialog.list.item(0).text() == f"3 photos · {human_size(extra)} to free"
    marks = {card.photo.path.name: card.mark.text() for card in dialog.cards}
    assert marks[near.keep.path.name] == f"★ Keep — {near.reason}"
    assert sorted(marks.values()).count("Move to trash") == 2
    facts = {card.photo.path.name: card.facts.text().splitlines() for card in dialog.cards}
    assert facts["small.jpg"][:2] == ["200 × 150", human_size(dupes["small"].size)]
    assert facts["small.jpg"][2].endswith(" (file date)")  # no header date: the file's
    assert facts["small.jpg"][3:5] == [short_folder(dupes["small"].path.parent), "JPEG"]
    assert facts["small.jpg"][5].startswith("sharpness ")  # a number, once the core measures it
    qtbot.waitUntil(lambda: all(card.picture.pixmap() is not None and not card.picture.pixmap().isNull()
                                for card in dialog.cards), timeout=10_000)
    save_screenshot(dialog, "duplicates")

    # Right to another photo, K: it is kept now, and remembered.
    target = next(i for i, c in enumerate(dialog.cards) if c.photo != near.keep)
    for _ in range(target):
        qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.photo_row == target
    chosen = dialog.cards[target].photo
    qtbot.keyClick(dialog, Qt.Key.Key_K)
    assert dialog.cards[target].mark.text() == "★ Keep — your choice"
    qtbot.waitUntil(lambda: library.catalog.duplicate_choices() == {chosen.id: "best"}, timeout=10_000)

    # The confirmation lists what moves; Yes hands exactly that plan to clean_up.
    asked: list[str] = []
    plans: list[list[CleanupPlan]] = []

    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]

    def question(parent, title, text, *args) -> QMessageBox.StandardButton:
        asked.append(text)
        return answers.pop(0)

    def clean_up(given) -> CleanupReport:
        plans.append(list(given))
        return CleanupReport(trashed=[p.path for p in given[0].extras],
                             bytes_freed=given[0].bytes_freed)

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(library, "clean_up", clean_up)
    dialog.trash_button.click()  # No: nothing moves
    assert len(asked) == 1 and plans == []
    with qtbot.waitSignal(dialog.listed, timeout=10_000):  # listed again after the clean-up
        qtbot.keyClick(dialog, Qt.Key.Key_Delete)
    text = asked[1]
    assert text == asked[0]
    moving = [p for p in near.photos if p != chosen]
    assert "Move 2 files to the system trash" in text and "merged" in text
    assert all(p.path.name in text for p in moving) and chosen.path.name not in text.split("?")[1]
    assert plans == [[CleanupPlan(chosen, tuple(moving))]]
    assert dialog.status.text() == f"Moved 2 files to the trash, freed {human_size(plans[0][0].bytes_freed)}."
    assert all(p.path.is_file() for p in dupes.values())  # nothing really moved
    assert dialog.report_box is not None and dialog.report_box.text() == dialog.status.text()
    dialog.report_box.accept()
    _activate(qtbot, dialog)  # as closing the report does on a desktop

    # A: keep the whole group; it is left out, and nothing is asked or moved.
    assert dialog.list.count() == 1
    qtbot.keyClick(dialog, Qt.Key.Key_A)
    assert dialog.list.item(0).text() == "3 photos · keep all"
    assert {c.mark.text() for c in dialog.cards} == {"Keep (keeping all)"}
    assert dialog.plans() == []
    dialog.trash_button.click()
    assert len(asked) == 2 and len(plans) == 1
    assert dialog.status.text() == "Nothing to move: every group is kept whole."

    # Copies: only the exact copy, with the original; N stays on the one group.
    dialog.tier.setCurrentIndex(0)
    qtbot.waitUntil(lambda: dialog.tier_name == "copies" and len(dialog.cards) == 2, timeout=10_000)
    assert _names(c.photo for c in dialog.cards) == {"original.jpg", "copy.jpg"}
    assert dialog.list.item(0).text() == f"2 photos · {human_size(dupes['copy'].size)} to free"
    qtbot.keyClick(dialog, Qt.Key.Key_N)
    assert dialog.row == 0
    dialog.close()


def _photo(photo_id: int, folder: Path) -> Photo:
    return Photo(photo_id, folder / f"{photo_id}.jpg", 1, 1000, 0, PhotoState.INDEXED, f"hash{photo_id}")


def test_stack_head_shows_its_count_and_opens_in_place(
        qtbot, window: MainWindow, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head, copy, small, other = (_photo(i, tmp_path) for i in (1, 2, 3, 4))
    found = [SearchHit(head, 0.9, stack_id=7, stack_size=3), SearchHit(other, 0.5)]

    class Found:
        hits, total = found, None

    monkeypatch.setattr(library, "find", lambda *a, **k: Found())
    asked: list[tuple[int, str]] = []

    def stack_members(stack_id: int, tier: str) -> list[Photo]:
        asked.append((stack_id, tier))
        return [head, copy, small]

    monkeypatch.setattr(library.duplicates, "members", stack_members)
    window.search_box.setText("red circle")
    with qtbot.waitSignal(window.model.modelReset, timeout=10_000):
        window.run_search()  # the window's own search, answered by the stand-in above
    assert window.model.data(window.model.index(0), STACK_ROLE) == StackMark(7, 3)
    assert window.model.data(window.model.index(1), STACK_ROLE) is None
    assert stack_badge_text(StackMark(7, 3)) == "⧉ 3"

    # A click on the head's badge inserts the other two after it; again, they go.
    window.grid.doItemsLayout()
    cell = window.grid.visualRect(window.model.index(0))
    badge = window.delegate.stack_badge_rect(cell, window.grid.fontMetrics(), StackMark(7, 3))
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=badge.center())
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=10_000)
    assert asked == [(7, library.settings.stacks)]
    assert [p.path.name for p in window.model.photos()] == ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]
    assert window.model.stack_at(1) == StackMark(7, 3, head=False)
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=badge.center())
    assert [p.path.name for p in window.model.photos()] == ["1.jpg", "4.jpg"]
    # Outside the badge, a click only selects.
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=cell.center() + QPoint(0, -20))
    assert window.model.rowCount() == 2

    # The context menu says the same: Show Stack on the head, Collapse Stack once open.
    menu = QMenu()
    window.add_stack_actions(menu, 0)
    assert [a.text() for a in menu.actions()] == ["Show Stack (3 photos)"]
    menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=10_000)
    menu = QMenu()
    window.add_stack_actions(menu, 2)
    assert [a.text() for a in menu.actions()] == ["Collapse Stack"]
    menu.actions()[0].trigger()
    assert window.model.rowCount() == 2
