"""The main window's duplicates: Tools > Find Duplicates… (the review dialog), and stacks
in the grid, a search's duplicate group folded into its best hit, opened in place (a click
on the head's badge, or Show Stack) and closed again (a part of MainWindow)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QMenu

from ..core.models import Photo
from .duplicates_dialog import DuplicatesDialog
from .grid_delegate import GridDelegate
from .window_parts import WindowBase

log = logging.getLogger(__name__)


class DuplicateActions(WindowBase):
    delegate: GridDelegate
    duplicates_dialog: DuplicatesDialog | None = None

    def build_duplicate_actions(self) -> None:
        """The Tools menu's entry (the menu is Organize's) and clicks on stack badges."""
        tools = next((a.menu() for a in self.menuBar().actions() if a.text().replace("&", "") == "Tools"),
                     None) or self.menuBar().addMenu("&Tools")
        self.find_duplicates_action = QAction("Find &Duplicates…", self)
        self.find_duplicates_action.setShortcut(QKeySequence("Ctrl+Shift+D"))
        tip = "Review copies and similar shots, keep the best, move the rest to the trash"
        self.find_duplicates_action.setStatusTip(tip)
        self.find_duplicates_action.setToolTip(tip)
        self.find_duplicates_action.triggered.connect(self.open_duplicates)
        tools.addAction(self.find_duplicates_action)
        self._badge_clicks = _BadgeClicks(self)
        self.grid.viewport().installEventFilter(self._badge_clicks)

    def open_duplicates(self) -> DuplicatesDialog:
        dialog = self.duplicates_dialog
        if dialog is not None and dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        dialog = DuplicatesDialog(self)
        dialog.show()
        self.duplicates_dialog = dialog
        return dialog

    # -- stacks in the grid ------------------------------------------------------------
    def add_stack_actions(self, menu: QMenu, row: int) -> None:
        """The context menu's Show Stack / Collapse Stack for a row in a stack."""
        mark = self.model.stack_at(row)
        if mark is None:
            return
        if mark.stack_id in self.model.expanded:
            menu.addAction("Collapse Stack", lambda: self.collapse_stack(mark.stack_id))
        elif mark.head:
            menu.addAction(f"Show Stack ({mark.size} photos)", lambda: self.expand_stack(row))

    def toggle_stack(self, row: int) -> None:
        mark = self.model.stack_at(row)
        if mark is not None and mark.stack_id in self.model.expanded:
            self.collapse_stack(mark.stack_id)
        elif mark is not None:
            self.expand_stack(row)

    def expand_stack(self, row: int) -> None:
        """Insert the stack's other photos after its head (read in the search pool)."""
        mark, head = self.model.stack_at(row), self.model.photo(row)
        if mark is None or head is None or not mark.head:
            return
        library, generation = self.library, self._generation.current
        tier = library.settings.stacks if library.settings.stacks != "off" else "similar"

        def shown(members: list[Photo] | None, error: BaseException | None) -> None:
            if error is not None or members is None:
                log.warning("the stack could not be read: %s", error)
                return
            # The results changed meanwhile (a new search): the row is someone else's.
            if self._generation.is_current(generation) and self.model.photo(row) == head:
                self.model.expand_stack(row, members)

        self.searches.run(lambda: library.duplicates.members(mark.stack_id, tier), shown)

    def collapse_stack(self, stack_id: int) -> None:
        self.model.collapse_stack(stack_id)


class _BadgeClicks(QObject):
    """A left click on a stack's badge opens or closes the stack (the rest of the cell
    selects as before)."""

    def __init__(self, window: DuplicateActions) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.MouseButtonRelease or not isinstance(event, QMouseEvent) \
                or event.button() != Qt.MouseButton.LeftButton:
            return False
        grid = self.window.grid
        position = event.position().toPoint()
        index = grid.indexAt(position)
        mark = self.window.model.stack_at(index.row()) if index.isValid() else None
        if mark is None or not mark.head:
            return False
        photo = self.window.delegate.photo_rect(grid.visualRect(index), index.row())
        badge = self.window.delegate.stack_badge_rect(photo, grid.fontMetrics(), mark)
        if not badge.contains(position):
            return False
        self.window.toggle_stack(index.row())
        return True
