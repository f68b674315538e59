"""The main window's Help menu (Keyboard Shortcuts, About) and the window's look kept
between runs (size, position, docks, splitters, cell size: window_state.py's file), with
the accessible names Qt leaves out of its own parts (a part of MainWindow)."""

from __future__ import annotations

import logging
import re
from importlib.metadata import PackageNotFoundError, version

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox, QSplitter, QToolButton

from .grid_delegate import GridLook
from .shortcuts_help import ShortcutsDialog, name_clear_buttons, window_shortcuts
from .window_parts import WindowBase
from .window_state import read_window_state, window_state_path, write_window_state

log = logging.getLogger(__name__)

DOCK_STATE_VERSION = 1  # QMainWindow.saveState's own version: bump when the docks change
SHORTCUTS_KEYS = ("F1", "Ctrl+/")
MENU_BAR_OVERFLOW = "qt_menubar_ext_button"  # the "»" a narrow menu bar shows


class HelpActions(WindowBase):
    shortcuts_dialog: ShortcutsDialog | None = None

    def build_help_menu(self) -> None:
        """Built last, so that it sits at the menu bar's end and every other part's
        actions exist; names Qt's unnamed parts of the finished window too."""
        menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard Shortcuts", self)
        self.shortcuts_action.setShortcuts([QKeySequence(key) for key in SHORTCUTS_KEYS])
        self.shortcuts_action.setStatusTip("Every key PhotoClip answers to")
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.about_action = QAction("&About PhotoClip", self)
        self.about_action.triggered.connect(self.show_about)
        menu.addAction(self.shortcuts_action)
        menu.addAction(self.about_action)
        self.name_qt_parts()

    def show_shortcuts(self) -> ShortcutsDialog:
        """Read afresh on each opening: actions added since are listed too."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.set_entries(window_shortcuts(self))
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()
        return self.shortcuts_dialog

    def show_about(self) -> QMessageBox:
        try:
            number = version("photoclip")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "(development)"
        box = QMessageBox(QMessageBox.Icon.Information, "About PhotoClip",
                          f"PhotoClip {number}\n\nFinds your photos by what they show, on this "
                          f"computer. It never changes a photo file.\n\n"
                          f"Model: {self.library.spec.open_clip_name}", QMessageBox.StandardButton.Ok, self)
        box.open()  # not exec(): the window keeps running (and a test is not blocked)
        return box

    def name_qt_parts(self) -> None:
        """Accessible names for controls Qt makes without one: line edits' clear buttons,
        the menu bar's overflow button, a dock's list (named after its dock)."""
        name_clear_buttons(self)
        overflow = self.menuBar().findChild(QToolButton, MENU_BAR_OVERFLOW)
        if overflow is not None and not overflow.accessibleName():
            overflow.setAccessibleName("More menus")
        for dock in self.findChildren(QDockWidget):
            inside = dock.widget()
            if inside is not None and not inside.accessibleName():
                # The title may carry a count by now ("Problems (3)"): the name is the word.
                inside.setAccessibleName(re.sub(r"\s*\(\d+\)$", "", dock.windowTitle()))

    # -- the window's look, kept between runs ----------------------------------------------
    def restore_window_state(self) -> None:
        """Where the window was left; the defaults when the file is missing or bad."""
        state = read_window_state(window_state_path(self.library.paths.cache_dir))
        if state is None:
            return
        if "width" in state:
            if "x" in state and _on_a_screen(state["x"], state["y"], state["width"]):
                self.setGeometry(state["x"], state["y"], state["width"], state["height"])
            else:  # that screen is gone (a laptop off its monitor): the size only
                self.resize(state["width"], state["height"])
        if state.get("maximized"):
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        if "docks" in state:
            self._restore_docks(state["docks"])
        splitters = state.get("splitters", {})
        for splitter in self.findChildren(QSplitter):
            if splitter.objectName() in splitters:
                splitter.restoreState(splitters[splitter.objectName()])
        if "grid_look" in state:
            self.set_grid_look(GridLook(state["grid_look"]))
        if "cell_size" in state:
            self.apply_cell_size(state["cell_size"])

    def _restore_docks(self, blob: bytes) -> None:
        """The docks' places and sizes; whether each shows stays the window's business
        (Problems shows when there are problems, not because it did last time)."""
        docks = self.findChildren(QDockWidget)
        hidden = {dock: dock.isHidden() for dock in docks}
        if not self.restoreState(blob, DOCK_STATE_VERSION):
            log.info("the saved dock layout does not fit this window; kept the default")
        for dock in docks:
            dock.setHidden(hidden[dock])

    def save_window_state(self) -> None:
        """Called as the window closes; once (a quit after a close closes it again)."""
        if self.closing:
            return
        maximized = bool(self.windowState() & Qt.WindowState.WindowMaximized)
        normal = self.normalGeometry() if maximized else self.geometry()
        if not normal.isValid():
            normal = self.geometry()
        state = {"x": normal.x(), "y": normal.y(), "width": normal.width(), "height": normal.height(),
                 "maximized": maximized, "docks": self.saveState(DOCK_STATE_VERSION).data(),
                 "splitters": {s.objectName(): s.saveState().data()
                               for s in self.findChildren(QSplitter) if s.objectName()},
                 "cell_size": self.grid.iconSize().width(), "grid_look": self.delegate.look.value}
        path = window_state_path(self.library.paths.cache_dir)
        try:
            write_window_state(path, state)
        except OSError as exc:  # a full disk or a read-only home: next time opens as new
            log.warning("the window's size and layout were not saved to %s: %s", path, exc)


def _on_a_screen(x: int, y: int, width: int) -> bool:
    """Whether the window's title bar would land on a screen there is now."""
    return QGuiApplication.screenAt(QPoint(x + min(width, 200) // 2, y + 10)) is not None
