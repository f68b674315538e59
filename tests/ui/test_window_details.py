"""The window's finer points: sidebar state, drops, badges, keyboard, model switch, download."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRect, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QStandardItemModel,
)
from PySide6.QtWidgets import QApplication, QMessageBox, QStyleOptionViewItem

from photoclip.core.library import Library
from photoclip.core.settings import load_settings
from photoclip.ui.grid_delegate import GridDelegate
from photoclip.ui.main_window import MainWindow
from photoclip.ui.preview import PreviewDialog
from photoclip.ui.results_model import SCORE_ROLE
from tests.synthetic import make_library
from tests.ui.conftest import add_and_index, indexed, save_screenshot, thumbnails_shown

pytestmark = pytest.mark.model


def _add_and_index(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> Path:
    return add_and_index(qtbot, window, library, tmp_path / "Holiday", seed=5)


def test_sidebar_shows_counts_and_a_folder_can_be_removed(qtbot, window: MainWindow,
                                                          library: Library, tmp_path: Path) -> None:
    folder = _add_and_index(qtbot, window, library, tmp_path)
    qtbot.waitUntil(lambda: window.sidebar.count() == 1
                    and "24 photos" in window.sidebar.folders.item(0).text(), timeout=10_000)
    assert window.sidebar.folders.item(0).text().startswith("Holiday\n")
    assert str(folder.resolve()) in window.sidebar.folders.item(0).toolTip()

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    # Removing from Settings > Library folders asks first, then removes.
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    assert [dialog.folders.item(0).text()] == [str(folder.resolve())]
    dialog.folders.setCurrentRow(0)
    dialog._remove_selected()
    (box,) = [w for w in QApplication.topLevelWidgets()
              if isinstance(w, QMessageBox) and w.isVisible()]
    assert "files themselves are not touched" in box.text()
    next(b for b in box.buttons() if b.text() == "Remove").click()
    qtbot.waitUntil(lambda: window.sidebar.count() == 0 and window.model.rowCount() == 0,
                    timeout=30_000)
    assert indexed(library) == 0
    assert sorted(p for p in folder.rglob("*") if p.is_file()) == files  # files untouched
    assert dialog.folders.count() == 0  # the open dialog follows
    qtbot.waitUntil(lambda: "Welcome" in window.empty.text(), timeout=10_000)


# PySide 6.12 flags the drag events' QPoint constructors, the only ones Qt 6 has.
@pytest.mark.filterwarnings("ignore:Function.*QDrag.*deprecated:DeprecationWarning")
def test_dropping_an_image_on_the_search_bar_finds_similar(qtbot, window: MainWindow,
                                                           library: Library,
                                                           tmp_path: Path) -> None:
    _add_and_index(qtbot, window, library, tmp_path)
    outside = tmp_path / "elsewhere"  # any image, not only one in the library
    make_library(outside, per_class=1, seed=99, formats=("PNG",))
    dropped = next(outside.rglob("yellow_triangle_*"))
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(dropped))])
    # What a drag from a file manager delivers: enter, move (each must be accepted
    # for the drop to be allowed), then the drop.
    args = (Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(QPoint(5, 5), *args), QDragMoveEvent(QPoint(5, 5), *args)):
        QApplication.sendEvent(window.search_box, event)
        assert event.isAccepted(), type(event).__name__
    QApplication.sendEvent(window.search_box, QDropEvent(QPointF(5, 5), *args))
    assert window.search_box.text() == f"similar to {dropped.name}"
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=30_000)
    assert window.model.photo(0).path.name.startswith("yellow_triangle")


def _paint_cell(score: float | None, palette: QPalette) -> QImage:
    model = QStandardItemModel(1, 1)
    model.setData(model.index(0, 0), "photo.jpg")
    model.setData(model.index(0, 0), score, SCORE_ROLE)
    image = QImage(180, 200, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 180, 200)
    option.palette = palette
    option.fontMetrics = QFontMetrics(QApplication.font())
    painter = QPainter(image)
    GridDelegate().paint(painter, option, model.index(0, 0))
    painter.end()
    return image


def test_search_hits_carry_a_score_badge_browsing_does_not(qtbot) -> None:
    palette = QApplication.palette()
    plain, scored = _paint_cell(None, palette), _paint_cell(0.314, palette)
    corner = [(x, y) for x in range(130, 176) for y in range(4, 20)]
    assert any(plain.pixel(x, y) != scored.pixel(x, y) for x, y in corner), "no badge drawn"
    white = QColor("white").rgb()
    assert all(plain.pixel(x, y) == white for x, y in corner)  # no badge without a score


def test_keyboard_tab_order_and_enter_opens_the_viewer(qtbot, window: MainWindow,
                                                       library: Library, tmp_path: Path) -> None:
    _add_and_index(qtbot, window, library, tmp_path)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=10_000)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    qtbot.keyClick(window.search_box, Qt.Key.Key_Tab)
    assert window.grid.hasFocus()
    window.grid.setCurrentIndex(window.model.index(3))
    opened: list[int] = []
    window.grid.activated.connect(lambda index: opened.append(index.row()))
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert opened == [3]
    assert window.pages.currentWidget() is window.viewer_page  # in the window, not a dialog
    assert window.viewer_photo == window.model.photo(3)
    assert not any(isinstance(w, PreviewDialog) and w.isVisible() for w in QApplication.topLevelWidgets())
    assert window.search_box.accessibleName() and window.grid.accessibleName()


def test_download_progress_shows_in_the_banner(qtbot, window: MainWindow,
                                               library: Library) -> None:
    qtbot.waitUntil(lambda: "Welcome" in window.empty.text(), timeout=10_000)  # first run
    # The worker hooked itself to the encoder's download callback: call it as
    # huggingface_hub's progress would, from another thread's point of view.
    library.encoder.on_download(150_000_000, 605_000_000)
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert "150 of 605 MB (24%)" in window.banner.text.text()
    assert window.banner.progress.isVisible() and window.banner.progress.value() == 150_000
    assert window.status_label.text().startswith("Downloading the CLIP model")
    save_screenshot(window, "model-download")
    library.encoder.on_download(605_000_000, 605_000_000)
    qtbot.waitUntil(lambda: window.banner.progress.value() == 605_000, timeout=10_000)


def test_a_new_model_is_used_without_a_restart(qtbot, window: MainWindow, library: Library,
                                               tmp_path: Path, tiny_model_dir: Path) -> None:
    _add_and_index(qtbot, window, library, tmp_path)
    copy = tmp_path / "another-model"  # same weights, another model id: a full re-encode
    shutil.copytree(tiny_model_dir, copy)
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    dialog.model.setText(f"local-dir:{copy}")
    with qtbot.waitSignal(window.library_reopened, timeout=30_000):
        dialog.save()
    new = window.library
    assert new is not library and new.encoder.model_id.startswith(f"local-dir:{copy}")
    assert load_settings(new.paths.settings).model == f"local-dir:{copy}"

    def reencoded() -> bool:
        return new.catalog.count_other_models(new.encoder.model_id) == 0 and indexed(new) == 24

    qtbot.waitUntil(reencoded, timeout=120_000)
    # The window answers as the new model does (which photo that is depends on how well
    # the tiny model trained on this CPU: its floats differ from one CPU kind to another).
    query = "a photo of a blue square"
    expected = [hit.path for hit in new.search(query, top=24)]
    qtbot.keyClicks(window.search_box, query)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24
                    and [window.model.photo(i).path for i in range(24)] == expected, timeout=30_000)


def test_the_window_follows_a_dark_palette(qtbot, window: MainWindow, library: Library,
                                           tmp_path: Path) -> None:
    app = QApplication.instance()
    original = app.palette()
    dark = QPalette(original)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.Base, "#17181a"),
                         (QPalette.ColorRole.Text, "#e8eaed"),
                         (QPalette.ColorRole.WindowText, "#e8eaed"),
                         (QPalette.ColorRole.Button, "#303134"),
                         (QPalette.ColorRole.ButtonText, "#e8eaed")):
        dark.setColor(role, QColor(colour))
    app.setPalette(dark)
    try:
        _add_and_index(qtbot, window, library, tmp_path)
        qtbot.keyClicks(window.search_box, "green circle")
        qtbot.waitUntil(lambda: window.model.rowCount() == 24 and window.model.photo(0)
                        .path.name.startswith("green_circle"), timeout=30_000)
        qtbot.waitUntil(lambda: thumbnails_shown(window, 9), timeout=30_000)
        shot = save_screenshot(window, "results-dark")
        image = QImage(str(shot))
        # No hard-coded light colours: the grid's background (the spacing at the left of
        # its first cells: the photos fill the rows) is the dark base colour.
        viewport = window.grid.viewport()
        gap = viewport.mapTo(window, QPoint(1, viewport.height() // 2))
        assert image.pixelColor(gap).lightness() < 80, image.pixelColor(gap).name()
    finally:
        app.setPalette(original)


def test_settings_that_need_no_reopen_keep_the_library(qtbot, window: MainWindow,
                                                       library: Library) -> None:
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    dialog.thumbnail_size.setValue(192)
    dialog.save()
    assert window.library is library and window.library.settings.thumbnail_size == 192
    assert window.grid.iconSize().width() == 192
    changed = dataclasses.replace(library.settings, exclude=["*.tmp"])
    window.reopen_library(changed)  # watches are built from exclusions: a reopen
    qtbot.waitUntil(lambda: window.library is not library, timeout=30_000)
    assert window.library.settings.exclude == ["*.tmp"]
    assert window.worker._thread.is_alive()  # the new worker runs


def test_a_failed_download_leaves_the_way_to_a_model_file(qtbot, window: MainWindow,
                                                          library: Library) -> None:
    from photoclip.core.live.worker import WorkerStatus

    window.show_status(WorkerStatus(state="downloading model", downloaded=1, download_size=9))
    window.show_message("photos can't be indexed: the download failed")
    window.show_status(WorkerStatus(state="no model"))
    assert window.banner.isVisible() and window.banner.choose_button.isVisible()
    assert "download failed" in window.banner.text.text()


def test_settings_saved_twice_quickly_end_with_the_last(qtbot, window: MainWindow,
                                                        library: Library) -> None:
    first = dataclasses.replace(library.settings, exclude=["*.tmp"])
    second = dataclasses.replace(library.settings, exclude=["*.part"])
    window.reopen_library(first)
    window.reopen_library(second)  # while the first is still switching
    qtbot.waitUntil(lambda: window.library.settings.exclude == ["*.part"]
                    and window.pause_button.isEnabled(), timeout=60_000)
    assert window.worker._thread.is_alive() and window.worker.library is window.library


def test_the_status_bar_says_when_the_text_pass_runs() -> None:
    from photoclip.core.live.worker_status import WorkerStatus
    from photoclip.ui.widgets import describe

    assert describe(WorkerStatus(state="reading text", done=1204, total=9870)) == (
        "Reading text: 1,204 of 9,870")
    assert describe(WorkerStatus(state="idle")) == "Up to date"
