"""Help ▸ Keyboard Shortcuts: every key the window answers to, found, not hand-kept.

The list is read from the window each time the dialog opens: the menus' actions
(grouped by menu), the window's own actions that sit in no menu, and the photo grid's
keys, which are Qt's item-view keys and no actions. A shortcut a part adds later shows
up without anyone editing a table here.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

CLEAR_ACTION = "_q_qlineeditclearaction"  # the objectName Qt gives a line edit's clear action
OTHER_GROUP = "Window"  # actions on the window itself, in no menu (e.g. Find)
GRID_GROUP = "Photo grid"
# The grid's keys: Qt's list view (and the search box) answer to them without actions.
# (name, key, whether an action with that key is this same command and replaces the line:
# a viewer's Return opens the photo, but Esc in the search box clears it whatever else Esc does)
GRID_KEYS = (("Open the photo", "Return", True), ("Select all photos", "Ctrl+A", True),
             ("Search", "Ctrl+F", True), ("Clear the search (in the search box)", "Esc", False))


@dataclass(frozen=True)
class ShortcutEntry:
    group: str  # the menu it is in ("Tools"), or OTHER_GROUP / GRID_GROUP
    name: str  # the action's text without its mnemonic "&"
    keys: str  # native text ("Ctrl+Shift+D"), several joined by ", "


def plain_text(text: str) -> str:
    """A menu text without its mnemonic marks ("&&" is a literal "&")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def native_keys(sequences: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences if not s.isEmpty())


def window_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """Every shortcut of the window, sorted: groups in the menu bar's order, then the
    window's other actions, then the grid's keys; by name within a group."""
    groups: list[str] = []
    entries: list[ShortcutEntry] = []
    seen: set[int] = set()

    def add(group: str, action: QAction) -> None:
        seen.add(id(action))
        keys = native_keys(action.shortcuts())
        if keys:
            entries.append(ShortcutEntry(group, plain_text(action.text()), keys))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            title = plain_text(top.text())
            groups.append(title)
            for group, action in _menu_actions(top.menu(), title, seen):
                add(group, action)
                if group not in groups:
                    groups.append(group)
    for action in window.findChildren(QAction):
        if id(action) not in seen and _acts_in(action, window):
            add(OTHER_GROUP, action)
    taken = {key for entry in entries for key in entry.keys.split(", ")}
    native = [(name, native_keys([QKeySequence(key)]), same) for name, key, same in GRID_KEYS]
    entries += [ShortcutEntry(GRID_GROUP, name, keys) for name, keys, same in native
                if not (same and keys in taken)]
    order = {group: i for i, group in enumerate([*groups, OTHER_GROUP, GRID_GROUP])}
    return sorted(entries, key=lambda e: (order[e.group], e.name.casefold()))


def _menu_actions(menu: QMenu, title: str, seen: set[int]) -> list[tuple[str, QAction]]:
    """(group, action) for a menu and its submenus ("Tools ▸ Export"), each action once."""
    found: list[tuple[str, QAction]] = []
    for action in menu.actions():
        if id(action) in seen or action.isSeparator():
            continue
        seen.add(id(action))
        if action.menu() is not None:
            found += _menu_actions(action.menu(), f"{title} ▸ {plain_text(action.text())}", seen)
        else:
            found.append((title, action))
    return found


def _acts_in(action: QAction, window: QWidget) -> bool:
    """Added to the window or a widget of it: its shortcut works there. Actions of a
    dialog (a child window) and actions added nowhere are not the window's keys."""
    return any(isinstance(o, QWidget) and o.window() is window for o in action.associatedObjects())


def name_clear_buttons(root: QWidget) -> None:
    """Qt gives a line edit's clear button no accessible name; a screen reader then says
    only "button". Name each (call again after adding line edits)."""
    for edit in root.findChildren(QLineEdit):
        clear = edit.findChild(QAction, CLEAR_ACTION)
        for button in clear.associatedObjects() if clear is not None else ():
            if isinstance(button, QWidget) and not button.accessibleName():
                button.setAccessibleName("Clear")
                button.setToolTip("Clear")


class ShortcutsDialog(QDialog):
    """The list, grouped, with a field that narrows it as one types."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter, e.g. “search” or “Ctrl+Shift”")
        self.filter_box.setAccessibleName("Filter shortcuts")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.apply_filter)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Shortcuts")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        self.tree.header().setAccessibleName("Columns")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(520, 560)
        name_clear_buttons(self)

    def set_entries(self, entries: list[ShortcutEntry]) -> None:
        self.tree.clear()
        heads: dict[str, QTreeWidgetItem] = {}
        for entry in entries:
            head = heads.get(entry.group)
            if head is None:
                head = heads[entry.group] = QTreeWidgetItem(self.tree, [entry.group])
                font = head.font(0)
                font.setBold(True)
                head.setFont(0, font)
                head.setFirstColumnSpanned(True)
                head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            QTreeWidgetItem(head, [entry.name, entry.keys])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.apply_filter(self.filter_box.text())

    def apply_filter(self, text: str) -> None:
        """Rows whose name, keys or group contain the text (any case); empty groups hide."""
        needle = text.strip().casefold()
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            in_group = needle in head.text(0).casefold()
            shown = 0
            for j in range(head.childCount()):
                row = head.child(j)
                hit = in_group or needle in row.text(0).casefold() or needle in row.text(1).casefold()
                row.setHidden(not hit)
                shown += hit
            head.setHidden(shown == 0)

    def shown_entries(self) -> list[ShortcutEntry]:
        """What the list shows now, in its order (for tests and for reading it back)."""
        shown = []
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            rows = [head.child(j) for j in range(head.childCount())] if not head.isHidden() else []
            shown += [ShortcutEntry(head.text(0), row.text(0), row.text(1))
                      for row in rows if not row.isHidden()]
        return shown
