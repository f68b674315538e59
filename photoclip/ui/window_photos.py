"""The main window's actions on one photo or the selection: the preview (with its
tag chips) and the grid's context menu (a part of MainWindow)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu

from ..core.catalog.text import Line
from ..core.catalog.text_search import TextTerm
from ..core.models import Photo, Tag
from ..core.search.filters import parse_filters
from ..core.search.query import QueryError
from ..core.search.text_marks import marked_terms
from .preview import PreviewDialog
from .window_parts import WindowBase


class PhotoActions(WindowBase):
    def open_preview(self, row: int) -> PreviewDialog | None:
        photo = self.model.photo(row)
        return None if photo is None else self._preview_photo(photo)  # None: page not here yet

    def _preview_photo(self, photo: Photo) -> PreviewDialog | None:
        photos = self.model.photos()  # the arrows step through the rows that have arrived
        if photo not in photos:  # the results changed since the menu opened
            photos = [photo]
        dialog = PreviewDialog(photos, photos.index(photo), self.model.thumbnails,
                               self.thumbnail_tasks, self._tags_of, self,
                               change_tags=self.organize.change_tags,
                               tag_names=self.sidebar.tag_names(),
                               text_of=self._text_of, marked=self._marked_terms())
        dialog.show()
        return dialog

    def _tags_of(self, photo: Photo) -> list[Tag]:
        return self.library.catalog.tags(photo.id)

    def _text_of(self, photo: Photo) -> list[Line] | None:
        stored = self.library.text_of([photo.id]).get(photo.id)
        return None if stored is None else stored.lines

    def _marked_terms(self) -> tuple[TextTerm, ...]:
        """The words the preview marks in a photo's text: the query's, as searched."""
        try:
            return marked_terms(parse_filters(self.search_box.text()))
        except QueryError:
            return ()

    def show_context_menu(self, position: QPoint) -> None:
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
        self.add_stack_actions(menu, index.row())
        self.add_selection_actions(menu)
        self.organize.add_photo_actions(menu)
        menu.popup(self.grid.viewport().mapToGlobal(position))
