"""Live library: copy-to-searchable latency, and a burst through the watcher vs `photoclip index`.

With ViT-B-32 at random init (same compute as real weights), fp32, on the CPU:

  a. latency: an idle worker watching a folder; 12 MP JPEGs (the ones bench_indexing
     makes) are copied in one at a time, and the time from the end of each copy
     (the file closed) to the photo being searchable (committed to the catalog and
     in the in-memory index) is recorded. p50 / p95 / max over N files.
     Target: p95 under 2 s on a 2-core machine.
  b. burst: B smaller photos (1024x768 JPEG) copied at once into a watched folder;
     time from the first copy to all searchable, vs the same files indexed by
     Library.index_photos (what `photoclip index` runs) on a fresh library with the
     model already loaded. Target: within 10% (ratio <= 1.10).

Usage: python benchmarks/bench_live.py [--latency-files 50] [--burst 2000]
About 12-15 minutes on 2 cores with the defaults (+1 minute once to make the photos).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    CACHE_DIR,
    NO_TAGGING,
    environment,
    loadavg,
    markdown_table,
    percentile,
    ru_maxrss_mib,
    write_results,
)
from bench_indexing import ensure_photos
from PIL import Image, ImageDraw

from photoclip.core.library import Library
from photoclip.core.live.worker import LibraryWorker
from photoclip.core.models import PhotoState
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings

MODEL = "random:ViT-B-32"
LATENCY_TARGET_P95_S = 2.0
BURST_TARGET_RATIO = 1.10


def make_small_photo(index: int, target: Path) -> None:
    rng = np.random.default_rng(10_000 + index)
    grid = rng.uniform(0, 255, (3, 4, 3)).astype(np.uint8)
    image = Image.fromarray(grid).resize((1024, 768), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y, r = (int(v) for v in rng.integers(0, 1024, 3) // (1, 1, 5))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    noise = rng.normal(0, 6, (768, 1024, 3))
    pixels = np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(target, "JPEG", quality=85)


def ensure_small_photos(n: int) -> list[Path]:
    folder = CACHE_DIR / "burst-1024x768"  # shared by every run size: photo i is always the same
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [folder / f"IMG_{i:05d}.jpg" for i in range(n)]
    missing = [(i, p) for i, p in enumerate(wanted) if not p.is_file()]
    if missing:
        print(f"generating {len(missing)} burst photos ...", flush=True)
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(make_small_photo, *zip(*missing, strict=True)))
    return wanted


def open_library(home: Path) -> Library:
    settings = Settings(model=MODEL, device="cpu", label_sets=NO_TAGGING)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings)
    library.encoder.load()
    return library


def searchable(library: Library, path: Path) -> bool:
    photo = library.catalog.photo_by_path(path)
    if photo is None or photo.state is not PhotoState.INDEXED:
        return False
    index = library.index.loaded
    return index is not None and photo.id in index


def measure_latency(workdir: Path, count: int) -> dict[str, Any]:
    # The 12 MP photos bench_indexing makes (96 of them, cached in benchmarks/.cache).
    sources = sorted(ensure_photos(max(count, 96)).glob("*.jpg"))[:count]
    folder = workdir / "latency"
    folder.mkdir()
    library = open_library(workdir / "home-latency")
    library.add_folder(folder)
    worker = LibraryWorker(library).start()
    warm = folder / "warm-up.jpg"
    shutil.copyfile(sources[0], warm)  # load the model, build the index, then go idle
    _wait(lambda: searchable(library, warm), 120)
    latencies = []
    try:
        for i, source in enumerate(sources):
            assert worker.wait_idle(60, quiet_s=0.3)
            dest = folder / f"copy_{i:03d}.jpg"
            shutil.copyfile(source, dest)  # returns once the file is written and closed
            copied = time.perf_counter()
            _wait(lambda dest=dest: searchable(library, dest), 60, interval=0.002)
            latencies.append(time.perf_counter() - copied)
    finally:
        worker.stop()
        library.close()
    return {
        "files": count, "bytes_each_mb": round(sources[0].stat().st_size / 2**20, 1),
        "p50_s": round(percentile(latencies, 50), 3), "p95_s": round(percentile(latencies, 95), 3),
        "max_s": round(max(latencies), 3), "target_p95_s": LATENCY_TARGET_P95_S,
    }


def _wait(condition: Any, timeout: float, interval: float = 0.01) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(interval)


def measure_burst_live(workdir: Path, run: str, sources: list[Path]) -> float:
    folder = workdir / f"burst-live-{run}"
    folder.mkdir()
    library = open_library(workdir / f"home-burst-live-{run}")
    library.add_folder(folder)
    warm = folder / "warm-up.jpg"
    shutil.copyfile(sources[0], warm)
    worker = LibraryWorker(library).start()
    _wait(lambda: searchable(library, warm), 120)
    assert worker.wait_idle(60)
    counts = library.catalog.state_counts
    started = time.perf_counter()
    copier = threading.Thread(target=lambda: [shutil.copyfile(s, folder / s.name) for s in sources[1:]])
    copier.start()
    _wait(lambda: counts()[PhotoState.INDEXED] == len(sources), 3600, interval=0.05)
    elapsed = time.perf_counter() - started
    copier.join()
    worker.stop()
    library.close()
    return elapsed


def measure_burst_index(workdir: Path, run: str, sources: list[Path]) -> float:
    folder = workdir / f"burst-index-{run}"
    folder.mkdir()
    for source in sources[1:]:
        shutil.copyfile(source, folder / source.name)
    library = open_library(workdir / f"home-burst-index-{run}")
    library.add_folder(folder)
    started = time.perf_counter()
    report = library.index_photos()
    elapsed = time.perf_counter() - started
    assert report.encoded == len(sources) - 1, report
    library.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency-files", type=int, default=50)
    p.add_argument("--burst", type=int, default=2000, help="0: latency only")
    p.add_argument("--abba", action=argparse.BooleanOptionalAction, default=True,
                   help="four burst runs (index, live, live, index); --no-abba: three")
    args = p.parse_args(argv)
    import torch

    results: dict[str, Any] = {"environment": environment(), "model": MODEL,
                               "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory(prefix="photoclip-bench-live-") as tmp:
        workdir = Path(tmp)
        results["latency"] = measure_latency(workdir, args.latency_files)
        print(markdown_table(["files", "p50 s", "p95 s", "max s", "target p95"], [[
            results["latency"]["files"], results["latency"]["p50_s"], results["latency"]["p95_s"],
            results["latency"]["max_s"], LATENCY_TARGET_P95_S]]), flush=True)
        if not args.burst:
            print(f"results: {write_results('bench_live_latency', results)}")
            return 0
        sources = ensure_small_photos(args.burst + 1)  # +1: the warm-up file
        # ABBA (index, live, live, index): drift on a shared machine hits both sides.
        live_s: list[float] = []
        index_s: list[float] = []
        for run, kind in enumerate(("index", "live", "live", "index")[: 4 if args.abba else 3]):
            if kind == "index":
                index_s.append(measure_burst_index(workdir, str(run), sources))
            else:
                live_s.append(measure_burst_live(workdir, str(run), sources))
            print(f"  {kind}: {(index_s if kind == 'index' else live_s)[-1]:.1f} s", flush=True)
        results["burst"] = {
            "files": args.burst, "live_s": [round(x, 1) for x in live_s],
            "index_s": [round(x, 1) for x in index_s],
            "ratio_of_means": round(statistics.mean(live_s) / statistics.mean(index_s), 3),
            "ratio_of_bests": round(min(live_s) / min(index_s), 3),
            "target_ratio": BURST_TARGET_RATIO,
            "live_images_per_s": round(args.burst / min(live_s), 2),
        }
    results["peak_rss_mib"] = round(ru_maxrss_mib())
    results["loadavg_at_end"] = loadavg()
    burst = results["burst"]
    print(markdown_table(["files", "live s", "index s", "live / index (means)",
                          "live / index (bests)", "target"], [[
        burst["files"], burst["live_s"], burst["index_s"], burst["ratio_of_means"],
        burst["ratio_of_bests"], f"<= {BURST_TARGET_RATIO}"]]))
    print(f"results: {write_results('bench_live', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
