"""The bar under the search box: the filters in force as chips, a month histogram for
dates, pickers for place, camera, folder, tag and kind with their counts, one for
favourites and stars (``favourite:yes``, ``rating:N``), and a line saying how many photos match.

Two kinds of filter meet here. Those typed in the query (``place:Lisbon``, and date
phrases such as "last summer") come back from the search as ``parsed.chips``; their ×
asks the window to rewrite the query (``typed_chip_removed``). Those chosen with the
pickers or the histogram live in the bar (``picker_filter``) and go with each search
beside the query; their × drops them here (``changed``). The bar only shows and asks:
the window runs every search and every count off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.models import Facets, PhotoFilter
from ..core.search.filters import Chip, filter_from_options
from .flow_layout import FlowLayout
from .month_histogram import MonthHistogram, month_label
from .tag_chips import CHIP_STYLE

if TYPE_CHECKING:
    from ..core.search.finder import FindResult

PHRASE_TIP = "read as a date — click × to search the words"
MENU_ROWS = 40  # values per picker, most photos first: a menu, not a list of everything
# (kind, button text); the kind is also the option of ``filter_from_options`` it fills
PICKERS = (("place", "Place"), ("camera", "Camera"), ("folder", "Folder"), ("tag", "Tag"),
           ("kind", "Kind"))
MARKS_PICKER = "marks"  # the favourites-and-stars picker: one choice of each kind below at most
# (kind, value as filter_from_options reads it, label on the menu and the chip)
MARK_CHOICES = (("favourite", "yes", "♥ Favourites"),
                *(("rating", str(n), f"{'★' * n} {n} star{'s' * (n > 1)}{' and up' * (n < 5)}")
                  for n in range(1, 6)),
                ("rating", "=0", "Unrated"))


@dataclass(frozen=True)
class PickerChoice:
    """A value chosen with a picker: ``value`` as the filter needs it, ``label`` as shown."""

    kind: str  # "place", "camera", "folder", "tag", "kind", "favourite" or "rating"
    value: str
    label: str


def picker_filter(choices: Sequence[PickerChoice],
                  date_range: tuple[str, str] | None) -> PhotoFilter | None:
    """The filter of the bar's own choices (read as the query syntax reads the same
    values: places, cameras and folders folded); None when there are none."""
    if not choices and date_range is None:
        return None
    values = {key: [c.value for c in choices if c.kind == key] for key, _ in PICKERS}
    marks = {key: next((c.value for c in choices if c.kind == key), None) for key in ("favourite", "rating")}
    after, before = date_range or (None, None)
    return filter_from_options(after=after, before=before, **values, **marks)


def status_text(result: FindResult | None) -> str:
    """ "132 matches; 40 weaker hidden", or that nothing matches the filters; nothing
    for a plain text query (a ranking, where every photo is some match)."""
    if result is None:
        return ""
    filtered = not result.parsed.filter.is_empty()
    if not filtered and not result.hidden and result.total is None:
        return ""
    count = result.total if result.total is not None else len(result.hits)
    if count == 0 and filtered:
        return "no photos match these filters"
    text = f"{count:,} match{'es' if count != 1 else ''}"
    return text + (f"; {result.hidden:,} weaker hidden" if result.hidden else "")


def place_rows(places: Sequence[tuple[str, str | None, str, int]],
               ) -> list[tuple[str, int, list[tuple[str, str | None, int]]]]:
    """Countries, most photos first, each with its cities (city, region, n), most first."""
    countries: dict[str, list[tuple[str, str | None, int]]] = {}
    for country, region, city, count in places:
        countries.setdefault(country, []).append((city, region, count))
    rows = [(country, sum(n for *_, n in cities), sorted(cities, key=lambda c: (-c[2], c[0])))
            for country, cities in countries.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


class FilterBar(QWidget):
    changed = Signal()  # a picker or the histogram changed the bar's own filter
    typed_chip_removed = Signal(object)  # a Chip of the query: the window rewrites the query

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A date read from the words is a guess: dashed, like a suggested tag, and italic.
        self.setStyleSheet(CHIP_STYLE + 'QFrame#chip[phrase="true"] { border-style: dashed; }')
        self.choices: list[PickerChoice] = []
        self.date_range: tuple[str, str] | None = None
        self.chips: list[QFrame] = []
        self._typed: tuple[Chip, ...] = ()  # the chips of the query last shown
        self.chip_area = QWidget()
        self.chip_flow = FlowLayout(self.chip_area)
        self.histogram = MonthHistogram()
        self.histogram.range_chosen.connect(self._date_chosen)
        self.pickers: dict[str, QToolButton] = {}
        self.status = QLabel()
        self.status.setAccessibleName("Matches")
        self._layout()

    def _layout(self) -> None:
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        date = QLabel("Date")
        date.setBuddy(self.histogram)
        controls.addWidget(date)
        controls.addWidget(self.histogram, 1)
        controls.addStretch()
        for kind, title in PICKERS:
            button = QToolButton()
            button.setText(title)
            button.setAccessibleName(f"{title} filter")
            button.setToolTip(f"Show only photos of one {title.lower()} (how many each holds)")
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            button.setMenu(QMenu(button))
            self.pickers[kind] = button
            controls.addWidget(button)
        controls.addWidget(self._marks_picker())
        controls.addWidget(self.status)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(controls)
        column.addWidget(self.chip_area)

    def _marks_picker(self) -> QToolButton:
        """Favourites, then "★★★ 3 stars and up" and the like: no counts, the menu never changes."""
        button = QToolButton()
        button.setText("♥ ★")
        button.setAccessibleName("Favourites and rating filter")
        button.setToolTip("Show only favourites, or photos of so many stars and up")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        for kind, value, label in MARK_CHOICES:
            if kind == "rating" and value == "1":
                menu.addSeparator()
            action = QAction(label, menu, checkable=True)
            choice = PickerChoice(kind, value, label)
            action.setData(choice)
            action.triggered.connect(lambda _=False, c=choice: self.toggle(c))
            menu.addAction(action)
        button.setMenu(menu)
        self.pickers[MARKS_PICKER] = button
        return button

    def picker_filter(self) -> PhotoFilter | None:
        return picker_filter(self.choices, self.date_range)

    # -- what the window tells ----------------------------------------------------------
    def show_result(self, result: FindResult | None) -> None:
        """The chips of the query just answered (typed filters, date phrases), the bar's
        own, and how many photos matched; None: a search the filters do not apply to."""
        self._typed = tuple(result.parsed.chips) if result is not None else ()
        self.status.setText(status_text(result))
        filtered = result.parsed.filter if result is not None else self.picker_filter()
        self.histogram.show_range(filtered.after if filtered else None,
                                  filtered.before if filtered else None)
        self._show_chips()

    def show_facets(self, facets: Facets) -> None:
        """Counts under the filter in force: the histogram's bars and the pickers' menus."""
        self.histogram.set_months(facets.months)
        rows: dict[str, list[tuple[str, str, int]]] = {
            "place": [(label, value, n) for label, value, n in _place_entries(facets.places)],
            "camera": [(v, v, n) for v, n in facets.cameras],
            "folder": [(v, v, n) for v, n in facets.folders],
            "tag": [(v, v, n) for v, n in facets.tags],
            "kind": [(v, v, n) for v, n in facets.kinds],
        }
        for kind, entries in rows.items():
            self._fill_menu(kind, entries)

    def _fill_menu(self, kind: str, entries: list[tuple[str, str, int]]) -> None:
        menu = self.pickers[kind].menu()
        menu.clear()
        chosen = {c.value for c in self.choices if c.kind == kind}
        for label, value, count in entries[:MENU_ROWS]:
            # A tab puts the count in the menu's right-hand column.
            action = QAction(f"{label}\t{count:,}", menu, checkable=True)
            action.setChecked(value in chosen)
            choice = PickerChoice(kind, value, label.strip())
            action.triggered.connect(lambda _=False, c=choice: self.toggle(c))
            menu.addAction(action)
        if not entries:
            menu.addAction("None under these filters").setEnabled(False)

    # -- what the user does --------------------------------------------------------------
    def toggle(self, choice: PickerChoice) -> None:
        """Choose a picker's value, or drop it when chosen already; a rating chosen takes
        the place of the one before (two cannot both hold)."""
        kept = [c for c in self.choices if (c.kind, c.value) != (choice.kind, choice.value)]
        if len(kept) == len(self.choices):
            kept = [c for c in kept if c.kind != "rating"] if choice.kind == "rating" else kept
            kept.append(choice)
        self.choices = kept
        self._show_chips()
        self.changed.emit()

    def remove_choice(self, choice: PickerChoice) -> None:
        self.choices = [c for c in self.choices if c != choice]
        self._show_chips()
        self.changed.emit()

    def clear_date(self) -> None:
        self.date_range = None
        self.histogram.show_range(None, None)
        self._show_chips()
        self.changed.emit()

    def _date_chosen(self, after: str, before: str) -> None:
        self.date_range = (after, before)
        self._show_chips()
        self.changed.emit()

    # -- chips ---------------------------------------------------------------------------
    def _show_chips(self) -> None:
        for chip in self.chips:
            self.chip_flow.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for typed in self._typed:
            phrase = typed.source == "phrase"
            self._add_chip(_chip_text(typed), PHRASE_TIP if phrase else f"Typed in the search: "
                           f"{typed.raw}", lambda c=typed: self.typed_chip_removed.emit(c),
                           phrase=phrase)
        for choice in self.choices:
            marks = choice.kind in ("favourite", "rating")  # the label says what it is: "♥ Favourites"
            self._add_chip(choice.label if marks else f"{choice.kind}: {choice.label}",
                           f"Chosen with the {'favourites and rating' if marks else choice.kind} picker",
                           lambda c=choice: self.remove_choice(c))
        if self.date_range is not None:
            self._add_chip(f"date: {_range_label(*self.date_range)}", "Chosen on the histogram",
                           self.clear_date)
        self.chip_area.setVisible(bool(self.chips))
        self.chip_area.updateGeometry()
        for action in self.pickers[MARKS_PICKER].menu().actions():  # ticks as the choices are
            if isinstance(action.data(), PickerChoice):
                action.setChecked(action.data() in self.choices)

    def _add_chip(self, text: str, tooltip: str, remove: Any, *, phrase: bool = False) -> None:
        chip = QFrame(self.chip_area)
        chip.setObjectName("chip")
        chip.setProperty("phrase", phrase)
        chip.setToolTip(tooltip)
        chip.setAccessibleName(f"Filter {text}")
        row = QHBoxLayout(chip)
        row.setContentsMargins(8, 1, 3, 1)
        row.setSpacing(2)
        label = QLabel(text)
        if phrase:
            font = label.font()
            font.setItalic(True)
            label.setFont(font)
        row.addWidget(label)
        button = QToolButton(chip)
        button.setObjectName("remove")
        button.setText("×")
        button.setToolTip(PHRASE_TIP if phrase else f"Remove the filter {text}")
        button.setAccessibleName(f"Remove filter {text}")
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.clicked.connect(lambda _=False: remove())
        row.addWidget(button)
        self.chips.append(chip)
        self.chip_flow.addWidget(chip)

    def chip_texts(self) -> list[str]:
        """What the chips say, in order (tests, and the accessible summary)."""
        return [chip.findChild(QLabel).text() for chip in self.chips]

    def remove_button(self, text: str) -> QToolButton:
        """The × of the chip saying ``text``."""
        chip = next(c for c in self.chips if c.findChild(QLabel).text() == text)
        return chip.findChild(QToolButton, "remove")


def _chip_text(chip: Chip) -> str:
    """ "place: Lisbon" for a typed filter; a date phrase as it was written."""
    return chip.raw if chip.source == "phrase" else f"{chip.kind}: {chip.value}"


def _range_label(after: str, before: str) -> str:
    """ "March 2024 – May 2024" (``before`` is the first day after the last month)."""
    year, month = int(before[:4]), int(before[5:7])
    last = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    first = month_label(after[:7])
    return first if after[:7] == last else f"{first} – {month_label(last)}"


def _place_entries(places: Sequence[tuple[str, str | None, str, int]],
                   ) -> list[tuple[str, str, int]]:
    """The place picker's rows: each country, then its cities indented."""
    entries: list[tuple[str, str, int]] = []
    for country, total, cities in place_rows(places):
        entries.append((country, country, total))
        entries += [(f"    {city}", city, count) for city, _, count in cities]
    return entries
