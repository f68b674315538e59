"""The real window, offscreen, on a library with the tiny CLIP model and a live worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.models import PhotoState
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from photoclip.ui.app import create_window
from photoclip.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
# Set (`make screenshots` sets it) to render into docs/screenshots/ ("1") or another
# folder (relative to the repository); unset, a temporary folder, so a plain test run
# leaves the work tree as it was.
SCREENSHOTS_ENV = "PHOTOCLIP_SCREENSHOTS"
_screenshots: dict[str, Path] = {}


def screenshots_folder(asked: str, temporary: Path) -> Path:
    """Where the screenshots go for the value of PHOTOCLIP_SCREENSHOTS."""
    asked = asked.strip()
    if not asked:
        return temporary
    return DOCS_SCREENSHOTS if asked == "1" else REPO / asked  # an absolute path stays one


@pytest.fixture(scope="session", autouse=True)
def _screenshots_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = screenshots_folder(os.environ.get(SCREENSHOTS_ENV, ""),
                                tmp_path_factory.mktemp("screenshots"))
    _screenshots["folder"] = folder
    return folder


@pytest.fixture
def library(tmp_path: Path, tiny_model_spec: str) -> Iterator[Library]:
    # No label sets by default (each would cost a second of prompt encoding per test);
    # the tagging tests choose their own.
    settings = Settings(model=tiny_model_spec, batch_size=16, decode_workers=2, label_sets=[])
    encoder = ClipEncoder(ModelSpec.parse(tiny_model_spec), "cpu")
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), settings, encoder=encoder)
    yield lib
    lib.close()


@pytest.fixture
def window(qtbot, library: Library) -> Iterator[MainWindow]:
    win, _ = create_window(library)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    yield win
    win.close()  # stops the worker; idempotent if a test closed it already


def indexed(library: Library) -> int:
    return library.catalog.state_counts()[PhotoState.INDEXED]


def thumbnails_shown(window: MainWindow, rows: int) -> bool:
    """The first ``rows`` cells show their thumbnail, not the grey placeholder."""
    placeholder = window.model._placeholder.cacheKey()
    return window.model.rowCount() >= rows and all(
        window.model.data(window.model.index(row), Qt.ItemDataRole.DecorationRole).cacheKey()
        != placeholder for row in range(rows))


def save_screenshot(widget, name: str) -> Path:
    """Rendered offscreen into a temporary folder, or into docs/screenshots/ (linked from
    the README) when PHOTOCLIP_SCREENSHOTS asks for it (`make screenshots`)."""
    if hasattr(widget, "grid"):
        widget.grid.doItemsLayout()  # lay the grid out for the final size first
    folder = _screenshots["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    assert widget.grab().save(str(target))
    return target


def add_and_index(qtbot, window: MainWindow, library: Library, folder: Path, seed: int) -> Path:
    """Add a folder of 24 generated pictures through the window and wait until indexed."""
    from tests.synthetic import make_library

    make_library(folder, per_class=2, seed=seed, formats=("PNG", "JPEG"))
    window.add_folder(folder)
    qtbot.waitUntil(lambda: indexed(library) == 24 and window.status_label.text() == "Up to date",
                    timeout=120_000)
    return folder
