"""The viewer inside the main window: Enter on a photo, arrows, zoom, Esc back to where
the grid was left; the info panel; the slideshow; rotation kept in the catalog."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from photoclip.core.library import Library
from photoclip.core.models import Photo, PhotoMarks, PhotoMeta, PhotoState, Tag
from photoclip.core.units import human_size
from photoclip.ui import window_viewer
from photoclip.ui.info_panel import describe_tag, dimensions_text, exposure_of, taken_text
from photoclip.ui.main_window import MainWindow
from photoclip.ui.viewer import PhotoCanvas
from photoclip.ui.window_viewer import read_original
from tests.ui.conftest import add_and_index, save_screenshot


def _ready(qtbot, window: MainWindow, library: Library, tmp_path: Path) -> list[Photo]:
    add_and_index(qtbot, window, library, tmp_path / "photos", seed=3)
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=30_000)
    window.activateWindow()  # window-wide shortcuts need the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window.model.photos()


def _open_with_enter(qtbot, window: MainWindow, row: int) -> None:
    window.grid.setCurrentIndex(window.model.index(row))
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert window.pages.currentWidget() is window.viewer_page
    qtbot.waitUntil(lambda: window.viewer_page.canvas.has_picture, timeout=30_000)


def _key(qtbot, window: MainWindow, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.focusWidget() or window, key, modifier)  # where the keys really go


def test_enter_opens_the_photo_arrows_step_zoom_and_esc_goes_back_where_it_was(
        qtbot, window: MainWindow, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _ready(qtbot, window, library, tmp_path)
    window.apply_cell_size(200)  # more rows than fit: the grid scrolls
    window.grid.doItemsLayout()
    bar = window.grid.verticalScrollBar()
    assert bar.maximum() > 40
    bar.setValue(bar.maximum() // 2 + 7)
    left_at = bar.value()
    centre = window.grid.viewport().rect().center()  # a cell there (not the gap between two)
    row = next(index.row() for step in range(0, 60, 5)
               if (index := window.grid.indexAt(centre + QPoint(step, step))).isValid())
    assert row > 0
    window.grid.setCurrentIndex(window.model.index(row))
    bar.setValue(left_at)  # the current row is on show; the scroll is the user's own

    _open_with_enter(qtbot, window, row)
    assert window.viewer_photo == photos[row]
    assert not window.search_box.isVisible()  # the photo fills the window
    assert window.viewer_page.caption.text().startswith(f"{photos[row].path.name}  ·  {row + 1} of 24")
    _key(qtbot, window, Qt.Key.Key_Right)
    assert window.viewer_photo == photos[row + 1]
    # The Photo menu's actions (on the grid's selection) act on the photo on show.
    assert [i.row() for i in window.grid.selectionModel().selectedIndexes()] == [row + 1]
    _key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.viewer_photo == photos[row + 2]
    _key(qtbot, window, Qt.Key.Key_Left)
    _key(qtbot, window, Qt.Key.Key_PageUp)
    assert window.viewer_photo == photos[row]
    bar.setValue(0)  # the hidden grid moved meanwhile (its rows refreshed): put back as left

    _key(qtbot, window, Qt.Key.Key_Escape)
    assert window.pages.currentWidget() is window.grid
    assert window.search_box.isVisible()
    assert window.grid.currentIndex().row() == row
    assert bar.value() == left_at

    # The biggest photo is larger than the viewer: fitted below 100%, then exactly 100%,
    # where the original replaces the screen-size copy (made small here to need it).
    monkeypatch.setattr(window_viewer, "VIEW_SIZE", 256)
    big = max(range(24), key=lambda r: photos[r].width * photos[r].height)
    assert photos[big].width >= 1000
    _open_with_enter(qtbot, window, big)
    canvas = window.viewer_page.canvas
    assert canvas.fitted and canvas.scale() == pytest.approx(canvas.fit_scale()) and canvas.scale() < 0.9
    assert not canvas.at_full_resolution
    save_screenshot(window, "viewer")
    _key(qtbot, window, Qt.Key.Key_1)
    assert canvas.scale() == 1.0 and not canvas.fitted
    qtbot.waitUntil(lambda: canvas.at_full_resolution, timeout=10_000)
    assert canvas.scale() == 1.0
    _key(qtbot, window, Qt.Key.Key_F)
    assert canvas.fitted and canvas.scale() < 0.9
    _key(qtbot, window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert canvas.scale() == pytest.approx(canvas.fit_scale() * 1.25)
    _key(qtbot, window, Qt.Key.Key_0)
    assert canvas.fitted

    _key(qtbot, window, Qt.Key.Key_Right)  # stepped on: back in the grid, that photo is current
    _key(qtbot, window, Qt.Key.Key_Escape)
    assert window.grid.currentIndex().row() == big + 1 if big < 23 else big


def test_info_panel_slideshow_and_rotation(qtbot, window: MainWindow, library: Library,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _ready(qtbot, window, library, tmp_path)
    first, second, third = photos[0], photos[1], photos[2]
    box = ((0.1, 0.1), (0.5, 0.1), (0.5, 0.2), (0.1, 0.2))

    def write() -> None:
        library.catalog.add_tags(first.id, [Tag("holiday", "user"), Tag("beach", "auto", 0.87, "scenes")])
        library.catalog.save_text(first.id, [("OPEN 24H", box, 0.9), ("Main St", box, 0.8)], "test")
        library.catalog.update_stacks({p.id: (None, None, 900) for p in (first, second, third)})

    window.worker.submit(write, rescan=False).result(timeout=10)
    turns: list[tuple[int, int]] = []
    monkeypatch.setattr(library, "set_rotation", lambda pid, t: turns.append((pid, t)), raising=False)
    monkeypatch.setattr(library, "marks_of", lambda ids: {second.id: PhotoMarks(rotation=3)},
                        raising=False)

    _open_with_enter(qtbot, window, 0)
    info = window.viewer_page.info
    assert not info.isVisible()
    _key(qtbot, window, Qt.Key.Key_I)
    assert info.isVisible()
    qtbot.waitUntil(lambda: info.text("Tags") != "", timeout=10_000)
    taken = datetime.datetime.fromtimestamp(first.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    assert info.text("Taken") == f"{taken} (file date)"  # synthetic pictures have no EXIF date
    assert info.text("Size on disk") == human_size(first.path.stat().st_size)
    assert info.text("Folder") == str(first.path.parent)
    assert info.text("Tags") == "beach — auto from label set scenes at 0.87\nholiday — user"
    assert info.text("Text") == "OPEN 24H\nMain St"
    assert info.text("Stack") == "one of 3 similar shots"
    assert info.text("Dimensions").startswith(f"{first.width} × {first.height}")
    save_screenshot(window, "viewer-info")

    _key(qtbot, window, Qt.Key.Key_Right)  # the next photo's rows, not the last one's
    assert info.text("File") == second.path.name and info.text("Tags") == ""  # at once
    qtbot.waitUntil(lambda: info.text("File") == second.path.name and info.text("Taken") != "Reading…",
                    timeout=10_000)
    assert info.text("Tags") == "" and info.text("Text") == ""
    assert window.viewer_page.canvas.turns == 3  # the catalog's rotation, shown
    _key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: turns == [(second.id, 0)], timeout=10_000)
    assert window.viewer_page.canvas.turns == 0
    _key(qtbot, window, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: turns == [(second.id, 0), (second.id, 3)], timeout=10_000)

    _key(qtbot, window, Qt.Key.Key_Escape)  # the panel stays on for the session
    _open_with_enter(qtbot, window, 5)
    assert info.isVisible()

    window.slideshow_ms = 40
    _key(qtbot, window, Qt.Key.Key_Space)
    assert window.slideshow.isActive()
    qtbot.waitUntil(lambda: window.viewer_index >= 7, timeout=5_000)
    _key(qtbot, window, Qt.Key.Key_X)  # any key stops it
    assert not window.slideshow.isActive()
    stopped_at = window.viewer_index
    qtbot.wait(200)
    assert window.viewer_index == stopped_at

    window.show_viewer_photo(21)
    _key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: not window.slideshow.isActive(), timeout=5_000)  # stops at the end
    assert window.viewer_index == 23

    monkeypatch.undo()  # the real catalog keeps the turn; the photo file is not touched
    last = window.viewer_photo
    before = last.path.read_bytes()
    _key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: library.marks_of([last.id]).get(last.id) == PhotoMarks(rotation=1),
                    timeout=10_000)
    assert last.path.read_bytes() == before


def test_canvas_zooms_around_the_cursor_and_pans_within_the_picture(qtbot) -> None:
    canvas = PhotoCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    image = QImage(800, 600, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    canvas.show_image(image, 1600, 0)  # a half-size copy of a 1600 x 1200 photo
    assert canvas.scale() == pytest.approx(0.25)  # 400 px for 1600
    assert not canvas.at_full_resolution
    with qtbot.waitSignal(canvas.full_resolution_wanted):
        canvas.actual_size()
    assert canvas.scale() == 1.0
    canvas.fit()
    cursor = QPointF(100, 75)
    before = canvas._center + (cursor - QPointF(200, 150)) / canvas._zoom
    canvas.zoom_by(2.0, cursor)
    after = canvas._center + (cursor - QPointF(200, 150)) / canvas._zoom
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()))  # the same point under it
    assert canvas.scale() == pytest.approx(0.5)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPointF(200, 150).toPoint())
    qtbot.mouseMove(canvas, QPointF(5000, 5000).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPointF(5000, 5000).toPoint())
    half_view = 200 / canvas._zoom
    assert canvas._center.x() >= half_view - 1e-6  # dragged far: stopped at the picture's edge
    canvas.set_turns(1)  # a portrait now: fits by its height
    assert canvas.fitted and canvas.scale() == pytest.approx(300 / 1600)
    small = QImage(100, 50, QImage.Format.Format_RGB32)
    canvas.show_image(small, 100, 0)
    assert canvas.scale() == 1.0  # a small photo is not blown up to fit


def test_info_rows_read_exposure_dates_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "shot.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x829A: 1 / 250, 0x829D: 2.8, 0x8827: 200, 0x920A: 35.0})
    Image.new("RGB", (32, 24), "red").save(path, exif=exif)
    assert exposure_of(path) == "1/250 s · f/2.8 · ISO 200 · 35 mm"
    assert exposure_of(tmp_path / "missing.jpg") is None
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    assert exposure_of(tmp_path / "plain.png") is None

    photo = Photo(1, path, 1, 100, 0, PhotoState.INDEXED)
    exif_meta = PhotoMeta(taken_local="2024-07-03T14:05:09", taken_offset_min=120, taken_source="exif")
    assert taken_text(photo, exif_meta) == "2024-07-03 14:05 (UTC+02:00)"
    assert taken_text(photo, PhotoMeta(taken_local="2024-07-03T14:05:09", taken_source="file")) \
        == "2024-07-03 14:05 (file date)"
    big = Photo(2, path, 1, 100, 0, PhotoState.INDEXED, width=4000, height=3000)
    assert dimensions_text(big, None) == "4000 × 3000 (12.0 MP)"
    assert dimensions_text(photo, PhotoMeta(width=480, height=640, orientation=6)) == "640 × 480"
    assert describe_tag(Tag("dog", "auto", 0.5, "animals")) == "dog — auto from label set animals at 0.50"
    assert describe_tag(Tag("rome", "user", None, "keywords")) == "rome — from the photo's keywords"


def test_the_original_is_read_upright_and_over_white(qtbot, tmp_path: Path) -> None:
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (4, 2), (0, 0, 0, 0)).save(clear)
    image = read_original(clear)
    assert image is not None and not image.hasAlphaChannel()
    assert image.pixelColor(1, 1) == QColor("white")
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown a quarter turn clockwise
    Image.new("RGB", (40, 20), "blue").save(turned, exif=exif)
    image = read_original(turned)
    assert image is not None and (image.width(), image.height()) == (20, 40)
    assert read_original(tmp_path / "missing.jpg") is None
