"""Help ▸ Keyboard Shortcuts, accessible names on every control, and the window's size,
position, docks and cell size remembered between runs (and forgotten when the file is bad)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHeaderView,
    QLineEdit,
    QSlider,
    QWidget,
)

from photoclip.core.library import Library
from photoclip.core.persisted import entry_for
from photoclip.ui.app import create_window
from photoclip.ui.main_window import MainWindow
from photoclip.ui.shortcuts_help import GRID_GROUP, ShortcutEntry, plain_text, window_shortcuts
from photoclip.ui.window_state import read_window_state, window_state_path, write_window_state
from tests.ui.conftest import save_screenshot

INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QSlider)


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls a screen reader could only call "button" or "edit": no accessible name,
    and (for buttons) no text. A header its view hides is never shown, so never read."""
    found = []
    for widget in {w for kind in INTERACTIVE for w in root.findChildren(kind)}:
        if isinstance(widget, QHeaderView) and widget.isHidden():
            continue
        text = plain_text(widget.text()) if isinstance(widget, QAbstractButton) else ""
        if not widget.accessibleName().strip() and not text.strip():
            found.append(f"{widget.metaObject().className()} in {widget.parent().metaObject().className()}"
                         f" {widget.objectName()!r}")
    return sorted(found)


def actions_with_shortcuts(window: MainWindow) -> set[tuple[str, str]]:
    """(text, keys) of every action of the window that a key triggers."""
    return {(plain_text(a.text()), ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                                             for k in a.shortcuts()))
            for a in window.findChildren(QAction) if a.shortcuts() and a.associatedObjects()}


def open_window(qtbot, library: Library) -> MainWindow:
    win, _ = create_window(library)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def second_window(qtbot, library: Library) -> Iterator[list[MainWindow]]:
    """Windows opened by a test on the fixture's library, closed after it."""
    opened: list[MainWindow] = []
    yield opened
    for win in opened:
        win.close()


# -- Help ▸ Keyboard Shortcuts -------------------------------------------------------------
def test_help_is_the_last_menu_with_shortcuts_and_about(window: MainWindow) -> None:
    last = window.menuBar().actions()[-1]
    assert last.text() == "&Help"
    assert [a.text() for a in last.menu().actions()] == ["&Keyboard Shortcuts", "&About PhotoClip"]
    assert [k.toString() for k in window.shortcuts_action.shortcuts()] == ["F1", "Ctrl+/"]
    box = window.show_about()
    assert box.text().startswith("PhotoClip ")
    assert window.library.spec.open_clip_name in box.text()
    box.close()


def test_the_dialog_lists_every_action_with_a_shortcut_and_the_grid_keys(window: MainWindow) -> None:
    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    shown = dialog.shown_entries()
    assert shown == window_shortcuts(window)
    assert actions_with_shortcuts(window) <= {(e.name, e.keys) for e in shown}
    assert {e.name for e in shown} >= {"Add Folder…", "Quit", "Keyboard Shortcuts", "Find"}
    for entry in (ShortcutEntry("File", "Add Folder…", "Ctrl+O"), ShortcutEntry("File", "Quit", "Ctrl+Q"),
                  ShortcutEntry("Tools", "Find Duplicates…", "Ctrl+Shift+D"),
                  ShortcutEntry("Help", "Keyboard Shortcuts", "F1, Ctrl+/"),
                  ShortcutEntry("Window", "Find", "Ctrl+F"),
                  ShortcutEntry(GRID_GROUP, "Clear the search (in the search box)", "Esc")):
        assert entry in shown
    # Ctrl+F is the Find action's already: the grid's fixed "Search" is not listed twice;
    # nor is its Return, once an action (the viewer's) has it.
    assert [e.name for e in shown if "Ctrl+F" in e.keys.split(", ")] == ["Find"]
    assert len([e for e in shown if "Return" in e.keys.split(", ")]) == 1
    save_screenshot(dialog, "keyboard-shortcuts")
    groups = [e.group for e in shown]
    assert groups[-1] == GRID_GROUP and groups.index("Help") > groups.index("File")
    for group in set(groups):
        names = [e.name.casefold() for e in shown if e.group == group]
        assert names == sorted(names), group


def test_an_action_added_later_is_listed_and_the_filter_finds_it(window: MainWindow) -> None:
    before = window.show_shortcuts().shown_entries()  # opened once before the action exists
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    late = QAction("&Rotate Left Later", window)
    late.setShortcut(QKeySequence("Ctrl+Shift+J"))
    tools.addAction(late)
    dialog = window.show_shortcuts()
    assert ShortcutEntry("Tools", "Rotate Left Later", "Ctrl+Shift+J") not in before
    assert ShortcutEntry("Tools", "Rotate Left Later", "Ctrl+Shift+J") in dialog.shown_entries()
    dialog.filter_box.setText("ctrl+shift+j")
    assert dialog.shown_entries() == [ShortcutEntry("Tools", "Rotate Left Later", "Ctrl+Shift+J")]
    dialog.filter_box.setText("QUIT")
    assert dialog.shown_entries() == [ShortcutEntry("File", "Quit", "Ctrl+Q")]
    dialog.filter_box.setText("no such key")
    assert dialog.shown_entries() == []
    assert all(dialog.tree.topLevelItem(i).isHidden() for i in range(dialog.tree.topLevelItemCount()))
    dialog.filter_box.clear()
    assert len(dialog.shown_entries()) == len(window_shortcuts(window))


def test_every_control_of_the_window_has_an_accessible_name(window: MainWindow) -> None:
    window.show_shortcuts()  # its controls are the window's children too
    assert unnamed_controls(window) == []


# -- the window's state ----------------------------------------------------------------------
def test_size_position_docks_and_cell_size_come_back(qtbot, window: MainWindow, library: Library,
                                                     second_window: list[MainWindow]) -> None:
    window.setGeometry(30, 40, 900, 650)
    dock = window.findChild(QDockWidget, "library")
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.apply_cell_size(200)
    window.findChild(QDockWidget, "problems").show()  # some photos could not be read this time
    window.close()
    path = window_state_path(library.paths.cache_dir)
    assert entry_for(library.paths, path).name == "window state"
    assert read_window_state(path)["width"] == 900
    again = open_window(qtbot, library)
    second_window.append(again)
    assert again.geometry() == QRect(30, 40, 900, 650)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    assert again.dockWidgetArea(again.findChild(QDockWidget, "library")) == right
    assert again.grid.iconSize().width() == 200
    assert again.findChild(QDockWidget, "problems").isHidden()  # shown when there are problems, not as before
    assert library.settings.thumbnail_size != 200  # the window's state, not a setting


@pytest.mark.parametrize("garbage", [b"", b"{\"version\": 1, \"width\": 9", b"\xff\xfe\x00garbage" * 40,
                                     b"[1, 2]", b'{"version": true, "width": 900, "height": 650}',
                                     b'{"version": 1, "width": "900", "height": -650, "docks": "%%%"}'])
def test_a_bad_file_opens_the_window_with_its_defaults(qtbot, library: Library, garbage: bytes,
                                                       second_window: list[MainWindow]) -> None:
    path = window_state_path(library.paths.cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(garbage)
    assert read_window_state(path) is None
    win = open_window(qtbot, library)
    second_window.append(win)
    assert (win.width(), win.height()) == (1100, 760)
    assert win.grid.iconSize().width() == library.settings.thumbnail_size


def test_each_field_is_checked_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "window-state.json"
    path.write_text(json.dumps({"version": 1, "x": -1200, "y": 5, "width": 50, "height": 650,
                                "maximized": 1, "docks": "AAEC", "splitters": {"info": "!", "viewer": "AQ=="},
                                "cell_size": 180}))
    assert read_window_state(path) == {"x": -1200, "y": 5, "docks": b"\x00\x01\x02",
                                       "splitters": {"viewer": b"\x01"}, "cell_size": 180}
    write_window_state(path, {"width": 900, "height": 650, "maximized": True, "docks": b"\xff"})
    assert read_window_state(path) == {"width": 900, "height": 650, "maximized": True, "docks": b"\xff"}
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temp file, renamed
