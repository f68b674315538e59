"""The library sidebar: folders with their indexing and offline state, tags, albums
and places with their counts. Choosing a tag or an album asks the window to show it;
choosing a place asks for its filter-only query (places_tree.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeyEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.library import FolderStatus
from ..core.models import Album, PhotoState
from .browse import Browse, album_browse, tag_browse
from .places_tree import PlacesTree

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
BROWSE_ROLE = Qt.ItemDataRole.UserRole + 2
ALBUM_GROUPS = (("smart", "Smart Albums"), ("event", "Events"), ("tag", "Tag Albums"))


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


def _photos(count: int) -> str:
    return f"{count:,} photo{'s' if count != 1 else ''}"


class CountsTree(QTreeWidget):
    """Names with a count on the right; items carry a Browse. Selecting one (click or
    arrow keys) is what asks for it: focus arriving by Tab browses nothing."""

    delete_pressed = Signal(object)  # the Browse of the selected item

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setAccessibleName(name)
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)

    def add(self, parent: QTreeWidgetItem | None, name: str, count: int, browse: Browse,
            tooltip: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, f"{count:,}"])
        item.setData(0, BROWSE_ROLE, browse)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setForeground(1, self.palette().placeholderText())
        for column in (0, 1):
            item.setToolTip(column, tooltip)
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def selected_browse(self) -> Browse | None:
        items = self.selectedItems()
        return items[0].data(0, BROWSE_ROLE) if items else None

    def select_browse(self, browse: Browse | None) -> None:
        """Select the item showing ``browse`` (by kind and key), quietly."""
        self.blockSignals(True)
        self.clearSelection()
        for item in self.all_items():
            shown = item.data(0, BROWSE_ROLE)
            if browse is not None and shown is not None and (shown.kind, shown.key) == (
                    browse.kind, browse.key):
                item.setSelected(True)
                self.setCurrentItem(item, 0, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.blockSignals(False)

    def all_items(self) -> list[QTreeWidgetItem]:
        found = []
        for top in range(self.topLevelItemCount()):
            item = self.topLevelItem(top)
            found += [item, *(item.child(i) for i in range(item.childCount()))]
        return found

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and self.selected_browse() is not None:
            self.delete_pressed.emit(self.selected_browse())
        else:
            super().keyPressEvent(event)


class Sidebar(QWidget):
    remove_requested = Signal(Path)
    browse_requested = Signal(object)  # a Browse: show this tag or album
    delete_smart_album_requested = Signal(str)
    place_requested = Signal(str)  # the query of a place: "place:Lisbon", "in:Portugal"

    def __init__(self) -> None:
        super().__init__()
        self.folders = QListWidget()
        self.folders.setAccessibleName("Library folders")
        self.folders.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.folders.customContextMenuRequested.connect(self._context_menu)
        self.tags = CountsTree("Tags")
        self.tags.setToolTip("Tags and how many photos have each: choose one to see its photos")
        self.albums = CountsTree("Albums")
        self.albums.setToolTip("Saved searches, events and albums made from tags")
        self.albums.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.albums.customContextMenuRequested.connect(self._album_menu)
        self.albums.delete_pressed.connect(self._delete_pressed)
        self.no_tags = self._hint("No tags yet: Tools ▸ Label Sets… tags the library")
        self.no_albums = self._hint("No albums yet: they come with tags, events and saved searches")
        self.places = PlacesTree()
        self.places.place_chosen.connect(self._place_chosen)
        self.no_places = self._hint("No places yet: photos with a GPS position show here")
        column = QVBoxLayout(self)
        # Alt+D, G, B, C focus the lists (F and T are the File and Tools menus').
        for title, view, hint, stretch in (("Fol&ders", self.folders, None, 1),
                                           ("Ta&gs", self.tags, self.no_tags, 2),
                                           ("Al&bums", self.albums, self.no_albums, 2),
                                           ("Pla&ces", self.places, self.no_places, 2)):
            heading = QLabel(title)
            heading.setStyleSheet("font-weight: bold")
            heading.setBuddy(view)
            column.addWidget(heading)
            if hint is not None:
                column.addWidget(hint)
            column.addWidget(view, stretch)
        for tree in (self.tags, self.albums):
            tree.itemSelectionChanged.connect(lambda tree=tree: self._chosen(tree))
        self.tags.hide()
        self.albums.hide()
        self.places.hide()
        self._shown_counts: list[tuple[str, int]] | None = None
        self._shown_albums: list[Album] | None = None

    @staticmethod
    def _hint(text: str) -> QLabel:
        hint = QLabel(text, wordWrap=True)
        hint.setEnabled(False)  # the palette's disabled text: a hint, not content
        return hint

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

    # -- tags and albums ---------------------------------------------------------------
    def show_tags(self, counts: list[tuple[str, int]]) -> None:
        """Every tag with its photo count, most first (as the core orders them)."""
        if counts == self._shown_counts:
            return  # listed again while indexing: nothing moved, nothing to redraw
        self._shown_counts = counts
        with self._refilling(self.tags):
            for name, count in counts:
                self.tags.add(None, name, count, tag_browse(name), f"{_photos(count)} tagged {name}")
        self.tags.setVisible(bool(counts))
        self.no_tags.setVisible(not counts)

    def show_albums(self, albums: list[Album]) -> None:
        """Grouped: smart albums, then events, then tag albums (the core's order within)."""
        if albums == self._shown_albums:
            return
        self._shown_albums = albums
        with self._refilling(self.albums):
            self._fill_albums(albums)
        self.albums.setVisible(bool(albums))
        self.no_albums.setVisible(not albums)

    @contextlib.contextmanager
    def _refilling(self, tree: CountsTree) -> Iterator[None]:
        """Refill ``tree`` quietly, keeping what was chosen and where it was scrolled to."""
        chosen, scrolled = self.chosen(), tree.verticalScrollBar().value()
        tree.blockSignals(True)
        tree.clear()
        try:
            yield
        finally:
            tree.blockSignals(False)
            tree.select_browse(chosen)
            tree.verticalScrollBar().setValue(scrolled)

    def _fill_albums(self, albums: list[Album]) -> None:
        for kind, title in ALBUM_GROUPS:
            members = [a for a in albums if a.kind == kind]
            if not members:
                continue
            group = QTreeWidgetItem([title, ""])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not selectable
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.albums.addTopLevelItem(group)
            for album in members:
                self.albums.add(group, album.name, len(album.photo_ids), album_browse(album),
                                _album_tooltip(album))
            group.setExpanded(True)

    def show_places(self, places: Sequence[tuple[str, str | None, str, int]]) -> None:
        """Countries and their cities with counts ((country, region, city, n) rows)."""
        self.places.show_places(places)
        self.places.setVisible(bool(places))
        self.no_places.setVisible(not places)

    def _place_chosen(self, query: str) -> None:
        for tree in (self.tags, self.albums):
            tree.select_browse(None)  # one thing is chosen at a time
        self.place_requested.emit(query)

    def tag_names(self) -> list[str]:
        return [self.tags.topLevelItem(i).text(0) for i in range(self.tags.topLevelItemCount())]

    def smart_album_names(self) -> list[str]:
        return [b.key for b in self._browses(self.albums) if b.kind == "smart"]

    def find(self, kind: str, key: str) -> QTreeWidgetItem | None:
        """The tag's or album's item (tests and the keyboard use it)."""
        tree = self.tags if kind == "tag" else self.albums
        for item in tree.all_items():
            browse = item.data(0, BROWSE_ROLE)
            if browse is not None and (browse.kind, browse.key) == (kind, key):
                return item
        return None

    def chosen(self) -> Browse | None:
        return self.tags.selected_browse() or self.albums.selected_browse()

    def clear_choice(self) -> None:
        """Nothing browsed any more (a query was typed, Esc was pressed)."""
        for tree in (self.tags, self.albums):
            tree.select_browse(None)
        self.places.select_query(None)

    def _browses(self, tree: CountsTree) -> list[Browse]:
        return [b for item in tree.all_items() if (b := item.data(0, BROWSE_ROLE)) is not None]

    def _chosen(self, tree: CountsTree) -> None:
        browse = tree.selected_browse()
        if browse is None:
            return
        other = self.albums if tree is self.tags else self.tags
        other.select_browse(None)  # one thing is browsed at a time
        self.places.select_query(None)
        self.browse_requested.emit(browse)

    def _album_menu(self, position: QPoint) -> None:
        item = self.albums.itemAt(position)
        browse = item.data(0, BROWSE_ROLE) if item is not None else None
        if browse is None:
            return
        menu = QMenu(self)
        menu.addAction("Show Photos", lambda: self.browse_requested.emit(browse))
        if browse.kind == "smart":
            menu.addAction("Delete Smart Album…",
                           lambda: self.delete_smart_album_requested.emit(browse.key))
        menu.popup(self.albums.viewport().mapToGlobal(position))

    def _delete_pressed(self, browse: Browse) -> None:
        if browse.kind == "smart":
            self.delete_smart_album_requested.emit(browse.key)


def _album_tooltip(album: Album) -> str:
    what = {"smart": "a saved search: photos scoring at its cutoff, found again each time",
            "event": "photos taken close together in time",
            "tag": f"photos tagged {album.key}"}.get(album.kind, "")
    return f"{album.name}: {_photos(len(album.photo_ids))}, {what}"
