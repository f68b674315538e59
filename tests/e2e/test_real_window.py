"""A user's session in the real window (Xvfb, xcb): index, search, filter, view, mark a
favourite, make an album, review duplicates, quit. Each outcome is checked through the
CLI against the running app (search over its local channel; status and albums read the
catalog while the app holds the writer lock), and each step is photographed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import CAMERA_2023, LIBRARY_SIZE, RealApp, poll

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.slow]


def _indexed(app: RealApp) -> dict[str, Any] | None:
    status = app.cli_json("status")
    return status if status["pending"] == 0 and status["indexed"] == LIBRARY_SIZE else None


def _hits(app: RealApp, query: str) -> list[dict[str, Any]]:
    return app.cli_json("search", query, "--top", "50")


def test_a_users_session_in_the_real_window(real_app: RealApp) -> None:
    app = real_app
    # 1. The library the CLI added is indexed by the app.
    status = poll(lambda: _indexed(app), 120, f"{LIBRARY_SIZE} photos indexed")
    assert status["failed"] == 0
    app.focus()
    app.screenshot("1-indexed")

    # 2. Search in plain words.
    app.key("ctrl+f")
    app.type("red circle")
    app.key("Return", settle=1.5)
    app.screenshot("2-search")
    top = [h["path"].rsplit("/", 1)[-1] for h in _hits(app, "red circle")[:5]]
    assert {"red_circle_000.png", "red_circle_012.jpg", CAMERA_2023} <= set(top), top

    # 3. A filter: the one photo whose camera says 2023.
    app.key("ctrl+f", "ctrl+a")
    app.type("year:2023")
    app.key("Return", settle=1.5)
    app.screenshot("3-filter")
    assert [h["path"].rsplit("/", 1)[-1] for h in _hits(app, "year:2023")] == [CAMERA_2023]

    # 4. The viewer, from the grid, and its info panel.
    app.key("Tab", "Return", settle=1.5)
    app.screenshot("4-viewer")
    app.key("i", settle=1.0)
    app.screenshot("5-viewer-info")

    # 5. Favourite the photo on show ("." is Photo > Favourite).
    app.key("period")
    favourite = poll(lambda: [h for h in _hits(app, "year:2023") if h["favourite"]], 10,
                     "the favourite in search results")
    assert [h["path"].rsplit("/", 1)[-1] for h in favourite] == [CAMERA_2023]
    app.key("Escape", settle=0.8)  # back to the grid, the photo still selected

    # 6. An album of one's own, from the selection.
    app.key("ctrl+shift+a")
    app.focus(app.wait_window("Add to Album"))
    app.type("Trip")
    app.screenshot("6-album-dialog")
    app.key("Return")
    albums = poll(lambda: [a for a in app.cli_json("album", "list") if a["name"] == "Trip"
                           and a["paths"]], 10, "the album Trip")
    assert [p.rsplit("/", 1)[-1] for p in albums[0]["paths"]] == [CAMERA_2023]

    # 7. Duplicates: the photo and its resized copy, in the review dialog.
    app.focus()
    app.key("ctrl+shift+d")
    app.focus(app.wait_window("Find Duplicates"))
    time.sleep(2.0)  # its groups are found off the GUI thread
    app.screenshot("7-duplicates")
    app.key("Escape")
    poll(lambda: not app.visible_windows("Find Duplicates"), 5, "the duplicates dialog to close")

    # 8. Quit from the keyboard: a clean exit.
    app.focus()
    app.key("ctrl+q", settle=0)
    assert app.process is not None
    assert app.process.wait(timeout=60) == 0, app.output()[-3000:]  # a clean quit, not a kill
