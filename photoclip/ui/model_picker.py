"""Settings' model picker: the known CLIP models in a table (size, or "on this computer"
when the Hugging Face cache has its weights already; accuracy, speed measured here,
licence, languages), a model of one's own from disk, and what switching costs. The spec
box under the table is what is saved; the table follows it both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.clip.encoder import ModelSpec
from ..core.clip.known_models import (
    KNOWN_MODELS,
    KnownModel,
    custom_spec,
    describe_switch,
    is_downloaded,
    known_model,
    measured_rates,
    switch_cost,
)
from ..core.settings import DEFAULT_MODEL
from ..core.units import human_size

COLUMNS = ("Model", "Download", "ImageNet", "Speed here", "Licence", "Languages")
SPEC_ROLE = Qt.ItemDataRole.UserRole
ON_THIS_COMPUTER = "on this computer"  # the Download column of a model already in the cache
GetMeta = Callable[[str], str | None]  # Catalog.get_meta


def model_name(model: KnownModel, in_use: str) -> str:
    """The Model column: the name, with "(default)" and "(in use)" where they apply."""
    marks = [word for word, applies in (("default", model.spec == DEFAULT_MODEL),
                                        ("in use", model.spec == in_use)) if applies]
    return f"{model.name} ({', '.join(marks)})" if marks else model.name


class ModelPicker(QWidget):
    spec_changed = Signal(str)

    def __init__(self, current: str, photo_count: int = 0, get_meta: GetMeta | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = current.strip()  # the model in use: switching to it costs nothing
        self.photo_count = photo_count
        self.get_meta = get_meta
        # Read once, from the disk (a few stat calls): the cache doesn't change while
        # Settings is open, except by a model switch, which closes it.
        self.downloaded = {model.spec for model in KNOWN_MODELS if is_downloaded(model.spec)}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("CLIP models")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.spec = QLineEdit(current)
        self.spec.setAccessibleName("Model spec")
        self.spec.setToolTip("ARCH:PRETRAINED, ARCH:/path/to/weights.safetensors, "
                             "local-dir:/path or hf-hub:org/repo")
        self.custom_button = QPushButton("&Custom…")
        self.custom_button.setAccessibleName("Use a model from disk")
        self.custom_button.setToolTip("A weights file (.safetensors, .bin, .pt) or a model folder "
                                      "(open_clip_config.json and weights): works offline")
        menu = QMenu(self.custom_button)
        self.choose_file_action = QAction("Weights &file…", self)
        self.choose_file_action.triggered.connect(self.choose_file)
        self.choose_folder_action = QAction("Model f&older…", self)
        self.choose_folder_action.triggered.connect(self.choose_folder)
        menu.addActions([self.choose_file_action, self.choose_folder_action])
        self.custom_button.setMenu(menu)
        self.cost = QLabel(wordWrap=True)
        self.cost.setAccessibleName("What switching costs")
        self._fill()
        self.table.itemSelectionChanged.connect(self._row_chosen)
        self.spec.textChanged.connect(self._follow_spec)
        self._layout()
        self._follow_spec(self.spec.text())

    def _layout(self) -> None:
        spec_row = QHBoxLayout()
        spec_row.addWidget(self.spec, 1)
        spec_row.addWidget(self.custom_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table)
        column.addLayout(spec_row)
        column.addWidget(self.cost)
        rows = len(KNOWN_MODELS) + 1  # room for every model and a custom one, no scrolling
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + rows * self.table.verticalHeader().defaultSectionSize() + 4)

    def _fill(self) -> None:
        for row, model in enumerate(KNOWN_MODELS):
            size = human_size(model.download_mb * 1_000_000)
            cached = model.spec in self.downloaded
            self._add_row(model.spec, [
                model_name(model, self.current), ON_THIS_COMPUTER if cached else size,
                f"{model.imagenet_top1:.1%}", self._speed(model.spec), model.licence,
                "Multilingual" if model.multilingual else "English"])
            self.table.item(row, 1).setToolTip(
                f"{size}, in the Hugging Face cache already: no download" if cached
                else f"{size} to download the first time it is used")

    def _add_row(self, spec: str, cells: list[str]) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(SPEC_ROLE, spec)
            self.table.setItem(row, column, item)

    def _speed(self, spec: str) -> str:
        rate = self._rates(spec).get(_model_id(spec) or "")
        return f"{rate:.1f} photos/s" if rate else "not measured"

    def _rates(self, spec: str) -> dict[str, float]:
        return measured_rates(self.get_meta, [spec]) if self.get_meta else {}

    def row_spec(self, row: int) -> str | None:
        item = self.table.item(row, 0)
        return item.data(SPEC_ROLE) if item is not None else None

    def custom_row(self) -> int | None:
        """The row past the known models, shown while the spec names none of them."""
        return len(KNOWN_MODELS) if self.table.rowCount() > len(KNOWN_MODELS) else None

    def _row_chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        spec = self.row_spec(rows[0].row()) if rows else None
        if spec is not None and spec != self.spec.text().strip():
            self.spec.setText(spec)

    def _follow_spec(self, text: str) -> None:
        """The spec box changed (typed, chosen, set): select its row and cost it."""
        spec = text.strip()
        known = known_model(spec)
        # The row follows the text, not the other way round; and a selection signal from
        # the custom row while it is removed would reach an item already deleted.
        self.table.blockSignals(True)
        if known is not None or not spec:
            if self.custom_row() is not None:
                self.table.removeRow(len(KNOWN_MODELS))
        else:
            self._show_custom(spec)
        row = KNOWN_MODELS.index(known) if known is not None else self.custom_row()
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
        self.table.blockSignals(False)
        self.cost.setText(self._cost_text(spec))
        self.spec_changed.emit(spec)

    def _show_custom(self, spec: str) -> None:
        where = "on disk" if _is_local(spec) else ON_THIS_COMPUTER if is_downloaded(spec) else "?"
        cells = [f"Custom: {spec}" + (" (in use)" if spec == self.current else ""),
                 where, "—", self._speed(spec), "—", "—"]
        if self.custom_row() is None:
            self._add_row(spec, cells)
            return
        for column, text in enumerate(cells):
            item = self.table.item(len(KNOWN_MODELS), column)
            item.setText(text)
            item.setData(SPEC_ROLE, spec)

    def _cost_text(self, spec: str) -> str:
        if not spec:
            return "Choose a model above, or name one: ARCH:WEIGHTS, local-dir:PATH or hf-hub:ORG/REPO."
        if spec == self.current:
            return "In use now: nothing to re-encode."
        try:
            ModelSpec.parse(spec)
        except ValueError as exc:
            return str(exc)
        downloaded = spec in self.downloaded if known_model(spec) else is_downloaded(spec)
        return describe_switch(switch_cost(spec, self.photo_count, self._rates(spec),
                                           downloaded=downloaded))

    def _arch(self) -> str:
        """The architecture a chosen weights file is loaded as when its name names none:
        the selected known model's, else the one in use, else the default's."""
        for spec in (self.spec.text().strip(), self.current, DEFAULT_MODEL):
            try:
                parsed = ModelSpec.parse(spec)
            except ValueError:
                continue
            if parsed.pretrained is not None:
                return parsed.open_clip_name
        return DEFAULT_MODEL.partition(":")[0]

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CLIP weights", "",
                                              "Weights (*.safetensors *.bin *.pt *.pth)")
        if path:
            self._use_path(Path(path))

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A model folder (open_clip_config.json "
                                                "and weights)")
        if path:
            self._use_path(Path(path))

    def _use_path(self, path: Path) -> None:
        try:
            self.spec.setText(custom_spec(path, self._arch()))
        except ValueError as exc:
            self.cost.setText(str(exc))


def _model_id(spec: str) -> str | None:
    try:
        return ModelSpec.parse(spec).model_id
    except (ValueError, OSError):
        return None


def _is_local(spec: str) -> bool:
    try:
        return spec.startswith("local-dir:") or ModelSpec.parse(spec).local_weights is not None
    except ValueError:
        return False
