"""The text read in a photo, in the preview: the words a search matched marked on the
picture (their boxes) and in the text below it, which the user can select or copy."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..core.catalog.text import Line
from ..core.search.text_marks import TextMark

MARK_FILL = QColor(255, 214, 0, 90)  # a highlighter's yellow, the photo still seen through
MARK_EDGE = QColor(255, 170, 0)


def marked_pixmap(pixmap: QPixmap, marks: Sequence[TextMark]) -> QPixmap:
    """A copy of ``pixmap`` with each mark's box (fractions of the picture) drawn on it."""
    if not marks:
        return pixmap
    marked = QPixmap(pixmap)
    painter = QPainter(marked)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(MARK_EDGE, 2))
    painter.setBrush(QBrush(MARK_FILL))
    width, height = marked.width(), marked.height()
    for mark in marks:
        painter.drawPolygon(QPolygonF([QPointF(x * width, y * height) for x, y in mark.box]))
    painter.end()
    return marked


class PhotoTextPanel(QWidget):
    """The photo's lines, read-only and selectable, the matched words highlighted, and a
    Copy Text button. Hidden for a photo with no text; says so while it is not read yet."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel("Text in this photo")
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setAccessibleName("Text in this photo")
        self.text.setMaximumHeight(110)
        self.copy_button = QPushButton("Copy Text")
        self.copy_button.setAutoDefault(False)
        self.copy_button.setToolTip("Copy the text read in this photo to the clipboard")
        self.copy_button.clicked.connect(self.copy_text)
        row = QHBoxLayout()
        row.addWidget(self.heading, 1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.text)
        self.hide()

    def show_lines(self, lines: Sequence[Line] | None, marks: Sequence[TextMark]) -> None:
        """``lines``: the photo's text (None: not read yet, nothing is shown)."""
        if not lines:
            self.text.clear()
            self.hide()
            return
        self.text.setPlainText("\n".join(text for text, _, _ in lines))
        self.text.setExtraSelections(self._highlights(marks))
        found = len(marks)
        plural = "es" if found != 1 else ""
        self.heading.setText("Text in this photo" + (f" · {found} match{plural} marked" if found else ""))
        self.show()

    def _highlights(self, marks: Sequence[TextMark]) -> list[QTextEdit.ExtraSelection]:
        document = self.text.document()
        shade = QTextCharFormat()
        shade.setBackground(QColor(MARK_EDGE.red(), MARK_EDGE.green(), MARK_EDGE.blue(), 120))
        selections = []
        for mark in marks:
            block = document.findBlockByNumber(mark.line)
            cursor = QTextCursor(block)
            cursor.setPosition(block.position() + mark.start)
            cursor.setPosition(block.position() + mark.end, QTextCursor.MoveMode.KeepAnchor)
            selection = QTextEdit.ExtraSelection()
            selection.cursor, selection.format = cursor, shade  # type: ignore[misc]
            selections.append(selection)
        return selections

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())

    def marked_words(self) -> list[str]:
        """The highlighted words as shown (what a test or an accessibility tool reads)."""
        return [s.cursor.selectedText() for s in self.text.extraSelections()]
