"""The grid model's thumbnail scheduling: what is on screen now is made first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from photoclip.core.models import Photo, PhotoState
from photoclip.ui import results_model
from photoclip.ui.results_model import ResultsModel


class HeldRunner:
    """A TaskRunner stand-in whose tasks finish only when the test says so."""

    def __init__(self) -> None:
        self.started: list[tuple[Callable[[], Any], Callable[[Any, Any], None]]] = []

    def run(self, work: Callable[[], Any], callback: Callable[[Any, Any], None]) -> object:
        self.started.append((work, callback))
        return object()

    def finish_all(self) -> None:
        done, self.started = self.started, []
        for _, callback in done:
            callback(None, None)


def _photos(n: int) -> list[tuple[Photo, float | None]]:
    return [(Photo(i, Path(f"/p/{i}.jpg"), 1, 1, 1, PhotoState.INDEXED, content_hash=f"h{i}"),
             None) for i in range(n)]


def _paint(model: ResultsModel, rows: range) -> None:
    for row in rows:
        model.data(model.index(row), Qt.ItemDataRole.DecorationRole)


def _started_rows(runner: HeldRunner) -> list[int]:
    return [work.__defaults__[0].id for work, _ in runner.started]  # the lambda's bound photo


def test_cells_painted_last_are_made_first_and_stale_requests_drop(qtbot, monkeypatch) -> None:
    monkeypatch.setattr(results_model, "WANTED", 20)
    runner = HeldRunner()
    model = ResultsModel(thumbnails=None, runner=runner)  # type: ignore[arg-type]
    model.set_items(_photos(100))
    _paint(model, range(0, 12))  # the first screen
    assert _started_rows(runner) == [0, 1]  # two at a time
    _paint(model, range(60, 72))  # a fast scroll: now these are on screen
    _paint(model, range(72, 84))
    runner.finish_all()
    assert _started_rows(runner) == [83, 82]  # newest first
    assert model.waiting == 20  # 2 in flight, 18 waiting: the oldest requests were dropped
    _paint(model, range(5, 6))  # a dropped one painted again: wanted again, and first
    runner.finish_all()
    assert _started_rows(runner) == [5, 81]


def test_a_new_result_set_forgets_the_old_requests(qtbot) -> None:
    runner = HeldRunner()
    model = ResultsModel(thumbnails=None, runner=runner)  # type: ignore[arg-type]
    model.set_items(_photos(50))
    _paint(model, range(0, 20))
    model.set_items(_photos(5))
    runner.finish_all()
    assert runner.started == []  # nothing of the old list is made
