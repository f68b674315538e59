"""The main window's live status: the status bar's line and Pause button, and the
results refreshed as the worker indexes (a part of MainWindow)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QLabel, QPushButton

from ..core.live.worker import WorkerStatus
from .widgets import describe
from .window_parts import WindowBase

LIVE_REFRESH_S = 5.0  # while indexing, matching new photos join the results this often
# The worker states after which an idle worker means new photos (and groups, text) to show.
WORKING_STATES = ("indexing", "scanning", "finding duplicates", "reading text")


class LiveStatus(WindowBase):
    _last_state: str
    _last_refresh: float  # monotonic time of the last live refresh
    _offline: tuple[Path, ...]

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("Starting…")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume indexing")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.pause_button)
        self.pause_button.hide()  # shown by show_status while the worker has work

    # -- live indexing -------------------------------------------------------------------
    def show_status(self, status: WorkerStatus) -> None:
        if self.closing:
            return
        self.status_label.setText(describe(status))
        self.pause_button.setText("Resume" if status.state == "paused" else "Pause")
        # Only while there is work to pause (or paused work to resume).
        self.pause_button.setVisible(status.state in (*WORKING_STATES, "paused", "downloading model"))
        if status.state == "downloading model":
            self.banner.show_download(status.downloaded, status.download_size)
        elif self._last_state == "downloading model" and status.state != "no model":
            self.banner.hide()  # downloaded; a failed download keeps the problem banner
        finished = status.state == "idle" and self._last_state in WORKING_STATES
        if finished or (status.state == "indexing" and self._refresh_due()):
            self._refresh_live()
        elif status.offline != self._offline:
            self.refresh_folders()
        self._offline = status.offline
        self._last_state = status.state

    def _refresh_due(self) -> bool:
        return time.monotonic() - self._last_refresh >= LIVE_REFRESH_S

    def _refresh_live(self) -> None:
        """New photos appear in the current results when they match; the sidebar's
        counts follow. Results are replaced only if the user is at the top of the grid
        (replacing them would throw away where they scrolled to); the next search or
        a scroll back up shows the rest."""
        self._last_refresh = time.monotonic()
        self.refresh_folders()
        self.organize.refresh()  # tags come with new photos
        self.refresh_problems()
        self.refresh_places()
        if self.grid.verticalScrollBar().value() == 0:
            self.run_search()

    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()

