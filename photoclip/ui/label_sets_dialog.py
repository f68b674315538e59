"""Tools > Label Sets…: which zero-shot label sets tag new photos, adding one from a
TOML file, and tagging the whole library with the checked ones now.

Everything it reads (the sets, the settings) comes from the organize pool and
everything it changes goes through the worker, so the dialog never waits on a
file or on the model, and never writes beside the indexer.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.library import Library
from ..core.organize.labelsets import LabelSet
from ..core.organize.organizer import TagRun
from .tasks import LibraryTasks

SET_ROLE = Qt.ItemDataRole.UserRole + 1
NAME, LABELS, KIND, DESCRIPTION = range(4)


def _sets_and_enabled(library: Library) -> tuple[list[LabelSet], list[str], list[str]]:
    """The usable sets, the enabled names, and what is wrong with the unusable files."""
    sets = sorted(library.organizer.label_sets().values(),
                  key=lambda s: (not s.builtin, s.name.casefold()))
    problems = [f"Cannot use {path.name}: {why}"
                for path, why in library.organizer.label_set_problems().items()]
    return sets, list(library.settings.label_sets), problems


def _add_file(library: Library, path: Path) -> LabelSet:
    """Check and install the file, and turn the set on for new photos."""
    label_set = library.organizer.resolve_label_set(str(path))
    library.organizer.set_enabled(label_set.name, True)
    return label_set


def _tag_with(library: Library, sets: list[LabelSet]) -> list[TagRun]:
    return [library.organizer.tag_library(label_set) for label_set in sets]


def describe_runs(runs: list[TagRun]) -> str:
    """ "Tagged 24 photos: 22 tags from shapes, 5 from scenes." """
    if not runs:
        return "Nothing to tag with."
    parts = [f"{run.tags:,} tag{'s' if run.tags != 1 else ''} from {run.label_set}" for run in runs]
    photos = max(run.photos for run in runs)
    return f"Tagged {photos:,} photo{'s' if photos != 1 else ''}: {', '.join(parts)}."


class LabelSetsDialog(QDialog):
    tags_changed = Signal()  # tags were added or removed: the sidebar's counts follow

    def __init__(self, tasks: LibraryTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label Sets")
        self._tasks = tasks
        self.sets = QTreeWidget()
        self.sets.setAccessibleName("Label sets")
        self.sets.setHeaderLabels(["Label set", "Labels", "Kind", "Description"])
        self.sets.setRootIsDecorated(False)
        self.sets.header().setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.sets.setToolTip("Checked sets tag new photos as they are indexed; space bar toggles")
        self.sets.itemChanged.connect(self._toggled)
        self.add_button = self._button("&Add from File…", self.choose_file,
                                       "Add a label set from a .toml file (it is copied into "
                                       "your label sets and turned on)")
        self.tag_button = self._button("&Tag Library Now", self.tag_library,
                                       "Tag every photo of the library with the checked sets "
                                       "(your own tags and rejections are kept)")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # busy, length unknown
        self.busy.setAccessibleName("Tagging")
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        self.status = QLabel(wordWrap=True)
        self.status.setAccessibleName("Label set status")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        row = QHBoxLayout()
        for widget in (self.add_button, self.tag_button, self.busy):
            row.addWidget(widget)
        row.addStretch()
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Label sets are the words PhotoClip tags photos with. "
                                "Checked sets tag new photos as they are indexed.", wordWrap=True))
        layout.addWidget(self.sets, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self.resize(720, 380)
        self.reload()

    def _button(self, text: str, slot: object, tooltip: str) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.setToolTip(tooltip)
        button.clicked.connect(slot)
        return button

    # -- the list ----------------------------------------------------------------------
    def reload(self) -> None:
        self._tasks.read(_sets_and_enabled, self._loaded)

    def _loaded(self, answer: tuple[list[LabelSet], list[str], list[str]] | None,
                error: BaseException | None) -> None:
        if error is not None or answer is None:
            self.status.setText(f"The label sets could not be read: {error}")
            return
        sets, enabled, problems = answer
        if problems:  # a file of the user's that broke: say so rather than hide the set
            self.status.setText("\n".join(problems))
        self.sets.blockSignals(True)  # filling in is not the user toggling
        self.sets.clear()
        for label_set in sets:
            item = QTreeWidgetItem([label_set.name, f"{len(label_set.labels):,}",
                                    "Built-in" if label_set.builtin else "Yours",
                                    label_set.description])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = label_set.name in enabled
            item.setCheckState(NAME, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            item.setData(NAME, SET_ROLE, label_set)
            item.setToolTip(NAME, str(label_set.source or ""))
            item.setToolTip(DESCRIPTION, label_set.description)
            item.setTextAlignment(LABELS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.sets.addTopLevelItem(item)
        for column in (NAME, LABELS, KIND):
            self.sets.resizeColumnToContents(column)
        self.sets.blockSignals(False)
        self._update_buttons()

    def item(self, name: str) -> QTreeWidgetItem | None:
        found = self.sets.findItems(name, Qt.MatchFlag.MatchExactly, NAME)
        return found[0] if found else None

    def checked_sets(self) -> list[LabelSet]:
        items = (self.sets.topLevelItem(i) for i in range(self.sets.topLevelItemCount()))
        return [item.data(NAME, SET_ROLE) for item in items
                if item.checkState(NAME) == Qt.CheckState.Checked]

    def _update_buttons(self, busy: bool = False) -> None:
        self.busy.setVisible(busy)
        self.add_button.setEnabled(not busy)
        self.tag_button.setEnabled(not busy and bool(self.checked_sets()))

    # -- turning sets on and off ---------------------------------------------------------
    def _toggled(self, item: QTreeWidgetItem, column: int) -> None:
        if column != NAME:
            return
        name = item.text(NAME)
        if item.checkState(NAME) == Qt.CheckState.Checked:
            self._set_enabled(name, True)
        else:
            self._confirm_disable(name)

    def _confirm_disable(self, name: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Turn off label set",
                          f"Turn off {name!r}?\n\nIts auto tags will be removed from every "
                          "photo, and new photos won't get them. Tags you added or confirmed "
                          "stay.", QMessageBox.StandardButton.Cancel, self)
        turn_off = box.addButton("Turn Off", QMessageBox.ButtonRole.DestructiveRole)
        box.finished.connect(lambda _: self._disable_answered(name, box.clickedButton() is turn_off))
        box.open()

    def _disable_answered(self, name: str, confirmed: bool) -> None:
        if confirmed:
            self._set_enabled(name, False)
            return
        item = self.item(name)  # looked up again: the list may have been refilled meanwhile
        if item is not None:
            self.sets.blockSignals(True)  # kept on: put the tick back
            item.setCheckState(NAME, Qt.CheckState.Checked)
            self.sets.blockSignals(False)

    def _set_enabled(self, name: str, enabled: bool) -> None:
        self._update_buttons(busy=not enabled)  # removing tags can take a moment
        self._tasks.write(lambda library: library.organizer.set_enabled(name, enabled),
                          lambda _, error: self._enabled_changed(name, enabled, error))

    def _enabled_changed(self, name: str, enabled: bool, error: BaseException | None) -> None:
        if error is not None:
            self._show_error(f"Could not turn {name!r} {'on' if enabled else 'off'}", error)
        elif enabled:
            self.status.setText(f"{name!r} is on: new photos get its tags. "
                                "Tag Library Now tags the photos you have.")
        else:
            self.status.setText(f"{name!r} is off and its auto tags are removed.")
            self.tags_changed.emit()
        self.reload()

    # -- adding and tagging -------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a label set", "", "Label sets (*.toml)")
        if path:
            self.add_file(Path(path))

    def add_file(self, path: Path) -> None:
        self._update_buttons(busy=True)
        self.status.setText(f"Checking {path.name}…")
        self._tasks.write(lambda library: _add_file(library, path),
                          lambda added, error: self._added(path, added, error))

    def _added(self, path: Path, added: LabelSet | None, error: BaseException | None) -> None:
        if error is not None or added is None:
            self.status.setText("")
            self._show_error(f"Cannot add {path.name}", error)
        else:
            self.status.setText(f"Added {added.name!r} ({len(added.labels)} labels) and turned "
                                "it on. Tag Library Now tags the photos you have.")
        self.reload()

    def tag_library(self) -> None:
        sets = self.checked_sets()
        if not sets:
            return
        self._update_buttons(busy=True)
        self.status.setText(f"Tagging the library with {', '.join(s.name for s in sets)}…")
        self._tasks.write(lambda library: _tag_with(library, sets), self._tagged)

    def _tagged(self, runs: list[TagRun] | None, error: BaseException | None) -> None:
        self._update_buttons()
        if error is not None:
            self.status.setText("")
            self._show_error("Tagging failed", error)
            return
        self.status.setText(describe_runs(runs or []))
        self.tags_changed.emit()

    def _show_error(self, title: str, error: BaseException | None) -> None:
        """Said in a box that stays until read: a broken file names the line at fault."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, f"{title}.\n\n{error}",
                          QMessageBox.StandardButton.Ok, self)
        box.open()
