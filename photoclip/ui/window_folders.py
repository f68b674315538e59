"""The main window's library folders: adding (menu, button, drop), removing (asked
first), and the sidebar's list of them (a part of MainWindow). The worker
makes the changes; the list refreshes when it is done."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.library import FolderStatus
from .window_parts import WindowBase


class FolderActions(WindowBase):
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if path:
            self.add_folder(Path(path))

    def add_folder(self, path: Path) -> None:
        """Added by the worker (it owns the writes); the list refreshes when it is done."""
        future = self.worker.submit(lambda: self.library.add_folder(path))
        future.add_done_callback(lambda f: self._folder_added(path, f.exception()))

    def _folder_added(self, path: Path, error: BaseException | None) -> None:
        if error is not None:  # on the worker thread: signals carry it to the GUI thread
            self.notice.emit(f"Cannot add {path}: {error}")
        self.folders_changed.emit()

    def confirm_remove_folder(self, path: Path) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Remove folder",
                          f"Remove {path} from the library?\n\nIts photos leave PhotoClip's "
                          "index and search; the files themselves are not touched.",
                          QMessageBox.StandardButton.Cancel, self)
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.finished.connect(lambda _: box.clickedButton() is remove and self.remove_folder(path))
        box.open()

    def remove_folder(self, path: Path) -> None:
        future = self.worker.submit(lambda: self.library.remove_folder(path))
        future.add_done_callback(lambda f: self._folder_removed(path, f.exception()))

    def _folder_removed(self, path: Path, error: BaseException | None) -> None:
        if error is not None:  # on the worker thread
            self.notice.emit(f"Cannot remove {path}: {error}")
        self.folders_changed.emit()
        self.search_again.emit()

    def refresh_folders(self) -> None:
        self.searches.run(self.library.folders,
                          lambda folders, error: self._show_folders(folders or []))

    def _show_folders(self, folders: list[FolderStatus]) -> None:
        self.sidebar.show_folders(folders, set(self.worker.status.offline))
        self.folders_shown.emit(self.sidebar.paths())
        if not self.model.rowCount():
            self.run_search()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # folders dropped on the window
        if any(Path(u.toLocalFile()).is_dir() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if Path(url.toLocalFile()).is_dir():
                self.add_folder(Path(url.toLocalFile()))
