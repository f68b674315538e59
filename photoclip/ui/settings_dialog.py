"""Settings: written to the same settings.toml the command line reads (never QSettings only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ..core.clip.precision import PRECISIONS
from ..core.models import PhotoState
from ..core.settings import DEVICES, SIDECAR_STYLES, Settings, SettingsError, save_settings
from .model_picker import ModelPicker

if TYPE_CHECKING:
    from ..core.library import Library

MODEL_HELP = (
    "A new model or device is used as soon as you save. A new model means a full "
    "re-encode: every photo is encoded again in the background, and is found by "
    "searches again once it has been. A model file or folder of your own works offline."
)


def _lines(widget: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in widget.toPlainText().splitlines() if line.strip()]


class SettingsDialog(QDialog):
    # Folders are in the catalog, not settings.toml: they change at once, through the window.
    add_folder_requested = Signal()
    remove_folder_requested = Signal(Path)

    def __init__(self, settings: Settings, path: Path, parent: QWidget | None = None,
                 folders: Sequence[Path] = (), library: Library | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PhotoClip Settings")
        self.path = path
        self.original = settings
        self.saved: Settings | None = None
        # The photo count and measured speeds behind "what switching costs"; the main
        # window is the parent that has the library when none is passed.
        library = library if library is not None else getattr(parent, "library", None)
        self.picker = ModelPicker(
            settings.model,
            library.catalog.state_counts()[PhotoState.INDEXED] if library is not None else 0,
            library.catalog.get_meta if library is not None else None)
        self.model: QLineEdit = self.picker.spec  # what is saved: the table follows it
        self._advanced_widgets(settings)
        self.thumbnail_size = QSpinBox(minimum=64, maximum=512, singleStep=16,
                                       value=settings.thumbnail_size)
        self.exclude = QPlainTextEdit("\n".join(settings.exclude))
        self.exclude.setToolTip("One pattern per line, matched against file and folder names "
                                "(e.g. *.tmp or Screenshots)")
        self.polling = QPlainTextEdit("\n".join(settings.polling_folders))
        self.polling.setToolTip("Library folders on network shares: checked by polling, "
                                "since the OS does not report other machines' changes")
        self.trash_days = QSpinBox(minimum=0, maximum=3650, value=settings.trash_days)
        self._tag_widgets(settings)
        self.folders = QListWidget()
        self.folders.setAccessibleName("Library folders")
        self.set_folders(folders)
        add = QPushButton("Add…")
        add.clicked.connect(self.add_folder_requested)
        remove = QPushButton("Remove…")
        remove.setToolTip("Remove the selected folder from the library (its files are not touched)")
        remove.clicked.connect(self._remove_selected)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addStretch()
        help_text = QLabel(MODEL_HELP, wordWrap=True)
        self.setMinimumWidth(720)  # the model table's columns without scrolling
        # QFormLayout gives a wrapped label the height of a narrower one: ask for enough.
        help_text.setMinimumHeight(help_text.heightForWidth(660))
        lines = self.fontMetrics().lineSpacing()
        for box in (self.folders, self.exclude, self.polling):  # room for ~4 entries each
            box.setMaximumHeight(lines * 5)
        self.error = QLabel()
        self.error.setStyleSheet("color: palette(highlight)")
        form = QFormLayout(self)
        form.addRow("Library folders", self.folders)
        form.addRow("", folder_buttons)
        # The model table gets the dialog's whole width: its six columns need it.
        model_label = QLabel("&Model")
        model_label.setBuddy(self.picker.table)  # Alt+M: the list, arrows choose
        form.addRow(model_label)
        form.addRow(self.picker)
        form.addRow(help_text)
        form.addRow("Thumbnail size", self.thumbnail_size)
        form.addRow("Skip files and folders named", self.exclude)
        form.addRow("Poll these folders", self.polling)
        form.addRow("Keep deleted photos' tags (days)", self.trash_days)
        form.addRow("Albums", self.album_min_photos)
        form.addRow("Events", self.event_gap_hours)
        form.addRow("Keywords", self.read_keywords)
        form.addRow("XMP sidecars", self.xmp_sidecars)
        form.addRow("", self.xmp_style)
        form.addRow(self.advanced_button)
        form.addRow(self.advanced)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _advanced_widgets(self, settings: Settings) -> None:
        """The engineering knobs, folded away under Advanced: the defaults suit most."""
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(settings.device)
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setCurrentText(settings.precision)
        self.precision.setToolTip("On the CPU: auto uses int8 or bf16 where the CPU runs them "
                                  "natively (they agree with fp32), else fp32")
        self.batch_size = QSpinBox(minimum=1, maximum=1024, value=settings.batch_size)
        self.decode_workers = QSpinBox(minimum=0, maximum=256, value=settings.decode_workers,
                                       specialValueText="one per CPU core")
        self.advanced_button = QToolButton(text="&Advanced", checkable=True)
        self.advanced_button.setAccessibleName("Show advanced settings")
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced = QWidget()
        knobs = QFormLayout(self.advanced)
        knobs.setContentsMargins(0, 0, 0, 0)
        knobs.addRow("Device", self.device)
        knobs.addRow("Precision", self.precision)
        knobs.addRow("Batch size", self.batch_size)
        knobs.addRow("Decode workers", self.decode_workers)
        self.advanced.hide()
        self.advanced_button.toggled.connect(self.show_advanced)

    def show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setChecked(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.adjustSize()

    def _tag_widgets(self, settings: Settings) -> None:
        self.album_min_photos = QSpinBox(minimum=1, maximum=1000, value=settings.album_min_photos,
                                         suffix=" photos or more make an album")
        self.event_gap_hours = QDoubleSpinBox(minimum=0.5, maximum=240, decimals=1,
                                              value=settings.event_gap_hours,
                                              prefix="split at gaps over ", suffix=" hours")
        self.read_keywords = QCheckBox("Read keywords already in photos as tags (XMP, IPTC)")
        self.read_keywords.setChecked(settings.read_keywords)
        self.xmp_sidecars = QCheckBox("Write tags to sidecars (photos are never written)")
        self.xmp_sidecars.setToolTip("Tags go to photo.jpg.xmp or photo.xmp files beside the "
                                     "photos, where digiKam, darktable and Lightroom read them")
        self.xmp_sidecars.setChecked(settings.xmp_sidecars)
        self.xmp_style = QComboBox()
        self.xmp_style.addItems(list(SIDECAR_STYLES))
        self.xmp_style.setCurrentText(settings.xmp_sidecar_style)
        self.xmp_style.setToolTip("photo.jpg.xmp: digiKam and darktable; photo.xmp: Lightroom. "
                                  "A sidecar that already exists is updated either way.")
        self.xmp_style.setAccessibleName("Sidecar file name")
        self.xmp_style.setEnabled(settings.xmp_sidecars)
        self.xmp_sidecars.toggled.connect(self.xmp_style.setEnabled)

    def set_folders(self, folders: Sequence[Path]) -> None:
        self.folders.clear()
        for folder in folders:
            item = QListWidgetItem(str(folder))
            item.setData(Qt.ItemDataRole.UserRole, folder)
            self.folders.addItem(item)

    def _remove_selected(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            self.remove_folder_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def edited(self) -> Settings:
        return dataclasses.replace(
            self.original, model=self.model.text().strip(), device=self.device.currentText(),
            precision=self.precision.currentText(), decode_workers=self.decode_workers.value(),
            batch_size=self.batch_size.value(), thumbnail_size=self.thumbnail_size.value(),
            exclude=_lines(self.exclude), polling_folders=_lines(self.polling),
            trash_days=self.trash_days.value(), album_min_photos=self.album_min_photos.value(),
            event_gap_hours=self.event_gap_hours.value(),
            read_keywords=self.read_keywords.isChecked(),
            xmp_sidecars=self.xmp_sidecars.isChecked(),
            xmp_sidecar_style=self.xmp_style.currentText(),
        )

    def save(self) -> None:
        edited = self.edited()
        try:
            save_settings(edited, self.path)  # validates first
        except (SettingsError, OSError) as exc:
            self.error.setText(str(exc))
            return
        self.saved = edited
        self.accept()
