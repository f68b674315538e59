"""Tools > Find Duplicates…: the library's duplicate groups at a tier (exact copies,
near-identical, similar shots), each group's photos side by side with what tells them
apart, the suggested photo to keep marked with why, and moving the extras to the trash.

Keyboard first: Left/Right pick a photo, K keeps it, A keeps the whole group, N/Down and
P/Up step through the groups, Delete moves the extras. Groups are read in the window's
search pool; a choice and the clean-up go to the library's worker (the single writer);
answers come back on the GUI thread. Nothing moves without the confirmation's Yes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.library import Library
from ..core.models import Photo, PhotoMeta
from ..core.organize.cleanup import CleanupPlan, CleanupReport, plan_for
from ..core.organize.duplicates import DuplicateGroup
from ..core.units import human_size
from .duplicate_cards import CARD_THUMBNAIL, PhotoCard, group_title, photo_facts
from .tasks import Generation
from .window_parts import WindowBase

log = logging.getLogger(__name__)

TIERS = (("Copies", "copies"), ("Near-identical", "near"), ("Similar shots", "similar"))
LISTED_NAMES = 15  # file names the confirmation lists before "and N more"
Listing = tuple[list[DuplicateGroup], dict[int, float], dict[int, PhotoMeta]]


def read_groups(library: Library, tier: str) -> Listing:
    """The groups at ``tier`` with their photos' sharpness and headers (off the GUI thread)."""
    groups = library.duplicates.groups(tier)
    ids = [p.id for g in groups for p in g.photos]
    return groups, library.catalog.sharpness_of(ids), library.meta_of(ids)


def choose_keep(library: Library, keep: Photo, others: Sequence[Photo]) -> None:
    """Remember ``keep`` as its group's photo to keep (an earlier pick in it is forgotten)."""
    choices = library.catalog.duplicate_choices()
    for photo in others:
        if choices.get(photo.id) == "best":
            library.catalog.set_duplicate_choice(photo.id, None)
    library.catalog.set_duplicate_choice(keep.id, "best")


def confirmation_text(plans: Sequence[CleanupPlan]) -> str:
    extras = [p for plan in plans for p in plan.extras]
    names = [p.path.name for p in extras[:LISTED_NAMES]]
    if len(extras) > LISTED_NAMES:
        names.append(f"… and {len(extras) - LISTED_NAMES} more")
    freed = human_size(sum(plan.bytes_freed for plan in plans))
    files = "1 file" if len(extras) == 1 else f"{len(extras)} files"
    return (f"Move {files} to the system trash and free {freed}?\n\n" + "\n".join(names)
            + "\n\nYou can put them back from the trash. Tags and albums of each are merged "
            "into the photo kept in its group.")


def report_text(report: CleanupReport) -> str:
    moved = len(report.trashed)
    files = "1 file" if moved == 1 else f"{moved} files"
    text = f"Moved {files} to the trash, freed {human_size(report.bytes_freed)}."
    if report.failed:
        text += f" {len(report.failed)} stayed: " + "; ".join(
            f"{Path(path).name} ({why})" for path, why in report.failed[:5])
    return text


class DuplicatesDialog(QDialog):
    listed = Signal()  # the groups were read (again) and are on show

    def __init__(self, window: WindowBase) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Find Duplicates")
        self.groups: list[DuplicateGroup] = []
        self.sharpness: dict[int, float] = {}
        self.metas: dict[int, PhotoMeta] = {}
        self.keeps: dict[int, Photo] = {}  # group row -> the photo the user chose to keep
        self.kept_all: set[int] = set()  # group rows the user keeps whole
        self.row, self.photo_row = -1, 0
        self.cards: list[PhotoCard] = []
        self._listing = Generation()
        self.report_box: QMessageBox | None = None
        self._build()
        self.resize(1100, 700)
        self.refresh()

    # -- building --------------------------------------------------------------------
    def _build(self) -> None:
        self.tier = QComboBox()
        self.tier.setAccessibleName("Kind of duplicates")
        for text, tier in TIERS:
            self.tier.addItem(text, tier)
        self.tier.setCurrentIndex(1)
        self.tier.currentIndexChanged.connect(self.refresh)
        self.summary = QLabel()
        self.list = QListWidget()
        self.list.setAccessibleName("Duplicate groups")
        self.list.setMaximumWidth(260)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Up/Down are the dialog's keys
        self.list.currentRowChanged.connect(self._group_chosen)
        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.addStretch()  # the cards sit left, side by side
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.strip)
        self.scroll.setAccessibleName("Photos of the group")
        self.status = QLabel(wordWrap=True)
        self.status.setAccessibleName("Status")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.tier)
        top.addWidget(self.summary, 1)
        middle = QHBoxLayout()
        middle.addWidget(self.list)
        middle.addWidget(self.scroll, 1)
        buttons = QHBoxLayout()
        self.keep_button = self._button(buttons, "&Keep This (K)", self.keep_current, "K",
                                        "Keep the chosen photo of this group; the others move")
        self.keep_all_button = self._button(buttons, "Keep &All (A)", self.toggle_keep_all, "A",
                                            "Keep every photo of this group: nothing of it moves")
        buttons.addStretch()
        self.trash_button = self._button(buttons, "Move Extras to Trash…", self.confirm_trash, "Delete",
                                         "Move the photos not kept to the system trash, after asking")
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        for keys, slot in ((("Left",), lambda: self.choose_photo(self.photo_row - 1)),
                           (("Right",), lambda: self.choose_photo(self.photo_row + 1)),
                           (("N", "Down"), lambda: self.choose_group(self.row + 1)),
                           (("P", "Up"), lambda: self.choose_group(self.row - 1))):
            action = QAction(self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _button(self, row: QHBoxLayout, text: str, slot: Callable[[], Any], key: str,
                tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.setToolTip(tip)
        button.setAccessibleName(text.replace("&", "").split(" (")[0])
        button.clicked.connect(slot)
        action = QAction(self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        row.addWidget(button)
        return button

    # -- reading ---------------------------------------------------------------------
    @property
    def tier_name(self) -> str:
        return str(self.tier.currentData())

    def refresh(self) -> None:
        """Read the groups at the chosen tier again (the user's picks start afresh)."""
        tier, generation = self.tier_name, self._listing.next()
        self.summary.setText("Looking for duplicates…")
        self.window_.searches.run(lambda: read_groups(self.window_.library, tier),
                                  lambda answer, error: self._listed(generation, answer, error))

    def _listed(self, generation: int, answer: Listing | None, error: BaseException | None) -> None:
        if not self._listing.is_current(generation):
            return  # another tier was picked meanwhile
        if error is not None or answer is None:
            log.warning("duplicates could not be listed: %s", error)
            self.summary.setText(f"Duplicates could not be listed: {error}")
            answer = ([], {}, {})
        self.groups, self.sharpness, self.metas = answer
        self.keeps, self.kept_all, self.row = {}, set(), -1
        self.list.blockSignals(True)
        self.list.clear()
        for index in range(len(self.groups)):
            self.list.addItem(self._title(index))
        self.list.blockSignals(False)
        if error is None:
            self._show_summary()
        self.choose_group(0)
        self.listed.emit()

    def _show_summary(self) -> None:
        if not self.groups:
            self.summary.setText("No duplicates of this kind.")
            return
        plans = self.plans()
        freed = human_size(sum(p.bytes_freed for p in plans))
        count = len(self.groups)
        self.summary.setText(f"{count} group{'s' if count != 1 else ''} · {freed} to free")

    # -- the groups ------------------------------------------------------------------
    def keep_of(self, row: int) -> Photo:
        return self.keeps.get(row, self.groups[row].keep)

    def plans(self) -> list[CleanupPlan]:
        """What the trash button would move: every group not kept whole."""
        return [plan_for(group, self.keep_of(row)) for row, group in enumerate(self.groups)
                if row not in self.kept_all]

    def _title(self, row: int) -> str:
        group = self.groups[row]
        extra = sum(p.size for p in group.photos if p != self.keep_of(row))
        return group_title(len(group.photos), extra, row in self.kept_all)

    def choose_group(self, row: int) -> None:
        if not self.groups:
            self.row = -1
            self._show_cards()
            return
        row = max(0, min(row, len(self.groups) - 1))
        if row != self.row:
            self.row, self.photo_row = row, 0
            self.list.setCurrentRow(row)
            self._show_cards()

    def _group_chosen(self, row: int) -> None:
        if 0 <= row < len(self.groups) and row != self.row:
            self.choose_group(row)

    def _show_cards(self) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        enabled = self.row >= 0
        for button in (self.keep_button, self.keep_all_button):
            button.setEnabled(enabled)
        self.trash_button.setEnabled(bool(self.groups))
        if not enabled:
            return
        for photo in self.groups[self.row].photos:
            card = PhotoCard(photo, photo_facts(photo, self.metas.get(photo.id),
                                                self.sharpness.get(photo.id)))
            self.strip_layout.insertWidget(self.strip_layout.count() - 1, card)
            self.cards.append(card)
            self._load_thumbnail(card)
        self._show_marks()

    def _load_thumbnail(self, card: PhotoCard) -> None:
        thumbnails, photo = self.window_.model.thumbnails, card.photo

        def load() -> QImage | None:  # off the GUI thread; QImage is thread-safe
            return thumbnails.load(photo, CARD_THUMBNAIL, lambda path: QImage(str(path)))

        self.window_.thumbnail_tasks.run(
            load, lambda image, error: card in self.cards and card.show_image(image))

    def _show_marks(self) -> None:
        group, keep = self.groups[self.row], self.keep_of(self.row)
        reason = group.reason if keep == group.keep else "your choice"
        for index, card in enumerate(self.cards):
            card.show_state(card.photo == keep, reason, self.row in self.kept_all, index == self.photo_row)
        if self.cards:
            self.scroll.ensureWidgetVisible(self.cards[self.photo_row])
        self.list.item(self.row).setText(self._title(self.row))
        self._show_summary()

    def choose_photo(self, index: int) -> None:
        if self.cards:
            self.photo_row = max(0, min(index, len(self.cards) - 1))
            self._show_marks()

    # -- the user's choices ------------------------------------------------------------
    def keep_current(self) -> None:
        """K: the chosen photo becomes its group's keep, remembered for next time."""
        if self.row < 0:
            return
        group, keep = self.groups[self.row], self.cards[self.photo_row].photo
        self.keeps[self.row] = keep
        self.kept_all.discard(self.row)
        self._show_marks()
        others = [p for p in group.photos if p != keep]
        self._write(lambda library: choose_keep(library, keep, others), rescan=False,
                    done=lambda _, error: error is not None and self.status.setText(
                        f"The choice could not be saved: {error}"))

    def toggle_keep_all(self) -> None:
        """A: keep the whole group (nothing of it moves); again: back to one kept."""
        if self.row < 0:
            return
        self.kept_all ^= {self.row}
        self._show_marks()

    def _write(self, work: Callable[[Library], Any], rescan: bool,
               done: Callable[[Any, BaseException | None], None]) -> Future[Any]:
        """Through the worker, the library's single writer; ``done`` on the GUI thread."""
        library = self.window_.library
        future = self.window_.worker.submit(lambda: work(library), rescan=rescan)
        self.window_.searches.deliver(future, done)
        return future

    # -- cleaning up -----------------------------------------------------------------
    def confirm_trash(self) -> None:
        plans = [plan for plan in self.plans() if plan.extras]
        if not plans:
            self.status.setText("Nothing to move: every group is kept whole.")
            return
        answer = QMessageBox.question(self, "Move Extras to Trash", confirmation_text(plans),
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.clean_up(plans)

    def clean_up(self, plans: list[CleanupPlan]) -> None:
        self.trash_button.setEnabled(False)
        self.status.setText("Moving the extras to the trash…")
        # The files are gone and their photos in PhotoClip's trash: no rescan needed.
        self._write(lambda library: library.clean_up(plans), rescan=False, done=self._cleaned)

    def _cleaned(self, report: CleanupReport | None, error: BaseException | None) -> None:
        if error is not None or report is None:
            self.status.setText(f"Nothing was moved: {error}")
            self.trash_button.setEnabled(True)
            return
        self.status.setText(report_text(report))
        box = QMessageBox(QMessageBox.Icon.Information, "Duplicates Cleaned Up", report_text(report),
                          QMessageBox.StandardButton.Ok, self)
        box.open()
        self.report_box = box
        self.window_.run_search()  # the grid may show photos that moved
        self.refresh()
