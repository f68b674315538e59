"""The library sidebar: folders with their indexing and offline state; tags and albums next."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QMenu, QVBoxLayout, QWidget

from ..core.library import FolderStatus
from ..core.models import PhotoState

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def folder_line(status: FolderStatus, offline: bool) -> str:
    """ "Holiday — 1,204 photos, 30 to index" (or "offline")."""
    name = status.folder.path.name or str(status.folder.path)
    counts = status.counts
    total = sum(counts.values())
    parts = [f"{total:,} photo{'s' if total != 1 else ''}"]
    if counts.get(PhotoState.PENDING):
        parts.append(f"{counts[PhotoState.PENDING]:,} to index")
    if counts.get(PhotoState.FAILED):
        parts.append(f"{counts[PhotoState.FAILED]:,} failed")
    if offline:
        parts.append("offline")
    return f"{name}\n{', '.join(parts)}"


class Sidebar(QWidget):
    remove_requested = Signal(Path)

    def __init__(self) -> None:
        super().__init__()
        self.folders = QListWidget()
        self.folders.setAccessibleName("Library folders")
        self.folders.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.folders.customContextMenuRequested.connect(self._context_menu)
        column = QVBoxLayout(self)
        heading = QLabel("<b>Folders</b>")
        heading.setBuddy(self.folders)
        column.addWidget(heading)
        column.addWidget(self.folders, 1)
        # Places the tagging work fills in; said plainly rather than hidden.
        for title in ("Tags", "Albums"):
            column.addWidget(QLabel(f"<b>{title}</b>"))
            soon = QLabel("Come with auto-tagging")
            soon.setEnabled(False)
            column.addWidget(soon)

    def show_folders(self, folders: list[FolderStatus], offline: set[Path]) -> None:
        self.folders.clear()
        for status in folders:
            is_offline = status.folder.path in offline or not status.online
            item = QListWidgetItem(folder_line(status, is_offline))
            item.setToolTip(str(status.folder.path) + (
                "\nOffline: its photos stay in the library and searchable; they are "
                "checked again when the folder is back" if is_offline else ""))
            item.setData(PATH_ROLE, status.folder.path)
            if is_offline:
                item.setForeground(self.palette().placeholderText())
            self.folders.addItem(item)

    def paths(self) -> list[Path]:
        return [self.folders.item(row).data(PATH_ROLE) for row in range(self.folders.count())]

    def count(self) -> int:
        return self.folders.count()

    def _context_menu(self, position: QPoint) -> None:
        item = self.folders.itemAt(position)
        if item is None:
            return
        path: Path = item.data(PATH_ROLE)
        menu = QMenu(self)
        menu.addAction("Show in File Manager",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        menu.addAction("Remove from Library…", lambda: self.remove_requested.emit(path))
        menu.popup(self.folders.viewport().mapToGlobal(position))
