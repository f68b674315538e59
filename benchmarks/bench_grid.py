"""Desktop app: scrolling the grid of a 100,000-photo library.

Builds a library of N indexed photos (hard links to 500 different 1024x768 JPEGs,
each row with its own content hash, so every cell needs its own thumbnail made),
opens the real window offscreen on the library view (newest first, paged in 200 at
a time as cells are painted), and measures the GUI thread:

1. flick: page-downs through the grid, one per 16 ms frame (faster than a
   scroll wheel); each frame's time is the synchronous repaint plus the events
   that arrived (thumbnails, pages).
2. drag to the end: jump to the bottom (the grid has all N rows from the
   start; only the pages painted are fetched) and wait for the last photo.
3. timeline scroll: back at the top, page-downs with the date header and the month
   scrubber on (one photo an hour: ~137 months); each frame's paint time (grid,
   header, scrubber repainted now) is reported apart from the events after it.
4. zoom: Ctrl+wheel notches over the grid, 96 px to 320 px and back, a notch every
   16 ms frame (a spin); the window applies a spin's notches once it pauses, so
   most frames only move the slider, and the settled ones relayout 100,000 cells.
5. 3 and 4 again in the other look: 1-4 run in justified rows (the default: the list
   view asks every photo's cell size as it lays them out), then square crops.

Reports frame time p50/p99/max, thumbnails made versus cells shown, the time
to reach the last photo, and paint time p50/p95 for 3 and 4. Target: p99 frame under 50 ms.

Usage: python benchmarks/bench_grid.py [--photos 100000] [--pages 600]
About 2 minutes on 2 cores (most of it making the library).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import NO_TAGGING, environment, loadavg, markdown_table, percentile, write_results
from bench_live import MODEL, ensure_small_photos
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from photoclip.core.catalog.store import path_key
from photoclip.core.files.thumbnails import ThumbnailCache
from photoclip.core.library import Library
from photoclip.core.live.worker import LibraryWorker
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from photoclip.ui.bridge import WorkerBridge
from photoclip.ui.grid_delegate import GridLook
from photoclip.ui.main_window import MainWindow

TARGET_P99_MS = 50.0
SOURCES = 500
FIRST_TAKEN = 1_262_304_000.0  # 2010-01-01 UTC; one photo an hour from there
ZOOM_SPINS = 7  # of two 16 px notches: 96 -> 320 px


def build_library(workdir: Path, photos: int) -> Library:
    sources = ensure_small_photos(SOURCES)
    folder = workdir / "photos"
    rows: list[tuple[str, int]] = []
    for i in range(photos):
        sub = folder / f"{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True)
        target = sub / f"IMG_{i:06d}.jpg"
        os.link(sources[i % SOURCES], target)
        rows.append((path_key(target), i))
    library = Library(app_paths({"PHOTOCLIP_HOME": str(workdir / "home")}),
                      Settings(model=MODEL, device="cpu", label_sets=NO_TAGGING))
    folder_id = library.catalog.add_folder(folder).id
    size = sources[0].stat().st_size
    # Straight into the catalog: encoding 100,000 photos is not what this measures.
    with library.catalog._transaction() as db:
        db.executemany(
            "INSERT INTO photos(folder_id, path, size, mtime_ns, content_hash, width, height, "
            "state, model_id, indexed_at, taken_at) VALUES (?, ?, ?, 0, ?, 1024, 768, 'indexed', ?, ?, ?)",
            ((folder_id, key, size, f"{i:040x}", MODEL, float(i), FIRST_TAKEN + 3600 * i) for key, i in rows))
        # Dates for the timeline's header and month scrubber, as the metadata reader keeps them.
        db.execute(
            "INSERT INTO photo_meta(photo_id, meta_version, taken_at, taken_local, taken_source, width, "
            "height, file_type) SELECT id, 1, taken_at, strftime('%Y-%m-%dT%H:%M:%S', taken_at, "
            "'unixepoch'), 'exif', 1024, 768, 'jpeg' FROM photos")
    return library


def _frame(app: QApplication, window: MainWindow) -> float:
    started = time.perf_counter()
    window.grid.viewport().repaint()  # paints now: data() for every visible cell
    app.processEvents()  # thumbnails made meanwhile, pages fetched
    return time.perf_counter() - started


def measure(workdir: Path, photos: int, pages: int) -> dict[str, Any]:
    app = QApplication.instance() or QApplication([])
    started = time.perf_counter()
    library = build_library(workdir, photos)
    built_s = time.perf_counter() - started
    made = [0]
    original_load = ThumbnailCache.load  # the grid's path (get() is the CLI's and the preview's)

    def counting_load(self: ThumbnailCache, photo: Any, size: int, decode: Any) -> Any:
        made[0] += 1
        return original_load(self, photo, size, decode)

    ThumbnailCache.load = counting_load  # type: ignore[method-assign]
    # The worker is not started: nothing is indexed here, only browsed.
    window = MainWindow(library, LibraryWorker(library), WorkerBridge())
    window.resize(1100, 760)
    window.show()
    while window.model.rowCount() < photos:
        app.processEvents()
    bar = window.grid.verticalScrollBar()
    frames: list[float] = []
    shown: set[int] = set()
    for _ in range(pages):
        bar.setValue(bar.value() + bar.pageStep())
        frames.append(_frame(app, window))
        shown.update(_visible_rows(window))
        time.sleep(max(0.0, 0.016 - frames[-1]))
    flick_made = made[0]
    drag_started = time.perf_counter()
    drag_frames: list[float] = []
    window.grid.scrollToBottom()
    while (last := window.model.photo(photos - 1)) is None:
        drag_frames.append(_frame(app, window))
        if time.perf_counter() - drag_started > 600:
            raise TimeoutError("the last page never came")
    reach_end_s = time.perf_counter() - drag_started
    timeline = _timeline_scroll(app, window, min(pages, 300))
    zoom = _zoom(app, window)
    # The same scroll and zoom in the other look, square crops (one cell size: the list
    # view never asks each photo's size), for the ratio in one run.
    window.set_grid_look(GridLook.SQUARE)
    window.zoom_to(window.library.settings.thumbnail_size)  # the size the justified scroll had
    square = {f"square_{key}": value for part in (_timeline_scroll(app, window, min(pages, 300)),
                                                  _zoom(app, window)) for key, value in part.items()}
    window.close()
    library.close()
    ThumbnailCache.load = original_load  # type: ignore[method-assign]
    first_ms = frames[0] * 1000  # the first layout and pixmaps: reported on its own
    ms = sorted(f * 1000 for f in frames[1:])
    drag_ms = sorted(f * 1000 for f in drag_frames)
    return {
        "photos": photos, "library_build_s": round(built_s, 1), "flick_pages": pages,
        "rows_shown": len(shown), "thumbnails_made_while_flicking": flick_made,
        "frame_p50_ms": round(percentile(ms, 50), 1), "frame_p99_ms": round(percentile(ms, 99), 1),
        "frame_max_ms": round(ms[-1], 1), "first_frame_ms": round(first_ms, 1),
        "reach_end_s": round(reach_end_s, 2), "drag_frames": len(drag_ms),
        "drag_frame_p99_ms": round(percentile(drag_ms, 99), 1),
        "drag_frame_max_ms": round(drag_ms[-1], 1),
        "last_photo_is_the_oldest": last.path.name == "IMG_000000.jpg",
        "target_p99_ms": TARGET_P99_MS, "look": "justified", **timeline, **zoom, **square,
    }


def _paint(window: MainWindow) -> float:
    """Seconds to repaint what the user sees of the grid: cells, header, scrubber."""
    started = time.perf_counter()
    window.grid.viewport().repaint()
    window.date_header.repaint()
    window.scrubber.repaint()
    return time.perf_counter() - started


def _timeline_scroll(app: QApplication, window: MainWindow, pages: int) -> dict[str, Any]:
    """Page-downs from the top with the header and scrubber on."""
    window.grid.scrollToTop()
    deadline = time.perf_counter() + 60
    while not (window.timeline_on and window.scrubber.months and window.date_header.text()):
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the timeline never showed")
    bar = window.grid.verticalScrollBar()
    paints: list[float] = []
    frames: list[float] = []
    for _ in range(pages):
        bar.setValue(bar.value() + bar.pageStep())
        started = time.perf_counter()
        paints.append(_paint(window))
        app.processEvents()  # the header's throttle, thumbnails, pages
        frames.append(time.perf_counter() - started)
        time.sleep(max(0.0, 0.016 - frames[-1]))
    return {"timeline_pages": pages, "timeline_months": len(window.scrubber.months),
            "timeline_header_at_end": window.date_header.text(),
            "timeline_paint_p50_ms": _ms(percentile(paints, 50)),
            "timeline_paint_p95_ms": _ms(percentile(paints, 95)),
            "timeline_frame_p50_ms": _ms(percentile(frames, 50)),
            "timeline_frame_p95_ms": _ms(percentile(frames, 95))}


def _zoom(app: QApplication, window: MainWindow) -> dict[str, Any]:
    """Ctrl+wheel spins of two notches (16 ms apart), 96 px up to 320 px and back: the
    notches' frames, and the frame where each spin settles (the relayout) and paints."""
    viewport = window.grid.viewport()
    window.zoom_to(96)
    app.processEvents()
    paints: list[float] = []
    notch_frames: list[float] = []
    settle_frames: list[float] = []
    for direction in [1] * ZOOM_SPINS + [-1] * ZOOM_SPINS:
        for _ in range(2):
            event = QWheelEvent(QPointF(100, 100), QPointF(viewport.mapToGlobal(QPoint(100, 100))),
                                QPoint(0, 0), QPoint(0, 120 * direction), Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
            started = time.perf_counter()
            QApplication.sendEvent(viewport, event)
            app.processEvents()
            notch_frames.append(time.perf_counter() - started)
            time.sleep(max(0.0, 0.016 - notch_frames[-1]))
        target, elapsed = window.zoom_size, 0.0
        while window.grid.iconSize().width() != target:
            time.sleep(0.005)
            started = time.perf_counter()
            app.processEvents()  # the settled spin's new size and relayout
            elapsed = time.perf_counter() - started
        paints.append(_paint(window))
        settle_frames.append(elapsed + paints[-1])
    return {"zoom_spins": len(settle_frames), "zoom_size_at_end": window.grid.iconSize().width(),
            "zoom_paint_p50_ms": _ms(percentile(paints, 50)),
            "zoom_paint_p95_ms": _ms(percentile(paints, 95)),
            "zoom_notch_frame_p50_ms": _ms(percentile(notch_frames, 50)),
            "zoom_notch_frame_p95_ms": _ms(percentile(notch_frames, 95)),
            "zoom_settle_frame_p50_ms": _ms(percentile(settle_frames, 50)),
            "zoom_settle_frame_p95_ms": _ms(percentile(settle_frames, 95))}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _visible_rows(window: MainWindow) -> set[int]:
    viewport = window.grid.viewport().rect()
    rows = set()
    for x in range(10, viewport.width(), 40):
        for y in range(10, viewport.height(), 40):
            index = window.grid.indexAt(QPoint(x, y))
            if index.isValid():
                rows.add(index.row())
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=100_000)
    p.add_argument("--pages", type=int, default=600)
    args = p.parse_args(argv)
    results: dict[str, Any] = {"environment": environment()}
    with tempfile.TemporaryDirectory(prefix="photoclip-bench-grid-") as tmp:
        results["scrolling"] = r = measure(Path(tmp), args.photos, args.pages)
    results["loadavg_at_end"] = loadavg()
    print(markdown_table(
        ["photos", "pages flicked", "cells shown", "thumbnails made", "first frame ms",
         "frame p50 ms", "frame p99 ms", "max ms", "to the end s", "drag p99 ms"],
        [[r["photos"], r["flick_pages"], r["rows_shown"], r["thumbnails_made_while_flicking"],
          r["first_frame_ms"], r["frame_p50_ms"], r["frame_p99_ms"], r["frame_max_ms"],
          r["reach_end_s"], r["drag_frame_p99_ms"]]]))
    rows = []
    for look, k in (("justified", ""), ("square", "square_")):
        rows += [[look, f"scroll, header + scrubber ({r[k + 'timeline_months']} months)",
                  r[k + "timeline_pages"], r[k + "timeline_paint_p50_ms"], r[k + "timeline_paint_p95_ms"],
                  r[k + "timeline_frame_p50_ms"], r[k + "timeline_frame_p95_ms"]],
                 [look, f"zoom, Ctrl+wheel notches ({r[k + 'zoom_spins']} spins of 2)",
                  r[k + "zoom_spins"] * 2, "", "", r[k + "zoom_notch_frame_p50_ms"],
                  r[k + "zoom_notch_frame_p95_ms"]],
                 [look, "zoom, each spin settled (relayout + paint)", r[k + "zoom_spins"],
                  r[k + "zoom_paint_p50_ms"], r[k + "zoom_paint_p95_ms"], r[k + "zoom_settle_frame_p50_ms"],
                  r[k + "zoom_settle_frame_p95_ms"]]]
    print(markdown_table(
        ["look", "phase", "steps", "paint p50 ms", "paint p95 ms", "frame p50 ms", "frame p95 ms"], rows))
    print(f"results: {write_results('bench_grid', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
