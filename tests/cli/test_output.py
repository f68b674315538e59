from __future__ import annotations

import io
from pathlib import Path

from photoclip.cli_output import ProgressBar
from photoclip.core.models import IndexProgress


def test_progress_bar_shows_count_rate_eta_and_file() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(IndexProgress(total=100, done=25, elapsed_s=5.0, current=Path("/x/IMG_0042.jpg")))
    bar.close()
    line = stream.getvalue()
    assert "25/100" in line and "25%" in line and "5.0 img/s" in line
    assert "ETA 00:15" in line and "IMG_0042.jpg" in line and line.endswith("\n")


def test_progress_bar_is_throttled_but_always_draws_the_end() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for done in range(1, 51):
        bar(IndexProgress(total=50, done=done, elapsed_s=1.0))
    assert stream.getvalue().count("\r") == 2  # the first draw and the final one
    assert "50/50" in stream.getvalue()
