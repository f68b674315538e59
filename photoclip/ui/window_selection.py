"""What can be done with the grid's selection (a part of MainWindow): favourite, rate,
add to an album of one's own, tag, copy the originals or export resized JPEGs to a
folder, copy an image to the clipboard, show in the folder; and dragging the selection
out as real file URLs (results_model.mimeData). Each action is in the Photo menu with
its shortcut, and in the grid's context menu."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from ..core.files.export import copy_originals, export_resized
from ..core.models import Photo, Tag
from .window_parts import WindowBase

log = logging.getLogger(__name__)


class SelectionActions(WindowBase):
    photo_menu: QMenu

    def build_selection_actions(self) -> None:
        self.photo_menu = self.menuBar().addMenu("&Photo")
        self.photo_menu.setAccessibleName("Photo menu")
        self._selection_actions: list[QAction] = []
        self._add("&Favourite", ".", self.favourite_selection)
        self._add("Remove from Favourites", "Shift+.", lambda: self.favourite_selection(False))
        for stars in range(6):
            label = "Clear Rating" if stars == 0 else f"Rate {'★' * stars}"
            self._add(label, f"Ctrl+{stars}", lambda s=stars: self.rate_selection(s))
        self._add("Add to &Album…", "Ctrl+Shift+A", self.add_selection_to_album)
        self._add("Add &Tag…", "Ctrl+T", self.tag_selection)
        self._add("&Copy Originals to Folder…", "Ctrl+Shift+C", self.copy_selection_to_folder)
        self._add("&Export Resized JPEGs…", "Ctrl+E", self.export_selection)
        self._add("Copy &Image", "Ctrl+C", self.copy_image)
        self._add("Show in &Folder", "Ctrl+Shift+F", self.show_selection_in_folder)

    def _add(self, text: str, keys: str, slot: Callable[[], Any]) -> None:
        action = QAction(text, self, triggered=lambda _=False: slot())
        action.setShortcut(QKeySequence(keys))
        self.photo_menu.addAction(action)
        self._selection_actions.append(action)

    def add_selection_actions(self, menu: QMenu) -> None:
        """The grid's context menu: the Photo menu's actions on the selection."""
        menu.addSeparator()
        for action in self._selection_actions:
            menu.addAction(action)

    def selected_photos(self) -> list[Photo]:
        rows = sorted(index.row() for index in self.grid.selectionModel().selectedIndexes())
        if not rows and self.grid.currentIndex().isValid():
            rows = [self.grid.currentIndex().row()]
        return [p for row in rows if (p := self.model.photo(row)) is not None]

    # -- marks, albums, tags: written by the worker ---------------------------------------
    def _write(self, work: Callable[[], Any], said: str) -> None:
        browsing = self.browse is not None  # an album on show may gain or lose photos

        def done(future: Any) -> None:
            error = future.exception()
            self.notice.emit(f"{said} failed: {error}" if error else said)
            if browsing:  # elsewhere the results stay, and so does the selection
                self.search_again.emit()

        self.worker.submit(work, rescan=False).add_done_callback(done)

    def favourite_selection(self, on: bool = True) -> None:
        photos = self.selected_photos()
        if photos:
            library = self.library
            self._write(lambda: library.set_favourite([p.id for p in photos], on),
                        f"{len(photos)} photo{'s' if len(photos) != 1 else ''} "
                        + ("added to" if on else "removed from") + " Favourites")

    def rate_selection(self, stars: int) -> None:
        photos = self.selected_photos()
        if photos:
            library = self.library
            self._write(lambda: library.set_rating([p.id for p in photos], stars),
                        f"rated {len(photos)} photo{'s' if len(photos) != 1 else ''} {stars} stars")

    def add_selection_to_album(self, name: str | None = None) -> None:
        photos = self.selected_photos()
        if not photos:
            return
        if name is None:
            existing = [n for n, _ in self.library.catalog.manual_albums()]
            name, ok = QInputDialog.getItem(self, "Add to Album", "Album (type a new name to make one):",
                                            existing, 0, True)
            if not ok or not name.strip():
                return
        catalog, chosen = self.library.catalog, name.strip()

        def add() -> int:
            if chosen.casefold() not in {n.casefold() for n, _ in catalog.manual_albums()}:
                catalog.create_album(chosen)
            return catalog.add_to_album(chosen, [p.id for p in photos])

        self._write(add, f"added to the album {chosen!r}")

    def tag_selection(self, names: str | None = None) -> None:
        photos = self.selected_photos()
        if not photos:
            return
        if names is None:
            names, ok = QInputDialog.getText(self, "Add Tag", "Tags (comma-separated):")
            if not ok:
                return
        tags = [Tag(n.strip()) for n in names.split(",") if n.strip()]
        catalog = self.library.catalog
        if tags:
            self._write(lambda: [catalog.add_tags(p.id, tags) for p in photos],
                        f"tagged {len(photos)} photo{'s' if len(photos) != 1 else ''}")

    # -- copies for elsewhere ------------------------------------------------------------
    def copy_selection_to_folder(self, folder: Path | None = None) -> None:
        self._export(folder, copy_originals, "copied")

    def export_selection(self, folder: Path | None = None) -> None:
        self._export(folder, export_resized, "exported")

    def _export(self, folder: Path | None, how: Callable[[list[Path], Path], list[Path]], said: str) -> None:
        photos = self.selected_photos()
        if not photos:
            return
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Choose a Folder")
            if not chosen:
                return
            folder = Path(chosen)
        paths = [p.path for p in photos]
        self.searches.run(lambda: how(paths, folder),
                          lambda written, error: self.show_message(
                              f"{said} {len(written or [])} photos to {folder}" if error is None
                              else f"could not copy to {folder}: {error}"))

    def copy_image(self) -> None:
        """The first selected photo, as an image other apps can paste (read off the GUI thread)."""
        photos = self.selected_photos()
        if photos:
            path = str(photos[0].path)
            self.searches.run(lambda: QImage(path), lambda image, error: image is not None
                              and not image.isNull() and QGuiApplication.clipboard().setImage(image))

    def show_selection_in_folder(self) -> None:
        for folder in dict.fromkeys(p.path.parent for p in self.selected_photos()):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
