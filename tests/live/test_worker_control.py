"""Pause, resume and stop the worker mid-run; search while it writes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from photoclip.core.live.worker import WorkerStopped
from photoclip.core.models import PhotoState
from photoclip.core.search.vector_index import VectorIndex
from tests.live.conftest import Live, open_live, wait_until, write_picture

pytestmark = pytest.mark.model


def _many(photos: Path, count: int) -> list[Path]:
    return [write_picture(photos / f"batch/{i:04d}.png", i, seed=5) for i in range(count)]


def test_pause_stops_encoding_and_resume_finishes(live: Live) -> None:
    pictures = _many(live.photos, 300)
    wait_until(lambda: live.worker.status.state == "indexing", 30, "indexing to start")
    live.worker.pause()
    wait_until(lambda: live.worker.status.state == "paused", 10, "paused")
    encoded = live.encoder.images_encoded
    time.sleep(1.0)
    assert live.encoder.images_encoded == encoded  # nothing encoded while paused
    assert encoded < 300
    live.worker.resume()
    live.wait_searchable(*pictures, timeout=120)
    assert live.worker.wait_idle(30)
    assert live.encoder.images_encoded == 300


def test_stop_mid_run_is_quick_and_leaves_a_consistent_library(
    tmp_path: Path, photos: Path, tiny_model_spec: str,
) -> None:
    _many(photos, 600)
    live = open_live(tmp_path / "home", photos, tiny_model_spec)
    wait_until(lambda: live.worker.status.done >= 20, 60, "indexing under way")
    started = time.monotonic()
    assert live.worker.stop(timeout=10)
    assert time.monotonic() - started < 5
    # Work handed to a stopped worker fails at once rather than waiting forever.
    with pytest.raises(WorkerStopped, match="stopping"):
        live.worker.submit(lambda: None).result(1)
    counts = live.library.catalog.state_counts()
    assert counts[PhotoState.FAILED] == 0 and 0 < counts[PhotoState.INDEXED] < 600
    ids, _ = live.library.catalog.all_vectors(live.library.encoder.model_id)
    manifest = VectorIndex.read_manifest(live.library.paths.index)
    assert manifest["count"] == len(ids) == counts[PhotoState.INDEXED]  # saved in step
    assert manifest["vector_epoch"] == live.library.catalog.vector_epoch()
    first_run = live.encoder.images_encoded
    assert first_run == counts[PhotoState.INDEXED]  # the dropped batch left nothing behind
    live.library.close()

    again = open_live(tmp_path / "home", photos, tiny_model_spec)  # picks up where it stopped
    try:
        wait_until(lambda: again.library.catalog.state_counts()[PhotoState.INDEXED] == 600, 120)
        assert again.worker.wait_idle(30)
        assert first_run + again.encoder.images_encoded == 600  # nothing encoded twice
    finally:
        again.worker.stop()
        again.library.close()


def test_searches_during_indexing_see_only_committed_photos(live: Live) -> None:
    _many(live.photos, 400)
    wait_until(lambda: live.worker.status.state == "indexing", 30, "indexing to start")
    problems: list[str] = []
    searches = 0
    catalog = live.library.catalog

    def search_repeatedly() -> None:
        nonlocal searches
        while live.worker.status.state == "indexing" or searches < 5:
            try:
                hits = live.library.search("red circle", top=50)
            except Exception as exc:  # any error while the writer works is a failure
                problems.append(repr(exc))
                return
            searches += 1
            for hit in hits:
                row = catalog.photo(hit.photo.id)
                if row is None or row.state is not PhotoState.INDEXED:
                    problems.append(f"{hit.path} returned before it was committed")

    searcher = threading.Thread(target=search_repeatedly)
    searcher.start()
    searcher.join(120)
    assert not problems and searches >= 5
    assert live.worker.wait_idle(60)
    assert catalog.state_counts()[PhotoState.INDEXED] == 400
