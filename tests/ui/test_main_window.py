"""The desktop window end to end, offscreen: folders, live indexing, search, pause, close."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from photoclip.core.library import Library
from photoclip.ui.main_window import MainWindow
from photoclip.ui.results_model import PHOTO_ROLE
from photoclip.ui.single_instance import SingleInstance
from tests.synthetic import make_library
from tests.ui.conftest import indexed, save_screenshot, thumbnails_shown

pytestmark = pytest.mark.model


def _pictures(tmp_path: Path, per_class: int = 2) -> Path:
    folder = tmp_path / "Pictures"
    make_library(folder, per_class=per_class, seed=11, formats=("PNG", "JPEG"))
    return folder


def _add_and_index(qtbot, window: MainWindow, library: Library, folder: Path) -> None:
    """Add ``folder`` (24 pictures) through the window; wait until all are indexed."""
    window.add_folder(folder)
    qtbot.waitUntil(lambda: indexed(library) == 24 and window.status_label.text() == "Up to date",
                    timeout=120_000)


def test_first_run_shows_the_welcome_page(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: "Welcome" in window.empty.text(), timeout=10_000)
    assert window.pages.currentIndex() == 1
    save_screenshot(window, "empty-state")


def test_add_folder_index_and_search(qtbot, window: MainWindow, library: Library,
                                     tmp_path: Path) -> None:
    window.add_folder(_pictures(tmp_path))
    qtbot.waitUntil(lambda: window.sidebar.count() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: indexed(library) == 24 and window.status_label.text() == "Up to date",
                    timeout=120_000)
    qtbot.keyClicks(window.search_box, "a photo of a red circle")

    def top_two_are_red_circles() -> bool:
        names = [window.model.photo(row).path.name for row in range(window.model.rowCount())]
        return len(names) == 24 and all(n.startswith("red_circle") for n in names[:2])

    qtbot.waitUntil(top_two_are_red_circles, timeout=30_000)
    assert window.pages.currentIndex() == 0
    qtbot.waitUntil(lambda: thumbnails_shown(window, 9), timeout=30_000)  # all in view
    save_screenshot(window, "results")
    window.search_box.clear()  # an empty query shows the library, newest first
    qtbot.waitUntil(lambda: window.model.rowCount() == 24, timeout=10_000)
    assert window.model.data(window.model.index(0), PHOTO_ROLE) is not None


def test_pause_and_resume_from_the_status_bar(qtbot, window: MainWindow, library: Library,
                                              tmp_path: Path) -> None:
    window.add_folder(_pictures(tmp_path, per_class=12))
    qtbot.waitUntil(lambda: window.status_label.text().startswith("Indexing"), timeout=60_000)
    window.pause_button.click()
    qtbot.waitUntil(lambda: window.status_label.text() == "Indexing paused", timeout=20_000)
    assert window.pause_button.text() == "Resume"
    window.pause_button.click()
    qtbot.waitUntil(lambda: indexed(library) == 144, timeout=120_000)


def test_gui_thread_stays_responsive_while_indexing(qtbot, window: MainWindow, library: Library,
                                                    tmp_path: Path) -> None:
    lags: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        lags.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer(interval=10)
    timer.timeout.connect(tick)
    timer.start()
    window.add_folder(_pictures(tmp_path, per_class=16))
    qtbot.waitUntil(lambda: indexed(library) == 192, timeout=180_000)
    timer.stop()
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)]
    # Generous: the machine is shared. The benchmark reports the real figure.
    assert p99 < 0.25, f"GUI thread lagged: p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms"


def test_closing_while_indexing_stops_cleanly(qtbot, window: MainWindow, library: Library,
                                              tmp_path: Path) -> None:
    window.add_folder(_pictures(tmp_path, per_class=20))
    qtbot.waitUntil(lambda: indexed(library) >= 16, timeout=60_000)
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 10
    assert window.worker.status.state == "stopped"
    assert not window.worker._thread.is_alive()
    committed = indexed(library)
    assert 16 <= committed < 240  # stopped mid-way: what was committed stays, the rest waits
    time.sleep(0.5)
    assert indexed(library) == committed  # nothing writes after the window is gone


def test_a_second_launch_hands_over_to_the_first(qtbot, tmp_path: Path) -> None:
    first = SingleInstance(tmp_path)
    first.listen()
    with qtbot.waitSignal(first.activated, timeout=5_000):
        assert SingleInstance(tmp_path).hand_over()
    assert not SingleInstance(tmp_path / "another library").hand_over()


def test_preview_similar_and_problems(qtbot, window: MainWindow, library: Library,
                                      tmp_path: Path) -> None:
    folder = _pictures(tmp_path)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    _add_and_index(qtbot, window, library, folder)
    qtbot.waitUntil(lambda: window.problems_dock.isVisible(), timeout=10_000)
    assert "broken.jpg" in window.problems.item(0).text()

    target = next(p for p in folder.rglob("blue_square_*"))
    window.find_similar(target)
    assert window.search_box.text() == f"similar to {target.name}"
    qtbot.waitUntil(lambda: window.model.rowCount() == 23, timeout=30_000)  # itself left out
    assert target not in {photo.path for photo in window.model.photos()}
    assert window.model.photo(0).path.name.startswith("blue_square")

    dialog = window.open_preview(0)
    qtbot.addWidget(dialog)
    assert str(window.model.photo(0).path) in dialog.details.text()
    qtbot.waitUntil(lambda: dialog.picture.pixmap() is not None
                    and not dialog.picture.pixmap().isNull(), timeout=30_000)
    save_screenshot(dialog, "preview")
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.row == 1 and str(window.model.photo(1).path) in dialog.details.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.row == 0
    dialog.close()


def test_settings_round_trip_through_the_toml_file(qtbot, window: MainWindow,
                                                   library: Library) -> None:
    from photoclip.core.settings import load_settings

    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    save_screenshot(dialog, "settings")
    dialog.batch_size.setValue(12)
    dialog.thumbnail_size.setValue(200)
    dialog.exclude.setPlainText("*.tmp\nScreenshots\n")
    dialog.polling.setPlainText("/mnt/nas/photos")
    assert not dialog.xmp_style.isEnabled()  # only with sidecars on
    dialog.xmp_sidecars.setChecked(True)
    dialog.xmp_style.setCurrentText("photo.xmp")
    dialog.album_min_photos.setValue(3)
    dialog.read_keywords.setChecked(False)
    dialog.save()
    assert dialog.error.text() == ""
    reread = load_settings(library.paths.settings)  # what `photoclip` commands will read
    assert (reread.batch_size, reread.thumbnail_size) == (12, 200)
    assert reread.exclude == ["*.tmp", "Screenshots"]
    assert reread.polling_folders == ["/mnt/nas/photos"]
    assert reread.model == library.settings.model
    assert (reread.xmp_sidecars, reread.xmp_sidecar_style) == (True, "photo.xmp")
    assert (reread.album_min_photos, reread.read_keywords) == (3, False)
    assert window.grid.iconSize().width() == 200
    # Used at once by what writes sidecars while indexing (here in the library reopened
    # for the new polling folder).
    qtbot.waitUntil(lambda: window.library.organizer.sidecars._settings().xmp_sidecars,
                    timeout=30_000)

    again = window.open_settings()
    qtbot.addWidget(again)
    again.model.setText("")  # invalid: refused with a message, nothing written
    again.batch_size.setValue(99)
    again.save()
    assert again.error.text() and load_settings(library.paths.settings).batch_size == 12
    again.reject()


def test_esc_clears_and_more_results_shows_weaker_matches(qtbot, window: MainWindow,
                                                          library: Library, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import photoclip.ui.main_window as main_window

    monkeypatch.setattr(main_window, "RESULTS", 10)
    window._limit = 10
    _add_and_index(qtbot, window, library, _pictures(tmp_path))
    qtbot.keyClicks(window.search_box, "green triangle")
    qtbot.waitUntil(lambda: window.model.rowCount() == 10 and window.more_button.isVisible(),
                    timeout=30_000)
    window.more_button.click()
    qtbot.waitUntil(lambda: window.model.rowCount() == 20, timeout=30_000)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""


def test_missing_model_shows_a_banner_then_a_model_on_disk_is_used_at_once(
        qtbot, tmp_path: Path, tiny_model_dir: Path) -> None:
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings, load_settings
    from photoclip.ui.app import create_window

    settings = Settings(model=f"local-dir:{tmp_path / 'no such model'}")
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), settings)
    window, _ = create_window(library)
    qtbot.addWidget(window)
    window.show()
    try:
        window.add_folder(_pictures(tmp_path, per_class=1))
        qtbot.waitUntil(window.banner.isVisible, timeout=60_000)
        assert "can't be indexed" in window.banner.text.text()
        qtbot.waitUntil(lambda: window.status_label.text().startswith("Indexing needs the CLIP"),
                        timeout=10_000)
        # "Use a model file on disk": saved for the CLI too, and used without a restart.
        window.banner.model_chosen.emit(f"local-dir:{tiny_model_dir}")
        assert load_settings(library.paths.settings).model == f"local-dir:{tiny_model_dir}"
        qtbot.waitUntil(lambda: window.library is not library
                        and indexed(window.library) == 12, timeout=120_000)
        assert not window.banner.isVisible()
    finally:
        window.close()
        library.close()


def test_the_library_view_has_every_row_and_pages_in_what_is_shown(
        qtbot, window: MainWindow, library: Library, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import photoclip.ui.main_window as main_window
    import photoclip.ui.results_model as results_model

    monkeypatch.setattr(main_window, "PAGE", 4)
    monkeypatch.setattr(results_model, "PAGE", 4)
    _add_and_index(qtbot, window, library, _pictures(tmp_path))
    window.resize(620, 420)  # a few cells on screen at a time
    window.run_search()  # the empty query: the whole library, newest first
    # Every row at once (a true scroll bar), the first page filled, the rest on its way.
    qtbot.waitUntil(lambda: window.model.rowCount() == 24
                    and window.model.photo(0) is not None, timeout=10_000)
    assert window.model.photo(3) is not None and window.model.photo(23) is None
    assert not window.more_button.isVisible()

    def painted() -> set[int]:
        window.grid.viewport().repaint()
        return {row for row in range(24) if window.grid.visualRect(
            window.model.index(row)).intersects(window.grid.viewport().rect())}

    seen = painted()
    window.grid.scrollToBottom()  # a drag to the end: only what is painted is fetched
    seen |= painted()
    qtbot.waitUntil(lambda: window.model.photo(23) is not None, timeout=10_000)
    # A page none of whose rows was ever on screen has not been fetched.
    hidden = next(page * 4 for page in range(1, 6)
                  if not seen & set(range(page * 4, page * 4 + 4)))
    assert window.model.photo(hidden) is None
    window.grid.scrollTo(window.model.index(hidden))
    window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: window.model.photo(hidden) is not None, timeout=10_000)
    window.grid.scrollToTop()
    for row in range(24):  # scrolled through: every page arrives
        window.grid.scrollTo(window.model.index(row))
        window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: len(window.model.photos()) == 24, timeout=10_000)
    assert len({p.id for p in window.model.photos()}) == 24
    dialog = window.open_preview(23)  # the last photo, opened before all pages came
    qtbot.addWidget(dialog)
    assert dialog.photos[dialog.row] == window.model.photo(23)
    dialog.close()


def test_a_folder_that_cannot_be_added_says_why(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.add_folder(tmp_path / "no such folder")
    qtbot.waitUntil(lambda: "Cannot add" in window.statusBar().currentMessage(), timeout=10_000)
    assert "not a folder" in window.statusBar().currentMessage()
    assert window.sidebar.count() == 0
