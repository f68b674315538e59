"""What can be done with the grid's selection (a part of MainWindow): favourite, rate,
add to an album of one's own, tag or take a tag off, learn a concept from it, copy the
originals or export resized JPEGs to a folder, copy an image to the clipboard, show in
the folder; and dragging the selection out as real file URLs (results_model.mimeData).
Each action is in the Photo menu with its shortcut, and in the grid's context menu."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from ..core.catalog.store import Catalog
from ..core.files.export import copy_originals, export_resized
from ..core.library import Library
from ..core.models import Photo, Tag
from .window_parts import WindowBase

log = logging.getLogger(__name__)


class ConceptTeaching(Protocol):
    """What the Photo menu uses of the Organize helper's concepts (its action and dialog:
    one command, one shortcut, wherever it is listed)."""

    concept_action: QAction

    def create_concept(self, name: str | None = None) -> QInputDialog | None: ...


@dataclass(frozen=True)
class TagOnSelection:
    name: str
    photos: int  # how many of the selected photos carry it
    suggested: int  # of those, how many only as an auto tag (a suggestion)


def tags_on(catalog: Catalog, photo_ids: Sequence[int]) -> list[TagOnSelection]:
    """The tags the photos carry (rejected ones aren't), the most common first."""
    carried: Counter[str] = Counter()
    suggested: Counter[str] = Counter()
    for photo_id in photo_ids:
        for tag in catalog.tags(photo_id):
            carried[tag.name] += 1
            suggested[tag.name] += tag.source == "auto"
    return [TagOnSelection(name, count, suggested[name])
            for name, count in sorted(carried.items(), key=lambda item: (-item[1], item[0].casefold()))]


def tag_choice(tag: TagOnSelection, selected: int) -> str:
    """ "beach (on 3 of 5 photos; suggested on 1)": what the Remove Tag list shows."""
    on = f"on {tag.photos} of {selected} photos" if selected > 1 else "on this photo"
    return f"{tag.name} ({on}" + (f"; suggested on {tag.suggested})" if tag.suggested else ")")


def take_tag_off(library: Library, photos: Sequence[Photo], name: str) -> tuple[int, int]:
    """``name`` off each photo as the preview's chips do it: the user's tag is removed, a
    suggestion (auto tag) rejected, so no later tagging run adds it again. Returns
    (removed, rejected); photos without it are left alone."""
    removed = rejected = 0
    for photo in photos:
        source = next((t.source for t in library.catalog.tags(photo.id) if t.name == name), None)
        if source == "auto":
            library.organizer.reject(photo.path, [name])
            rejected += 1
        elif source is not None:
            library.organizer.remove_tags(photo.path, [name])
            removed += 1
    return removed, rejected


def _photos(count: int) -> str:
    return f"{count} photo{'s' if count != 1 else ''}"


class SelectionActions(WindowBase):
    photo_menu: QMenu
    remove_tag_dialog: QInputDialog | None = None

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
        self._add("&Remove Tag…", "Ctrl+Shift+T", self.remove_tag_from_selection)
        self._add("&Copy Originals to Folder…", "Ctrl+Shift+C", self.copy_selection_to_folder)
        self._add("&Export Resized JPEGs…", "Ctrl+E", self.export_selection)
        self._add("Copy &Image", "Ctrl+C", self.copy_image)
        self._add("Show in &Folder", "Ctrl+Shift+F", self.show_selection_in_folder)
        # Organize's own action (Tools menu, Ctrl+Shift+K, and the grid's context menu):
        # the same QAction here, not a second one fighting it for the shortcut.
        self.photo_menu.addSeparator()
        self.photo_menu.addAction(self._concepts().concept_action)

    def _concepts(self) -> ConceptTeaching:
        return cast(ConceptTeaching, self.organize)

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
    def _write(self, work: Callable[[], Any], said: str | Callable[[Any], str],
               marked: list[int] | None = None) -> None:
        """``work`` on the worker; then ``said`` (or ``said(work's answer)``) in the status bar.
        ``marked``: the photos whose favourite or stars it changes (their cells show them)."""
        browsing = self.browse is not None  # an album on show may gain or lose photos

        def done(future: Any) -> None:
            if marked:
                self.marks_changed.emit(marked)
            error = future.exception()
            if error is None:
                self.notice.emit(said if isinstance(said, str) else said(future.result()))
            else:
                what = said if isinstance(said, str) else "changing the photos"
                self.notice.emit(f"{what} failed: {error}")
            if browsing:  # elsewhere the results stay, and so does the selection
                self.search_again.emit()

        self.worker.submit(work, rescan=False).add_done_callback(done)

    def favourite_selection(self, on: bool = True) -> None:
        photos = self.selected_photos()
        if photos:
            library = self.library
            self._write(lambda: library.set_favourite([p.id for p in photos], on),
                        f"{len(photos)} photo{'s' if len(photos) != 1 else ''} "
                        + ("added to" if on else "removed from") + " Favourites", [p.id for p in photos])

    def rate_selection(self, stars: int) -> None:
        photos = self.selected_photos()
        if photos:
            library = self.library
            self._write(lambda: library.set_rating([p.id for p in photos], stars),
                        f"rated {len(photos)} photo{'s' if len(photos) != 1 else ''} {stars} stars",
                        [p.id for p in photos])

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

    def remove_tag_from_selection(self, name: str | None = None) -> None:
        """Take a tag off the selected photos; without ``name``, asks which of the tags they
        carry (read off the GUI thread: Ctrl+A selects thousands)."""
        photos = self.selected_photos()
        if not photos:
            return
        if name is not None:
            self._take_tag_off(photos, name)
            return
        catalog, ids = self.library.catalog, [p.id for p in photos]
        self.searches.run(lambda: tags_on(catalog, ids),
                          lambda tags, error: self._ask_which_tag(photos, tags, error))

    def _ask_which_tag(self, photos: list[Photo], tags: list[TagOnSelection] | None,
                       error: BaseException | None) -> None:
        if error is not None or tags is None:
            self.show_message(f"could not read the photos' tags: {error}")
            return
        if not tags:
            self.show_message("the selected photo has no tags" if len(photos) == 1
                              else f"the {len(photos)} selected photos have no tags")
            return
        choices = {tag_choice(tag, len(photos)): tag.name for tag in tags}
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Remove Tag")
        dialog.setAccessibleName("Remove Tag")
        dialog.setLabelText(f"Take which tag off the {_photos(len(photos))}? "
                            "A suggested tag is rejected, so it doesn't come back.")
        dialog.setComboBoxItems(list(choices))
        dialog.setComboBoxEditable(False)
        dialog.setOkButtonText("Remove")
        dialog.textValueSelected.connect(lambda text: self._take_tag_off(photos, choices[text]))
        dialog.open()
        self.remove_tag_dialog = dialog

    def _take_tag_off(self, photos: list[Photo], name: str) -> None:
        library = self.library

        def said(counts: tuple[int, int]) -> str:
            removed, rejected = counts
            if removed + rejected == 0:
                return f"none of the {_photos(len(photos))} had the tag {name!r}"
            return (f"removed the tag {name!r} from {_photos(removed + rejected)}"
                    + (f" ({rejected} suggested: rejected)" if rejected else ""))

        self._write(lambda: take_tag_off(library, photos, name), said)

    def make_concept_from_selection(self, name: str | None = None) -> QInputDialog | None:
        """Organize's Create Concept: asks a name (the dialog it returns) unless given one."""
        return self._concepts().create_concept(name)

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
