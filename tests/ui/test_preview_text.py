"""The preview shows the text read in a photo, marks the words the search matched on the
picture and in the text, and copies the text (real window offscreen, tiny model; the
text saved into the catalog as the text pass would, with its real line box)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtGui import QColor, QGuiApplication

from photoclip.core.library import Library
from photoclip.ui.main_window import MainWindow
from tests.ocr_corpus import font
from tests.synthetic import make_library
from tests.ui.conftest import indexed, save_screenshot

LINE = "WIFI PASSWORD: hunter2"


def _board(path: Path) -> tuple[tuple[float, float], ...]:
    """A whiteboard photo with one line of text; returns that line's box in fractions."""
    image = Image.new("RGB", (800, 600), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.text((60, 260), LINE, font=font(48), fill=(20, 20, 20))
    left, top, right, bottom = draw.textbbox((60, 260), LINE, font=font(48))
    image.save(path)
    w, h = image.size
    return ((left / w, top / h), (right / w, top / h), (right / w, bottom / h), (left / w, bottom / h))


def test_preview_marks_the_matched_word_and_copies_the_text(qtbot, window: MainWindow, library: Library,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "Pictures"
    make_library(folder, per_class=1, seed=3, formats=("PNG",))
    box = _board(folder / "whiteboard.png")
    window.add_folder(folder)
    qtbot.waitUntil(lambda: indexed(library) == 13 and window.status_label.text() == "Up to date",
                    timeout=120_000)
    board = library.photo_at(folder / "whiteboard.png")
    library.catalog.save_text(board.id, [(LINE, box, 0.97)], "test-engine 1")

    window.search_box.setText("hunter2")
    window.run_search()
    qtbot.waitUntil(lambda: board in window.model.photos(), timeout=30_000)
    preview = window.open_preview(window.model.photos().index(board))
    qtbot.addWidget(preview)
    qtbot.waitUntil(lambda: preview.text_panel.isVisible() and preview.picture.pixmap() is not None
                    and not preview.picture.pixmap().isNull(), timeout=30_000)

    assert preview.text_panel.text.toPlainText() == LINE
    assert preview.text_panel.marked_words() == ["hunter2"]
    assert "1 match marked" in preview.text_panel.heading.text()
    # On the picture: the word's part of the line is painted over, the rest of it is not.
    picture = preview.picture.pixmap().toImage()
    (x0, y0), (x1, _), _, (_, y1) = preview.marks[0].box
    centre = int((x0 + x1) / 2 * picture.width()), int((y0 + y1) / 2 * picture.height())
    inside = QColor(picture.pixel(*centre))
    blank = QColor(picture.pixel(int(0.05 * picture.width()), int(0.1 * picture.height())))
    assert (blank.red(), blank.green(), blank.blue()) == (250, 250, 250)
    assert inside.blue() < 200 < inside.red()  # the highlighter's yellow over the board
    save_screenshot(preview, "preview-text")

    preview.text_panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == LINE

    # Another photo, no text read: the panel goes; a plain browse marks nothing.
    other = next(i for i, p in enumerate(window.model.photos()) if p != board)
    preview.show_row(other)
    qtbot.waitUntil(lambda: not preview.text_panel.isVisible() and preview.marks == [], timeout=10_000)
