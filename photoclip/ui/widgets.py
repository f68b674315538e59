"""Small widgets of the main window: the search bar, the status line, the model banner."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from ..core.files.formats import SUPPORTED_EXTENSIONS
from ..core.live.worker import WorkerStatus


def describe(status: WorkerStatus) -> str:
    """One status-bar line for what the worker is doing."""
    if status.state == "downloading model":
        return "Downloading the CLIP model (once): " + _megabytes(status.downloaded,
                                                                  status.download_size)
    if status.state == "indexing":
        eta = ""
        if status.rate > 0 and status.total > status.done:
            seconds = int((status.total - status.done) / status.rate)
            eta = f", about {seconds // 60}:{seconds % 60:02d} left"
        current = f" — {status.current.name}" if status.current else ""
        return (f"Indexing {status.done} of {status.total} ({status.rate:.1f} photos/s{eta})"
                f"{current}")
    if status.state == "reading text":  # the text pass, after every photo is searchable
        return f"Reading text: {status.done:,} of {status.total:,}"
    return {
        "starting": "Starting…", "scanning": "Checking folders for changes…",
        "paused": "Indexing paused", "no model": "Indexing needs the CLIP model (see messages)",
        "finding duplicates": "Finding duplicates…",
        "stopped": "Stopped", "catalog damaged": "Indexing stopped: the catalog is damaged (see messages)",
    }.get(status.state, "Up to date")


def _megabytes(done: int, total: int) -> str:
    if total <= 0:
        return f"{done / 1e6:.0f} MB"
    return f"{done / 1e6:.0f} of {total / 1e6:.0f} MB ({100 * done // total}%)"


class SearchBox(QLineEdit):
    """The search bar; an image file dropped on it means "find photos like this"."""

    image_dropped = Signal(Path)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()  # Esc clears the query (back to the whole library)
        else:
            super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        # QLineEdit accepts moves only for text: without this a file's drag shows
        # "not allowed" over the bar and the drop never arrives.
        if _dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        image = _dropped_image(event)
        if image is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.image_dropped.emit(image)


def _dropped_image(event: QDropEvent) -> Path | None:  # enter and move events are drops too
    for url in event.mimeData().urls():
        path = Path(url.toLocalFile())
        if path.is_file() and path.suffix.lower() in SUPPORTED_EXTENSIONS:
            return path
    return None


class ModelBanner(QWidget):
    """Shown while the CLIP model downloads, or when photos can't be indexed for want
    of it; browsing and searching what is indexed go on meanwhile."""

    model_chosen = Signal(str)  # a model spec for settings.toml

    def __init__(self, arch: str) -> None:
        super().__init__()
        self.arch = arch
        self.text = QLabel(wordWrap=True)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model download")
        self.choose_button = QPushButton("Use a Model File on Disk…")
        self.choose_button.setToolTip("A .safetensors file for this architecture, or a folder "
                                      "with open_clip_config.json and its weights")
        self.choose_button.clicked.connect(self.choose)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        row.addWidget(self.progress)
        row.addWidget(self.choose_button)
        self.hide()

    def show_problem(self, message: str) -> None:
        self.text.setText(f"{message}. Searching what is indexed still works.")
        self.progress.hide()
        self.choose_button.show()
        self.show()

    def show_download(self, done: int, total: int) -> None:
        self.text.setText("Downloading the CLIP model into the Hugging Face cache (once): "
                          f"{_megabytes(done, total)}. Browsing works meanwhile.")
        # QProgressBar holds a 32-bit int: kilobytes, so multi-GB models fit too.
        self.progress.setRange(0, max(total // 1000, 0))
        self.progress.setValue(done // 1000)
        self.progress.show()
        self.choose_button.hide()
        self.show()

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CLIP weights", "", "Weights (*.safetensors)")
        if path:
            self.model_chosen.emit(f"{self.arch}:{path}")

