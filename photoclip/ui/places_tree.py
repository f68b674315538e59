"""The sidebar's Places: countries, most photos first, each with its cities and counts.

Choosing one asks for the filter-only query of that place (``place:Lisbon``,
``in:Portugal``), which the window runs like a typed one: newest first, with its chip.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from .filter_bar import place_rows

QUERY_ROLE = Qt.ItemDataRole.UserRole + 3


def place_query(prefix: str, name: str) -> str:
    """ "place:Lisbon", 'place:"São Paulo"' (quoted when it has a space or a quote)."""
    if any(ch.isspace() for ch in name) or '"' in name:
        return f'{prefix}:"{name.replace(chr(34), "")}"'
    return f"{prefix}:{name}"


class PlacesTree(QTreeWidget):
    place_chosen = Signal(str)  # the query that shows the place's photos

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Places")
        self.setToolTip("Where the photos were taken (from their GPS positions): choose a "
                        "country or a city to see its photos, newest first")
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.itemSelectionChanged.connect(self._chosen)
        self._shown: tuple[tuple[str, str | None, str, int], ...] | None = None

    def show_places(self, places: Sequence[tuple[str, str | None, str, int]]) -> None:
        """(country, region, city, n) rows, as the catalog counts them."""
        if tuple(places) == self._shown:
            return  # counted again while indexing: nothing moved, nothing to redraw
        self._shown = tuple(places)
        chosen = self.chosen_query()
        expanded = {self.topLevelItem(i).text(0) for i in range(self.topLevelItemCount())
                    if self.topLevelItem(i).isExpanded()}
        self.blockSignals(True)
        self.clear()
        for country, total, cities in place_rows(places):
            top = self._item(None, country, total, place_query("in", country))
            # One city name twice in a country (two Springfields): the region tells them apart.
            names = [city for city, _, _ in cities]
            for city, region, count in cities:
                shown = f"{city} ({region})" if names.count(city) > 1 and region else city
                self._item(top, shown, count, place_query("place", city))
            top.setExpanded(country in expanded)
        self.blockSignals(False)
        self.select_query(chosen)

    def _item(self, parent: QTreeWidgetItem | None, name: str, count: int,
              query: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, f"{count:,}"])
        item.setData(0, QUERY_ROLE, query)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setForeground(1, self.palette().placeholderText())
        for column in (0, 1):
            item.setToolTip(column, f"{name}: {count:,} photo{'s' if count != 1 else ''}")
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def find(self, name: str) -> QTreeWidgetItem | None:
        """The country's or city's item, by the name shown (tests, the keyboard)."""
        found = self.findItems(name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
        return found[0] if found else None

    def chosen_query(self) -> str | None:
        items = self.selectedItems()
        return items[0].data(0, QUERY_ROLE) if items else None

    def select_query(self, query: str | None) -> None:
        """Select the place of ``query`` (or nothing), quietly."""
        self.blockSignals(True)
        self.clearSelection()
        for item in self.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive, 0):
            if query is not None and item.data(0, QUERY_ROLE) == query:
                item.setSelected(True)
        self.blockSignals(False)

    def _chosen(self) -> None:
        query = self.chosen_query()
        if query is not None:
            self.place_chosen.emit(query)
