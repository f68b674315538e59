"""The main window's actions on one photo or the selection: the preview (with its
tag chips) and the grid's context menu (a mixin of MainWindow)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu

from ..core.models import Photo, Tag
from .preview import PreviewDialog

if TYPE_CHECKING:
    from .main_window import MainWindow


class PhotoActions:
    def open_preview(self: MainWindow, row: int) -> PreviewDialog | None:
        photo = self.model.photo(row)
        return None if photo is None else self._preview_photo(photo)  # None: page not here yet

    def _preview_photo(self: MainWindow, photo: Photo) -> PreviewDialog | None:
        photos = self.model.photos()  # the arrows step through the rows that have arrived
        if photo not in photos:  # the results changed since the menu opened
            photos = [photo]
        dialog = PreviewDialog(photos, photos.index(photo), self.model.thumbnails,
                               self.thumbnail_tasks, self._tags_of, self,
                               change_tags=self.organize.change_tags,
                               tag_names=self.sidebar.tag_names())
        dialog.show()
        return dialog

    def _tags_of(self: MainWindow, photo: Photo) -> list[Tag]:
        return self.library.catalog.tags(photo.id)

    def _context_menu(self: MainWindow, position: QPoint) -> None:
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        photo = self.model.photo(index.row())
        if photo is None:
            return
        menu = QMenu(self)
        menu.addAction("Find Similar", lambda: self.find_similar(photo.path))
        menu.addAction("Open Preview", lambda: self._preview_photo(photo))
        menu.addAction("Open in Default Viewer",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(photo.path))))
        menu.addAction("Show in Folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(photo.path.parent))))
        menu.addAction("Copy Path", lambda: QGuiApplication.clipboard().setText(str(photo.path)))
        self.organize.add_photo_actions(menu)
        menu.popup(self.grid.viewport().mapToGlobal(position))
