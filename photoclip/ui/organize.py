"""The window's side of tagging, albums and concepts: the sidebar's tags and albums,
the preview's tag decisions, label sets, smart albums and concepts.

Thin like the rest of the window: reads (tag counts, albums) run in the
organize pool, coalesced so a burst of worker reports makes one listing; every
change goes to the library's worker, the single writer; answers come back on
the GUI thread and the sidebar is listed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QMessageBox, QStyle

from ..core.library import Library
from ..core.models import Album, Photo
from ..core.organize.concepts import MIN_EXAMPLES
from .label_sets_dialog import LabelSetsDialog
from .results_model import PAGE, SCORE_ROLE
from .smart_album_dialog import SmartAlbumDialog
from .tasks import LibraryTasks
from .window_parts import WindowBase

log = logging.getLogger(__name__)

TAG_ACTIONS = {"add": "add_tags", "confirm": "confirm", "reject": "reject", "remove": "remove_tags"}


def _listing(library: Library) -> tuple[list[tuple[str, int]], list[Album]]:
    return library.organizer.tag_counts(), library.organizer.albums()


def _learn(library: Library, name: str, paths: list[Path]) -> tuple[int, int]:
    """Learn the concept; (examples, photos now tagged with it)."""
    concept = library.organizer.add_concept(name, paths)
    return len(concept.example_ids), len(library.catalog.photo_ids_with_tag(concept.name))


class Organize(QObject):
    def __init__(self, window: WindowBase) -> None:
        super().__init__(window)
        self.window = window
        self.tasks = LibraryTasks(lambda: window.library, lambda: window.worker, self)
        self._listing = False  # a listing is in flight
        self._list_again = False  # and another was asked for meanwhile
        self.label_sets_dialog: LabelSetsDialog | None = None
        self.smart_album_dialog: SmartAlbumDialog | None = None
        self.concept_dialog: QInputDialog | None = None
        self._build_actions()
        sidebar = window.sidebar
        sidebar.browse_requested.connect(window.show_browse)
        sidebar.delete_smart_album_requested.connect(self.confirm_delete_smart_album)
        window.library_reopened.connect(self.refresh)
        window.folders_changed.connect(self.refresh)
        window.model.modelReset.connect(self.update_actions)
        window.grid.selectionModel().selectionChanged.connect(self.update_actions)
        self.update_actions()
        self.refresh()

    def _build_actions(self) -> None:
        window = self.window
        menu = window.menuBar().addMenu("&Tools")
        self.label_sets_action = self._action(menu, "&Label Sets…", self.open_label_sets,
                                              "Ctrl+Shift+L", "Which label sets tag your photos")
        self.save_search_action = self._action(
            menu, "&Save Search as Smart Album…", self.save_search, "Ctrl+Shift+S",
            "Keep this search as an album that new matching photos join")
        self.concept_action = self._action(
            menu, "Create &Concept from Selection…", lambda: self.create_concept(), "Ctrl+Shift+K",
            "Teach PhotoClip what the selected photos show (e.g. your dog) to tag and find it")
        icon = QIcon.fromTheme("bookmark-new", window.style().standardIcon(
            QStyle.StandardPixmap.SP_DialogSaveButton))
        self.save_search_action.setIcon(icon)
        # The same command inside the search box, shown only when it applies.
        self.search_box_save = QAction(icon, "Save Search as Smart Album…", window)
        self.search_box_save.setToolTip("Save this search as a smart album (Ctrl+Shift+S)")
        self.search_box_save.triggered.connect(self.save_search)
        window.search_box.addAction(self.search_box_save, QLineEdit.ActionPosition.TrailingPosition)

    def _action(self, menu: QMenu, text: str, slot: Callable[[], Any], shortcut: str,
                tip: str) -> QAction:
        action = QAction(text, self.window)
        action.triggered.connect(slot)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        menu.addAction(action)
        return action

    def update_actions(self) -> None:
        query = bool(self.window.shown_query)
        self.save_search_action.setEnabled(query)
        self.search_box_save.setVisible(query)
        # Counted, not looked up: Ctrl+A on a large library selects many rows.
        selected = len(self.window.grid.selectionModel().selectedIndexes())
        self.concept_action.setEnabled(selected >= MIN_EXAMPLES)

    def add_photo_actions(self, menu: QMenu) -> None:
        """The grid's context menu: what can be done with the selection."""
        self.update_actions()
        menu.addSeparator()
        menu.addAction(self.concept_action)

    def shutdown(self) -> None:
        self.tasks.shutdown()

    def _tell(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15_000)

    def _warn(self, title: str, error: BaseException | None) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, title, f"{title}.\n\n{error}",
                          QMessageBox.StandardButton.Ok, self.window)
        box.open()
        return box

    # -- the sidebar ---------------------------------------------------------------------
    def refresh(self) -> None:
        """List tags and albums again (one listing at a time; asks meanwhile make one more)."""
        if self._listing:
            self._list_again = True
            return
        self._listing = True
        self.tasks.read(_listing, self._listed)

    def _listed(self, answer: tuple[list[tuple[str, int]], list[Album]] | None,
                error: BaseException | None) -> None:
        self._listing = False
        if error is not None or answer is None:
            log.warning("tags and albums could not be listed: %s", error)
        else:
            counts, albums = answer
            self.window.sidebar.show_tags(counts)
            self.window.sidebar.show_albums(albums)
        if self._list_again:
            self._list_again = False
            self.refresh()

    def _changed(self) -> None:
        """Tags or albums changed: the sidebar follows, and so does a tag or album on show."""
        self.refresh()
        if self.window.browse is not None:
            self.window.run_search()

    def confirm_delete_smart_album(self, name: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Delete smart album",
                          f"Delete the smart album {name!r}?\n\nOnly the saved search goes; "
                          "its photos stay in the library.",
                          QMessageBox.StandardButton.Cancel, self.window)
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.finished.connect(lambda _: box.clickedButton() is delete and self._delete(name))
        box.open()

    def _delete(self, name: str) -> None:
        browsed = self.window.browse
        if browsed is not None and (browsed.kind, browsed.key) == ("smart", name):
            self.window.search_box.clear()  # back to the library: the album is going
        self.tasks.write(lambda library: library.organizer.remove_smart_album(name),
                         lambda _, error: self._deleted(name, error))

    def _deleted(self, name: str, error: BaseException | None) -> None:
        if error is not None:
            self._warn(f"Could not delete {name!r}", error)
        else:
            self._tell(f"Deleted the smart album {name!r}")
        self.refresh()

    # -- a photo's tags (the preview's chips) ----------------------------------------------
    def change_tags(self, photo: Photo, action: str, names: list[str],
                    done: Callable[[BaseException | None], None]) -> None:
        method = TAG_ACTIONS[action]
        self.tasks.write(lambda library: getattr(library.organizer, method)(photo.path, names),
                         lambda _, error: (done(error), self._changed()))

    # -- label sets ----------------------------------------------------------------------
    def open_label_sets(self) -> LabelSetsDialog:
        if self.label_sets_dialog is not None and self.label_sets_dialog.isVisible():
            self.label_sets_dialog.raise_()
            self.label_sets_dialog.activateWindow()
            return self.label_sets_dialog
        dialog = LabelSetsDialog(self.tasks, self.window)
        dialog.tags_changed.connect(self._changed)
        dialog.show()
        self.label_sets_dialog = dialog
        return dialog

    # -- smart albums --------------------------------------------------------------------
    def shown_scores(self) -> list[float]:
        """The match scores of the first page of results on show."""
        model = self.window.model
        scores = (model.data(model.index(row), SCORE_ROLE) for row in range(min(model.rowCount(), PAGE)))
        return [float(s) for s in scores if s is not None]

    def save_search(self) -> SmartAlbumDialog | None:
        query = self.window.shown_query
        if not query:
            return None
        dialog = SmartAlbumDialog(query, self.shown_scores(), self.window.sidebar.smart_album_names(),
                                  self.window)
        dialog.accepted.connect(lambda: self._save(dialog.name.text().strip(), query,
                                                   dialog.cutoff.value()))
        dialog.open()
        self.smart_album_dialog = dialog
        return dialog

    def _save(self, name: str, query: str, cutoff: float) -> None:
        self.tasks.write(lambda library: library.organizer.save_smart_album(name, query, cutoff),
                         lambda _, error: self._saved(name, error))

    def _saved(self, name: str, error: BaseException | None) -> None:
        if error is not None:
            self._warn(f"Could not save {name!r}", error)
            return
        self._tell(f"Saved the smart album {name!r}: it is under Albums")
        self.refresh()

    # -- concepts ------------------------------------------------------------------------
    def selected_photos(self) -> list[Photo]:
        rows = sorted(index.row() for index in self.window.grid.selectionModel().selectedIndexes())
        return [photo for row in rows if (photo := self.window.model.photo(row)) is not None]

    def create_concept(self, name: str | None = None) -> QInputDialog | None:
        """Learn a concept from the selected photos: asks its name (the dialog it returns),
        unless ``name`` is given (the Photo menu's callers and tests)."""
        photos = self.selected_photos()
        if len(photos) < MIN_EXAMPLES:
            self._tell("Select at least two photos of the same thing (3 to 10 work best)")
            return None
        if name is not None:
            self._learn(name.strip(), photos)
            return None
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle("Create Concept")
        dialog.setLabelText(f"What do these {len(photos)} photos show? A name such as "
                            "“Rex” or “grandma's kitchen”; photos like them get it as a tag, "
                            "and searches can use it.")
        dialog.textValueSelected.connect(lambda name: self._learn(name.strip(), photos))
        dialog.open()
        self.concept_dialog = dialog
        return dialog

    def _learn(self, name: str, photos: list[Photo]) -> None:
        if not name:
            self._tell("A concept needs a name; nothing was learned")
            return
        paths = [photo.path for photo in photos]
        self._tell(f"Learning {name!r} from {len(paths)} photos…")
        self.tasks.write(lambda library: _learn(library, name, paths),
                         lambda counts, error: self._learned(name, counts, error))

    def _learned(self, name: str, counts: tuple[int, int] | None,
                 error: BaseException | None) -> None:
        if error is not None or counts is None:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "it failed"
            self._tell(f"Could not learn {name!r}: {reason}")  # one line; the box says more
            self._warn(f"Could not learn {name!r}", error)
            return
        examples, tagged = counts
        self._tell(f"Learned {name!r} from {examples} photos; {tagged} photos tagged")
        self._changed()
