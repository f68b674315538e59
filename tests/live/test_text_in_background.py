"""The live worker reads the text in photos after indexing them, a batch at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photoclip.core import text_pass
from photoclip.core.files.ocr import PhotoText, TextLine
from photoclip.core.library import Library
from photoclip.core.live import worker as worker_module
from photoclip.core.live.worker import LibraryWorker, WorkerStatus
from photoclip.core.models import PhotoState
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.live.conftest import wait_until, write_picture


class PendingCheckingReader:
    """Notes, at each read, how many photos were still waiting to be indexed."""

    engine = "fake-ocr 1"

    def __init__(self) -> None:
        self.library: Library | None = None
        self.pending_at_read: list[int] = []

    def read(self, image: Image.Image, full: object = None) -> PhotoText:
        assert self.library is not None
        self.pending_at_read.append(self.library.catalog.state_counts()[PhotoState.PENDING])
        box = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
        return PhotoText(lines=(TextLine("hello", box, 0.9),), engine=self.engine, size=image.size)


def test_worker_reads_text_after_indexing_and_publishes_progress(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_pass, "BATCH", 3)
    monkeypatch.setattr(worker_module, "INDEX_CHUNK", 2)  # indexing takes several rounds
    photos = tmp_path / "photos"
    for index in range(7):
        write_picture(photos / f"p{index}.png", index)
    reader = PendingCheckingReader()
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(label_sets=[], decode_workers=1), encoder=FakeEncoder(), text_reader=reader)
    reader.library = library
    library.add_folder(photos)
    statuses: list[WorkerStatus] = []
    worker = LibraryWorker(library, on_status=statuses.append).start()
    try:
        wait_until(lambda: library.catalog.count_missing_text(reader.engine) == 0, 30, "text read")
        assert worker.wait_idle(30)
    finally:
        assert worker.stop()
        library.close()
    assert reader.pending_at_read == [0] * 7  # search first: every photo indexed before any read
    reading = [(s.done, s.total) for s in statuses if s.state == "reading text"]
    assert reading[0] == (0, 7) and reading[-1] == (7, 7)
    assert [done for done, _ in reading] == sorted(done for done, _ in reading)
