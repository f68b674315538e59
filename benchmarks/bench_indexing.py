"""Indexing throughput: decoding 12 MP JPEGs, CLIP encoding, and the PhotoClip pipeline.

Generates N realistic-ish 4000x3000 JPEGs once (quality 90, ~3 MB each, cached in
benchmarks/.cache/) and measures, with one model (ViT-B-32 at random init: same compute
as real weights; fp32, CPU):

  a. full decode of a 12 MP JPEG (open + load + convert RGB), 1 core
  b. decode_for_model + encoder.preprocess (JPEG draft), 1 core, and the ratio a/b
  c. a two-stage reference: decode+preprocess everything on all cores, then encode
  d. Library.index_photos end to end on a fresh PHOTOCLIP_HOME, with the time the
     encoder spends waiting for input (encode_images is wrapped to time its calls)
  e. d/c, peak RSS, and model-only speed on random tensors as a reference row

c and d are run in ABBA order (c d d c c d) so drift on a shared machine hits both;
the best run of each is the least disturbed one, the mean is reported too.

Usage: python benchmarks/bench_indexing.py [--n 96] [--rounds 3] [--batch 32]
Defaults take about 2-4 minutes on 2 cores (plus ~1 minute once to make the photos).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    CACHE_DIR,
    NO_TAGGING,
    PeakRss,
    current_rss_mib,
    effective_cores,
    environment,
    loadavg,
    markdown_table,
    median,
    ms,
    ru_maxrss_mib,
    write_results,
)
from PIL import Image, ImageChops, ImageDraw

from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.files.imaging import decode_for_model
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings

MODEL = "random:ViT-B-32"
WIDTH, HEIGHT, QUALITY = 4000, 3000, 90
GRAIN_PAD = 96  # the shared grain texture is this much larger; each photo crops at an offset
TARGET_DECODE_RATIO = 5.0
TARGET_PIPELINE_RATIO = 0.9


# -- synthetic photos ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _grain() -> Image.Image:
    """Sensor-like noise plus a mid-frequency texture, centred on 128 (made once per process)."""
    rng = np.random.default_rng(12345)
    h, w = HEIGHT + GRAIN_PAD, WIDTH + GRAIN_PAD
    coarse = rng.standard_normal((h // 4, w // 4, 3), dtype=np.float32) * 9
    texture = Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8))
    texture = np.asarray(texture.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    fine = rng.standard_normal((h, w, 3), dtype=np.float32) * 5
    return Image.fromarray(np.clip(texture + fine, 0, 255).astype(np.uint8))


def _scene(rng: np.random.Generator) -> Image.Image:
    """Smooth colour gradients with flat shapes on top (sky, walls, objects)."""
    grid = rng.uniform(0, 255, (4, 6, 3)).astype(np.uint8)
    image = Image.fromarray(grid).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(20, 50))):
        x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        r = int(rng.integers(30, 600))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x - r, y - r // 2, x + r, y + r // 2]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    return image


def make_photo(index: int, target: Path, quality: int = QUALITY) -> int:
    """Write photo ``index`` (deterministic) to ``target``; returns its size in bytes."""
    rng = np.random.default_rng(index)
    dx, dy = (int(v) for v in rng.integers(0, GRAIN_PAD, 2))
    grain = _grain().crop((dx, dy, dx + WIDTH, dy + HEIGHT))
    photo = ImageChops.add(_scene(rng), grain, scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation: as stored
    exif[0x0132] = f"2023:07:{1 + index % 28:02d} 12:{index % 60:02d}:00"
    partial_file = target.with_suffix(".part")
    photo.save(partial_file, "JPEG", quality=quality, exif=exif)
    os.replace(partial_file, target)  # never leave a truncated JPEG in the cache
    return target.stat().st_size


def ensure_photos(n: int, quality: int = QUALITY) -> Path:
    """A cached folder holding exactly ``n`` photos (made in parallel the first time)."""
    folder = CACHE_DIR / f"photos-{WIDTH}x{HEIGHT}-q{quality}-n{n}"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {folder / f"IMG_{i:04d}.jpg": i for i in range(n)}
    missing = [(i, p) for p, i in wanted.items() if not p.is_file()]
    if missing:
        print(f"generating {len(missing)} photos into {folder} ...", flush=True)
        started = time.perf_counter()
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            indices, targets = zip(*missing, strict=True)
            list(pool.map(make_photo, indices, targets, [quality] * len(missing)))
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    for stray in folder.iterdir():  # only these photos: the pipeline indexes the folder
        if stray not in wanted:
            stray.unlink()
    return folder


# -- single-core decoding (a, b) ------------------------------------------------------------


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def full_decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def model_decode(data: bytes, encoder: ClipEncoder) -> Any:
    decoded = decode_for_model(data, encoder.input_size)
    return encoder.preprocess(decoded.image)


def timed_call(fn: Any, data: bytes) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds) of fn(data)."""
    start, cpu_start = time.perf_counter(), time.thread_time()
    fn(data)
    cpu = time.thread_time() - cpu_start
    return time.perf_counter() - start, cpu


def paired_times(blobs: Sequence[bytes], encoder: ClipEncoder) -> dict[str, list[float]]:
    """Full decode and model decode of each blob back to back (a, b, a, b, ...), on one
    core, so bursts of load from other processes hit both sides of every a/b pair."""
    reduced = partial(model_decode, encoder=encoder)
    times: dict[str, list[float]] = {"a_wall": [], "a_cpu": [], "b_wall": [], "b_cpu": []}
    with torch_threads(1):
        full_decode(blobs[0])  # warm-up: plugins, allocator
        reduced(blobs[0])
        for data in blobs:
            for side, fn in (("a", full_decode), ("b", reduced)):
                wall, cpu = timed_call(fn, data)
                times[f"{side}_wall"].append(wall)
                times[f"{side}_cpu"].append(cpu)
    return times


def pair_ratio(times: dict[str, list[float]], clock: str) -> float:
    """Median over pairs of a/b: robust to load that drifts during the measurement."""
    pairs = zip(times[f"a_{clock}"], times[f"b_{clock}"], strict=True)
    return median([a / b for a, b in pairs if b > 0])


def measure_decoding(paths: Sequence[Path], encoder: ClipEncoder) -> dict[str, Any]:
    blobs = [p.read_bytes() for p in paths]
    times = paired_times(blobs, encoder)
    return {
        "samples": len(blobs),
        "mean_file_mb": sum(map(len, blobs)) / len(blobs) / 1e6,
        "full_decode_ms": median(times["a_wall"]) * 1e3,
        "full_decode_cpu_ms": median(times["a_cpu"]) * 1e3,
        "model_decode_ms": median(times["b_wall"]) * 1e3,
        "model_decode_cpu_ms": median(times["b_cpu"]) * 1e3,
        "ratio": pair_ratio(times, "wall"),
        "ratio_cpu": pair_ratio(times, "cpu"),
        "model_input_shape": list(model_decode(blobs[0], encoder).shape),
    }


def quality_sweep(path: Path, encoder: ClipEncoder, qualities: Sequence[int],
                  repeats: int = 8) -> list[dict[str, Any]]:
    """a/b for one photo re-encoded at several JPEG qualities: the ratio depends on file size,
    because DCT scaling skips the IDCT but not the entropy decoding of every bit."""
    with Image.open(path) as image:
        pixels = image.convert("RGB")
    rows = []
    for quality in qualities:
        buffer = io.BytesIO()
        pixels.save(buffer, "JPEG", quality=quality)
        times = paired_times([buffer.getvalue()] * repeats, encoder)
        rows.append({"quality": quality, "file_mb": buffer.tell() / 1e6,
                     "full_decode_cpu_ms": median(times["a_cpu"]) * 1e3,
                     "model_decode_cpu_ms": median(times["b_cpu"]) * 1e3,
                     "ratio_cpu": pair_ratio(times, "cpu")})
    return rows


# -- model only (reference row) -------------------------------------------------------------


def measure_model_only(encoder: ClipEncoder, batch: int, repeats: int) -> dict[str, Any]:
    import torch

    inputs = list(torch.randn(batch, 3, encoder.input_size, encoder.input_size).unbind(0))
    encoder.encode_images(inputs)  # warm-up: oneDNN primitives, allocator
    times, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        encoder.encode_images(inputs)
        cpu.append(time.process_time() - cpu_start)
        times.append(time.perf_counter() - start)
    return {"batch": batch, "repeats": repeats, "batch_s": median(times),
            "images_per_s": batch / median(times), "best_images_per_s": batch / min(times),
            "cpu_ms_per_image": median(cpu) / batch * 1e3}


# -- two-stage reference (c) ----------------------------------------------------------------


def prepare_file(path: Path, encoder: ClipEncoder) -> Any:
    return model_decode(path.read_bytes(), encoder)


def load_1m() -> float | None:
    load = loadavg()
    return load[0] if load else None


def run_two_stage(paths: Sequence[Path], encoder: ClipEncoder, batch: int) -> dict[str, Any]:
    rss, load = PeakRss(), load_1m()
    cpu0, start = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        tensors = list(pool.map(partial(prepare_file, encoder=encoder), paths))
    decoded = time.perf_counter()
    for first in range(0, len(tensors), batch):
        encoder.encode_images(tensors[first : first + batch])
    total = time.perf_counter() - start
    return {
        "kind": "c", "images": len(paths), "seconds": total,
        "images_per_s": len(paths) / total, "decode_s": decoded - start,
        "encode_s": total - (decoded - start), "cpu_s": time.process_time() - cpu0,
        "peak_rss_mib": rss.peak_mib(), "load_1m": load,
    }


# -- the PhotoClip pipeline (d) -------------------------------------------------------------


class EncodeTimer:
    """Times every encoder.encode_images call by shadowing the method on the instance."""

    def __init__(self, encoder: ClipEncoder) -> None:
        self.encoder = encoder
        self.calls: list[tuple[float, float, int]] = []  # (start, end, batch size)

    def __enter__(self) -> EncodeTimer:
        original = self.encoder.encode_images

        def timed_encode(inputs: Sequence[Any]) -> np.ndarray:
            start = time.perf_counter()
            try:
                return original(inputs)
            finally:
                self.calls.append((start, time.perf_counter(), len(inputs)))

        self.encoder.encode_images = timed_encode  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.encoder.encode_images

    def breakdown(self, start: float, end: float) -> dict[str, float]:
        """Encode time vs time before the first batch, between batches and after the last."""
        if not self.calls:
            return {"encode_s": 0.0, "fill_s": end - start, "between_s": 0.0, "tail_s": 0.0}
        encode = sum(e - s for s, e, _ in self.calls)
        between = sum(self.calls[i + 1][0] - self.calls[i][1] for i in range(len(self.calls) - 1))
        return {
            "encode_s": encode, "fill_s": self.calls[0][0] - start,
            "between_s": between, "tail_s": end - self.calls[-1][1],
        }


def run_pipeline(folder: Path, encoder: ClipEncoder, batch: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="photoclip-bench-"))
    try:
        settings = Settings(model=MODEL, device="cpu", label_sets=NO_TAGGING, batch_size=batch)
        with Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings, encoder=encoder) as lib:
            lib.add_folder(folder)
            rss, load = PeakRss(), load_1m()
            with EncodeTimer(encoder) as timer:
                cpu0, start = time.process_time(), time.perf_counter()
                report = lib.index_photos()
                end = time.perf_counter()
            cpu = time.process_time() - cpu0
    finally:
        shutil.rmtree(home, ignore_errors=True)
    total = end - start
    parts = timer.breakdown(start, end)
    if report.encoded != len(list(folder.glob("*.jpg"))) or report.failed:
        raise RuntimeError(f"pipeline did not encode every photo: {report}")
    return {
        "kind": "d", "images": report.encoded, "seconds": total,
        "images_per_s": report.encoded / total, "report_seconds": report.seconds,
        "wait_share": 1 - parts["encode_s"] / total, "cpu_s": cpu,
        "peak_rss_mib": rss.peak_mib(), "load_1m": load, **parts,
    }


# -- report ---------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], kind: str) -> dict[str, float]:
    rates = [r["images_per_s"] for r in runs if r["kind"] == kind]
    return {"best": max(rates), "mean": sum(rates) / len(rates), "runs": len(rates)}


def summary_table(results: dict[str, Any]) -> str:
    dec, model, c, d = results["decode"], results["model_only"], results["c"], results["d"]
    wait = median([r["wait_share"] for r in results["runs"] if r["kind"] == "d"])
    ratio = results["d_over_c"]
    rows = [
        ("a. full decode 12 MP (open+load+RGB), 1 core", "ms/image: wall (cpu)",
         f"{dec['full_decode_ms']:.1f} ({dec['full_decode_cpu_ms']:.1f})", ""),
        ("b. decode_for_model + preprocess, 1 core", "ms/image: wall (cpu)",
         f"{dec['model_decode_ms']:.1f} ({dec['model_decode_cpu_ms']:.1f})", ""),
        ("a/b", "median of per-photo ratios: wall (cpu)", f"{dec['ratio']:.1f}x ({dec['ratio_cpu']:.1f}x)",
         f">= {TARGET_DECODE_RATIO:.0f}x"),
        (f"model only (batch {model['batch']}, fp32, random tensors)", "images/s: best / median",
         f"{model['best_images_per_s']:.1f} / {model['images_per_s']:.1f}", "ref ~18"),
        ("c. two-stage: decode all cores, then encode", "images/s: best / mean",
         f"{c['best']:.2f} / {c['mean']:.2f}", ""),
        ("d. Library.index_photos end to end", "images/s: best / mean",
         f"{d['best']:.2f} / {d['mean']:.2f}", ""),
        ("e. d/c", "ratio: best / mean", f"{ratio['best']:.2f} / {ratio['mean']:.2f}",
         f">= {TARGET_PIPELINE_RATIO}"),
        ("d. encoder idle (1 - encode time / total)", "share, median of d runs", f"{wait:.1%}", ""),
        ("RSS after model load (before any photo)", "MiB",
         f"{results['environment']['rss_after_model_load_mib'] or float('nan'):.0f}", ""),
        ("peak RSS, whole run (ru_maxrss)", "MiB", f"{results['ru_maxrss_mib']:.0f}", ""),
    ]
    return markdown_table(("measurement", "unit", "value", "target"), rows)


def runs_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for i, r in enumerate(runs):
        decode = f"{r['decode_s']:.2f}" if r["kind"] == "c" else f"fill {r['fill_s']:.2f}"
        idle = f"{r['wait_share']:.1%}" if r["kind"] == "d" else ""
        rows.append((
            i + 1, r["kind"], f"{r['seconds']:.2f}", f"{r['images_per_s']:.2f}", decode,
            f"{r['encode_s']:.2f}", idle, ms(r["cpu_s"] / r["images"]),
            f"{r['peak_rss_mib']:.0f}", r["load_1m"], r["cores_free_before"],
        ))
    headers = ("run", "kind", "wall s", "images/s", "decode s", "encode s", "encoder idle",
               "cpu ms/image", "peak RSS MiB", "load 1m", "cores free")
    return markdown_table(headers, rows)


def pipeline_table(runs: list[dict[str, Any]]) -> str:
    rows = [
        (i + 1, f"{r['seconds']:.2f}", f"{r['fill_s']:.2f}", f"{r['encode_s']:.2f}",
         f"{r['between_s']:.2f}", f"{r['tail_s']:.2f}", ms(r["encode_s"] / r["images"]))
        for i, r in enumerate(runs) if r["kind"] == "d"
    ]
    headers = ("d run", "total s", "before 1st batch s", "in encode_images s",
               "between batches s", "after last batch s", "encode ms/image")
    return markdown_table(headers, rows)


def sweep_table(rows: list[dict[str, Any]]) -> str:
    return markdown_table(
        ("JPEG quality", "file MB", "full decode cpu ms", "decode_for_model+pre cpu ms", "a/b"),
        [(r["quality"], f"{r['file_mb']:.2f}", f"{r['full_decode_cpu_ms']:.1f}",
          f"{r['model_decode_cpu_ms']:.1f}", f"{r['ratio_cpu']:.1f}x") for r in rows],
    )


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=96, help="number of 12 MP photos (default 96)")
    p.add_argument("--batch", type=int, default=32, help="encoder batch size (default 32)")
    p.add_argument("--rounds", type=int, default=3,
                   help="c/d pairs, ABBA order (default 3: c d d c c d)")
    p.add_argument("--decode-samples", type=int, default=24,
                   help="photos timed for the single-core decode rows a and b (default 24)")
    p.add_argument("--model-repeats", type=int, default=4,
                   help="timed batches for the model-only row (default 4)")
    p.add_argument("--qualities", type=int, nargs="*", default=[75, 85, 90, 95],
                   help="JPEG qualities for the a/b-vs-file-size sweep (none: skip it)")
    return p.parse_args(argv)


def load_encoder() -> tuple[ClipEncoder, float]:
    start = time.perf_counter()
    # fp32: this benchmark is the plain reference; bench_precision compares the fast paths.
    encoder = ClipEncoder(ModelSpec.parse(MODEL), "cpu", "fp32").load()
    return encoder, time.perf_counter() - start


def run_rounds(folder: Path, paths: list[Path], encoder: ClipEncoder,
               args: argparse.Namespace) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for round_no in range(args.rounds):
        order = "cd" if round_no % 2 == 0 else "dc"
        for kind in order:
            free = effective_cores(repeats=2)
            if kind == "c":
                run = run_two_stage(paths, encoder, args.batch)
            else:
                run = run_pipeline(folder, encoder, args.batch)
            run["cores_free_before"] = free
            print(f"  {kind}: {run['images_per_s']:.2f} images/s ({run['seconds']:.1f} s)",
                  flush=True)
            runs.append(run)
    return runs


def print_report(results: dict[str, Any], encoder: ClipEncoder) -> None:
    cfg, env, dec = results["config"], results["environment"], results["decode"]
    print(f"\nIndexing: {cfg['n']} photos {WIDTH}x{HEIGHT} JPEG q{QUALITY} "
          f"(mean {dec['mean_file_mb']:.1f} MB), {MODEL} fp32 on {encoder.device}, "
          f"batch {cfg['batch']}, {env['cpu_count']} cores, {env['torch_threads']} torch threads; "
          f"load avg {env['loadavg_at_start']} -> {env['loadavg_at_end']}, cores free for us "
          f"{env['effective_cores_at_start']} -> {env['effective_cores_at_end']}\n")
    print(summary_table(results), end="\n\n")
    print(runs_table(results["runs"]), end="\n\n")
    print(pipeline_table(results["runs"]), end="\n\n")
    if results["quality_sweep"]:
        print(sweep_table(results["quality_sweep"]), end="\n\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    env = environment()
    folder = ensure_photos(args.n)
    paths = sorted(folder.glob("*.jpg"))
    encoder, load_s = load_encoder()
    import torch

    env.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
               model=MODEL, device=encoder.device, rss_after_model_load_mib=current_rss_mib())
    print(f"model loaded in {load_s:.1f} s; measuring model only ...", flush=True)
    model_only = measure_model_only(encoder, args.batch, args.model_repeats)
    print("measuring single-core decoding (a, b) ...", flush=True)
    decode = measure_decoding(paths[: args.decode_samples], encoder)
    sweep = quality_sweep(paths[0], encoder, args.qualities) if args.qualities else []
    print(f"running c/d {args.rounds} rounds (ABBA) on {len(paths)} photos ...", flush=True)
    runs = run_rounds(folder, paths, encoder, args)
    env["loadavg_at_end"] = loadavg()
    env["effective_cores_at_end"] = effective_cores()
    results = {
        "config": vars(args) | {"photo_size": [WIDTH, HEIGHT], "jpeg_quality": QUALITY,
                                "order": "ABBA (c d d c ...)", "folder": str(folder)},
        "environment": env, "model_load_s": load_s, "model_only": model_only,
        "decode": decode, "quality_sweep": sweep, "runs": runs,
        "c": summarise(runs, "c"), "d": summarise(runs, "d"), "ru_maxrss_mib": ru_maxrss_mib(),
    }
    results["d_over_c"] = {k: results["d"][k] / results["c"][k] for k in ("best", "mean")}
    results["total_s"] = time.perf_counter() - started
    print_report(results, encoder)
    print(f"results: {write_results('bench_indexing', results)} (total {results['total_s']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
