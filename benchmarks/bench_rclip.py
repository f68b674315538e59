"""Indexing side by side: PhotoClip against rclip (PyPI ``rclip``), same photos, same CPU.

rclip is a command-line CLIP photo search tool. Since 3.x it runs ViT-B-32-256 (OpenCLIP
``ViT-B-32-256`` / ``datacomp_s34b_b86k``, 256x256 input) exported to ONNX on ONNX Runtime
(``CPUExecutionProvider``, intra-op threads = usable cores). Nothing can be downloaded here,
so its model is replaced by the same architecture at random init, exported to ONNX exactly
as rclip's ``scripts/convert_model.py`` does (``torch.onnx.export``, TorchScript exporter,
opset 18, dynamic batch axis, fp32): same graph, same compute, meaningless vectors. The
files go where rclip looks for its downloaded model (``$RCLIP_DATADIR/<model>/``), so rclip
itself is not patched: its indexing pipeline (directory walk, hashing, loader threads,
image decoding and preprocessing, batching, ONNX Runtime session, SQLite writes) runs as
shipped. ``--rclip-weights int8`` quantizes the visual model with ONNX Runtime's dynamic
INT8 quantization (MatMul/Gemm), as one version of rclip's conversion script does for the
published model.

rclip is not a PhotoClip dependency: it is installed on demand with ``pip install --no-deps
--target benchmarks/.cache/rclip-pkg`` (rclip, onnxruntime, pi-heif) and imported from
there in a child process, reusing numpy, Pillow, tqdm, ftfy and regex from this venv. The
one-off ONNX export needs ``onnx`` (+ protobuf, ml_dtypes), installed the same way into
``benchmarks/.cache/rclip-export-pkg``; the exported models are cached in
``benchmarks/.cache/rclip-model/``.

Each run is a fresh process on a fresh data directory (nothing cached but the OS page
cache, warmed for both before the first run, and what each tool computes once per
model: rclip's exported ONNX file; PhotoClip's ONNX int8 towers and the class vectors
of its built-in label sets (it tags photos as it indexes them), made on its first
start, which runs before the timed runs, untimed (``photoclip_first_start_s``), into
caches every run links to):

  * PhotoClip: ``PHOTOCLIP_HOME=<tmp> photoclip --model random:ViT-B-32 --device cpu add
    <folder>`` (not timed), then ``... index --json`` (timed: process start to exit);
  * rclip: a child process that imports rclip and calls ``rclip.main.init_rclip(folder,
    indexing_batch_size)`` -- what the ``rclip`` command runs before it searches -- with
    ``RCLIP_DATADIR=<tmp>``; timed the same way. rclip's ``ensure_index`` and ONNX session
    load are wrapped with timers (behaviour unchanged).

Runs alternate ABBA (PhotoClip, rclip, rclip, PhotoClip, ...) so drift on a shared machine
hits both. Reported per run: photos indexed, process wall time and images/s, the tool's own
indexing time (scan + model load + encode + DB writes, without Python start and imports),
CPU time per photo (user + sys; barely moves with other load, wall time does), and peak
RSS of the process (``wait4`` rusage).

Usage: python benchmarks/bench_rclip.py [--photos 200] [--size 12mp|1024x768] [--rounds 2]
       [--rclip-batch 8] [--rclip-weights fp32|int8] [--photoclip-model random:ViT-B-32]
Defaults take about 4-6 minutes on 2 cores (+ about 1-2 minutes once for the photos, the
rclip install and the ONNX export).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, CACHE_DIR, effective_cores, environment, loadavg, markdown_table, write_results

RCLIP_PKG = CACHE_DIR / "rclip-pkg"
EXPORT_PKG = CACHE_DIR / "rclip-export-pkg"
MODEL_CACHE = CACHE_DIR / "rclip-model"
# rclip's own pins for what is not taken from this venv (rclip 3.3.0's metadata)
RCLIP_REQUIREMENTS = ["rclip==3.3.0", "onnxruntime>=1.24.4,<2", "pi-heif>=1.1.1,<2"]
EXPORT_REQUIREMENTS = ["onnx>=1.17,<2", "protobuf>=6.31.1", "ml_dtypes>=0.5.4"]
RCLIP_ARCH = "ViT-B-32-256"  # rclip: open_clip ViT-B-32-256 / datacomp_s34b_b86k
RCLIP_MODEL_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"  # rclip.model_download.MODEL_SUBDIR
RCLIP_IMAGE_SIZE = 256
RCLIP_CONTEXT_LENGTH = 77
PHOTOCLIP_MODEL = "random:ViT-B-32"
RESULT_PREFIX = "RCLIP_RESULT "
INDEXED_RE = re.compile(r"indexed: (\d+) encoded \(([\d.]+)/s\)")


# -- on-demand installs and the random-init rclip model -------------------------------------


def pip_target(target: Path, requirements: list[str]) -> None:
    """``pip install --no-deps --target`` once; a marker file names what is installed."""
    marker = target / ".bench-installed"
    wanted = "\n".join(requirements)
    if marker.is_file() and marker.read_text() == wanted:
        return
    print(f"installing {' '.join(requirements)} into {target} ...", flush=True)
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--target", str(target), *requirements], check=True)
    marker.write_text(wanted)


def installed_versions(target: Path) -> dict[str, str]:
    from importlib.metadata import distributions

    return {d.metadata["Name"]: d.version for d in distributions(path=[str(target)])}


def export_child(out: Path, weights: str) -> int:
    """Random-init ViT-B-32-256 exported like rclip's scripts/convert_model.py (run in a child)."""
    sys.path[:0] = [str(EXPORT_PKG), str(RCLIP_PKG)]
    import numpy as np
    import onnxruntime as ort
    import open_clip
    import torch

    torch.manual_seed(0)
    # rclip: open_clip.create_model_and_transforms("ViT-B-32-256", pretrained="datacomp_s34b_b86k")
    model = open_clip.create_model(RCLIP_ARCH, pretrained=None)
    model.eval()

    class Visual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = model.visual

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.visual(x)

    class Textual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip_model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.clip_model.encode_text(x)

    def export(module: torch.nn.Module, dummy: torch.Tensor, path: Path) -> None:
        torch.onnx.export(module.eval(), (dummy,), str(path), input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          opset_version=18, dynamo=False)

    model_dir = out / RCLIP_MODEL_SUBDIR
    model_dir.mkdir(parents=True)
    torch.backends.mha.set_fastpath_enabled(False)
    visual = model_dir / ("visual.fp32.onnx" if weights == "int8" else "visual.onnx")
    export(Visual(), torch.randn(1, 3, RCLIP_IMAGE_SIZE, RCLIP_IMAGE_SIZE), visual)
    export(Textual(), torch.zeros(1, RCLIP_CONTEXT_LENGTH, dtype=torch.long), model_dir / "textual.onnx")
    # the exported graph computes what the torch model does (rclip's verify_onnx, batch 2)
    images = torch.randn(2, 3, RCLIP_IMAGE_SIZE, RCLIP_IMAGE_SIZE)
    with torch.no_grad():
        expected = model.visual(images).numpy()
    session = ort.InferenceSession(str(visual), providers=["CPUExecutionProvider"])
    diff = float(np.max(np.abs(session.run(None, {"input": images.numpy()})[0] - expected)))
    print(f"visual ONNX vs torch, max abs diff: {diff:.2e}")
    if diff > 1e-3:
        raise SystemExit(f"the ONNX export diverges from the torch model: {diff}")
    if weights == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(visual), str(model_dir / "visual.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
        visual.unlink()
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (out / "tokenizer").mkdir()
    shutil.copy2(vocab, out / "tokenizer" / vocab.name)
    return 0


def ensure_rclip_model(weights: str) -> Path:
    """A cached folder laid out like rclip's data dir: <subdir>/visual.onnx, textual.onnx, tokenizer/."""
    target = MODEL_CACHE / f"random-{weights}"
    if (target / RCLIP_MODEL_SUBDIR / "visual.onnx").is_file():
        return target
    pip_target(EXPORT_PKG, EXPORT_REQUIREMENTS)
    partial = target.with_name(target.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    print(f"exporting random-init {RCLIP_ARCH} to ONNX ({weights}) into {target} ...", flush=True)
    subprocess.run([sys.executable, __file__, "--export-rclip-model", str(partial),
                    "--rclip-weights", weights], check=True)
    os.replace(partial, target)
    return target


def rclip_datadir(workdir: Path, model: Path) -> Path:
    """A fresh RCLIP_DATADIR (no db yet) whose model files are links into the cached export."""
    datadir = workdir / "rclip-data"
    (datadir / RCLIP_MODEL_SUBDIR).mkdir(parents=True)
    for name in ("visual.onnx", "textual.onnx"):
        (datadir / RCLIP_MODEL_SUBDIR / name).symlink_to(model / RCLIP_MODEL_SUBDIR / name)
    (datadir / "tokenizer").symlink_to(model / "tokenizer", target_is_directory=True)
    return datadir


# -- the rclip child: rclip's indexing as its CLI runs it ---------------------------------------


def rclip_child(folder: str, batch: int) -> int:
    started = time.perf_counter()
    sys.path.insert(0, str(RCLIP_PKG))
    from rclip import main as rclip_main
    from rclip import model_download

    timings: dict[str, float] = {"import_s": time.perf_counter() - started}
    sessions: list[dict[str, Any]] = []
    load_session = model_download._load_onnx_session
    ensure_index = rclip_main.RClip.ensure_index

    def timed_load_session(model_path: str) -> Any:  # timing only, rclip's loader does the work
        t = time.perf_counter()
        session = load_session(model_path)
        timings["model_load_s"] = timings.get("model_load_s", 0.0) + time.perf_counter() - t
        sessions.append({"path": os.path.realpath(model_path), "input": str(session.get_inputs()[0].shape),
                         "input_type": session.get_inputs()[0].type,
                         "intra_op_threads": session.get_session_options().intra_op_num_threads})
        return session

    def timed_ensure_index(self: Any, directory: str) -> None:
        t = time.perf_counter()
        ensure_index(self, directory)
        timings["index_s"] = time.perf_counter() - t

    model_download._load_onnx_session = timed_load_session
    rclip_main.RClip.ensure_index = timed_ensure_index
    t = time.perf_counter()
    app, model_instance, database = rclip_main.init_rclip(folder, batch)
    timings["init_rclip_s"] = time.perf_counter() - t
    app.close()
    model_instance.close()
    database.close()
    with sqlite3.connect(Path(os.environ["RCLIP_DATADIR"]) / "db.sqlite3") as con:
        photos = con.execute("SELECT COUNT(*) FROM images WHERE deleted IS NULL").fetchone()[0]
    timings["in_process_s"] = time.perf_counter() - started
    print(RESULT_PREFIX + json.dumps({"photos": photos, "sessions": sessions,
                                      "loader_threads": app._image_loading_workers, **timings}))
    return 0


# -- photos ----------------------------------------------------------------------------------


def ensure_folder(n: int, size: str) -> Path:
    """A folder holding exactly ``n`` photos, made by the other benchmarks' helpers."""
    if size == "12mp":
        from bench_indexing import HEIGHT, QUALITY, WIDTH, ensure_photos

        # photo i is the same in every size's folder: link what another folder already has
        target = CACHE_DIR / f"photos-{WIDTH}x{HEIGHT}-q{QUALITY}-n{n}"
        target.mkdir(parents=True, exist_ok=True)
        for sibling in CACHE_DIR.glob(f"photos-{WIDTH}x{HEIGHT}-q{QUALITY}-n*"):
            for i in range(n):
                source, dest = sibling / f"IMG_{i:04d}.jpg", target / f"IMG_{i:04d}.jpg"
                if source.is_file() and not dest.exists():
                    os.link(source, dest)
        return ensure_photos(n)
    from bench_live import ensure_small_photos

    sources = ensure_small_photos(n)
    target = CACHE_DIR / f"rclip-burst-1024x768-n{n}"  # the burst folder holds more than n
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if not (target / source.name).exists():
            os.link(source, target / source.name)
    for stray in set(target.iterdir()) - {target / s.name for s in sources}:
        stray.unlink()
    return target


def warm_page_cache(folder: Path) -> int:
    total = 0
    for path in sorted(folder.iterdir()):
        total += len(path.read_bytes())
    return total


# -- running one tool --------------------------------------------------------------------------


def run_measured(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> dict[str, Any]:
    """Run ``cmd``; wall time, CPU time and peak RSS of that process (wait4 rusage)."""
    with open(log.with_suffix(".out"), "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = log.with_suffix(".out").read_text(errors="replace")
    stderr = log.with_suffix(".err").read_text(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    rss = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": rss,
            "stdout": stdout, "stderr": stderr}


def photoclip_executable() -> list[str]:
    script = Path(sys.executable).with_name("photoclip")
    if script.is_file():
        return [str(script)]
    found = shutil.which("photoclip")
    return [found] if found else [sys.executable, "-m", "photoclip"]


def warm_photoclip_models(models: Path, model: str, folder: Path, timeout: float) -> float:
    """PhotoClip's first start with ``model``, indexing one photo (it exports its ONNX
    towers into ``models``): seconds, untimed in the runs."""
    work = models.parent / "first-start"
    one = work / "one-photo"
    one.mkdir(parents=True)
    first = next(p for p in sorted(folder.iterdir()) if p.is_file())
    shutil.copy(first, one / first.name)
    _link_models_cache(work / "home", models)
    env = os.environ | {"PHOTOCLIP_HOME": str(work / "home")}
    base = [*photoclip_executable(), "--model", model, "--device", "cpu"]
    started = time.perf_counter()
    run_measured([*base, "add", str(one)], env, work / "add", timeout)
    run_measured([*base, "index"], env, work / "index", timeout)
    return time.perf_counter() - started


def _link_models_cache(home: Path, models: Path) -> None:
    """The run's home shares what PhotoClip computes once per model: the exported ONNX
    towers (``cache/models``) and the built-in label sets' class vectors
    (``cache/class-vectors``; its new photos are tagged as they are indexed)."""
    (home / "cache").mkdir(parents=True, exist_ok=True)
    for name in ("models", "class-vectors"):
        (models / name).mkdir(parents=True, exist_ok=True)
        (home / "cache" / name).symlink_to(models / name, target_is_directory=True)


def run_photoclip(folder: Path, workdir: Path, model: str, timeout: float,
                  models: Path) -> dict[str, Any]:
    env = os.environ | {"PHOTOCLIP_HOME": str(workdir / "photoclip-home")}
    _link_models_cache(workdir / "photoclip-home", models)
    base = [*photoclip_executable(), "--model", model, "--device", "cpu"]
    run_measured([*base, "add", str(folder)], env, workdir / "add", timeout)
    measured = run_measured([*base, "index", "--json"], env, workdir / "index", timeout)
    try:
        report = json.loads(measured["stdout"])
        photos, index_s = report["encoded"], report["seconds"]
    except (ValueError, KeyError):  # the plain "indexed: N encoded (X/s), ..." line
        match = INDEXED_RE.search(measured["stdout"])
        if not match:
            raise RuntimeError(f"no index report in:\n{measured['stdout'][-2000:]}") from None
        photos, rate = int(match.group(1)), float(match.group(2))
        index_s = photos / rate if rate else float("nan")
    return measured | {"photos": photos, "index_s": index_s}


def run_rclip(folder: Path, workdir: Path, model: Path, batch: int, timeout: float) -> dict[str, Any]:
    env = os.environ | {
        "RCLIP_DATADIR": str(rclip_datadir(workdir, model)),
        "HF_HUB_OFFLINE": "1",  # its model is already "downloaded"; never go online
        "TQDM_DISABLE": "1",  # no progress bar (PhotoClip draws none when stderr is not a tty)
    }
    cmd = [sys.executable, __file__, "--rclip-child", str(folder), "--rclip-batch", str(batch)]
    measured = run_measured(cmd, env, workdir / "rclip", timeout)
    lines = [line for line in measured["stdout"].splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise RuntimeError(f"rclip child printed no result:\n{measured['stderr'][-4000:]}")
    child = json.loads(lines[-1][len(RESULT_PREFIX):])
    return measured | child


# -- report --------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    mine = [r for r in runs if r["tool"] == tool]
    return {
        "runs": len(mine),
        "photos": mine[0]["photos"],
        "wall_s": {"best": min(r["wall_s"] for r in mine),
                   "mean": statistics.mean(r["wall_s"] for r in mine)},
        "images_per_s": {"best": max(r["images_per_s"] for r in mine),
                         "mean": statistics.mean(r["images_per_s"] for r in mine)},
        "index_images_per_s": {"best": max(r["index_images_per_s"] for r in mine),
                               "mean": statistics.mean(r["index_images_per_s"] for r in mine)},
        "cpu_ms_per_image": statistics.mean(r["cpu_ms_per_image"] for r in mine),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in mine),
    }


def print_report(results: dict[str, Any]) -> None:
    runs = results["runs"]
    print()
    print(markdown_table(
        ["run", "tool", "photos", "wall s", "images/s", "indexing s", "indexing images/s",
         "cpu ms/image", "peak RSS MiB", "load 1m"],
        [[r["run"], r["tool"], r["photos"], f"{r['wall_s']:.1f}", f"{r['images_per_s']:.2f}",
          f"{r['index_s']:.1f}", f"{r['index_images_per_s']:.2f}", f"{r['cpu_ms_per_image']:.0f}",
          f"{r['peak_rss_mib']:.0f}", r["load_1m"]] for r in runs]))
    s = results["summary"]
    p, c = s["photoclip"], s["rclip"]
    print()
    print(markdown_table(
        ["tool", "photos", "seconds (best / mean)", "images/s (best / mean)",
         "indexing images/s (best / mean)", "cpu ms/image", "peak RSS MiB"],
        [[name, t["photos"], f"{t['wall_s']['best']:.1f} / {t['wall_s']['mean']:.1f}",
          f"{t['images_per_s']['best']:.2f} / {t['images_per_s']['mean']:.2f}",
          f"{t['index_images_per_s']['best']:.2f} / {t['index_images_per_s']['mean']:.2f}",
          f"{t['cpu_ms_per_image']:.0f}", f"{t['peak_rss_mib']:.0f}"]
         for name, t in (("PhotoClip", p), ("rclip", c))]
        + [["PhotoClip / rclip", "", "", f"{s['ratio']['best']:.2f}x / {s['ratio']['mean']:.2f}x",
            f"{s['ratio_indexing']['best']:.2f}x / {s['ratio_indexing']['mean']:.2f}x",
            f"{s['ratio_cpu']:.2f}x less" if s["ratio_cpu"] >= 1 else f"{1 / s['ratio_cpu']:.2f}x more",
            f"{p['peak_rss_mib'] / c['peak_rss_mib']:.2f}x"]]))


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=200, help="how many photos to index (default 200)")
    p.add_argument("--size", choices=["12mp", "1024x768"], default="12mp",
                   help="12mp: 4000x3000 JPEG q90 (bench_indexing); 1024x768: q85 (bench_live)")
    p.add_argument("--rounds", type=int, default=2, help="ABBA rounds; each runs both tools once")
    p.add_argument("--rclip-batch", type=int, default=8, help="rclip --indexing-batch-size (its default 8)")
    p.add_argument("--rclip-weights", choices=["fp32", "int8"], default="fp32",
                   help="fp32: the plain ONNX export; int8: dynamically quantized MatMul/Gemm")
    p.add_argument("--photoclip-model", default=PHOTOCLIP_MODEL, help="PhotoClip --model spec")
    p.add_argument("--timeout", type=float, default=1800, help="seconds one run may take")
    p.add_argument("--rclip-child", metavar="FOLDER", help=argparse.SUPPRESS)
    p.add_argument("--export-rclip-model", metavar="DIR", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rclip_child:
        return rclip_child(args.rclip_child, args.rclip_batch)
    if args.export_rclip_model:
        return export_child(Path(args.export_rclip_model), args.rclip_weights)
    started = time.perf_counter()
    env = environment()
    folder = ensure_folder(args.photos, args.size)
    pip_target(RCLIP_PKG, RCLIP_REQUIREMENTS)
    model = ensure_rclip_model(args.rclip_weights)
    size_mb = warm_page_cache(folder) / 1e6
    env["rclip_packages"] = installed_versions(RCLIP_PKG)
    print(f"{args.photos} photos ({args.size}, {size_mb / args.photos:.2f} MB each) in {folder}; "
          f"{args.rounds} ABBA rounds ...", flush=True)
    order = [tool for r in range(args.rounds)
             for tool in (("photoclip", "rclip") if r % 2 == 0 else ("rclip", "photoclip"))]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="photoclip-bench-rclip-") as tmp:
        models = Path(tmp) / "photoclip-models"
        env["photoclip_first_start_s"] = warm_photoclip_models(
            models, args.photoclip_model, folder, args.timeout)
        for run, tool in enumerate(order, start=1):
            workdir = Path(tmp) / f"{run}-{tool}"
            workdir.mkdir()
            load_1m = loadavg()
            if tool == "photoclip":
                r = run_photoclip(folder, workdir, args.photoclip_model, args.timeout, models)
            else:
                r = run_rclip(folder, workdir, model, args.rclip_batch, args.timeout)
            r.pop("stdout")
            stderr = r.pop("stderr")
            if r["photos"] != args.photos:
                raise RuntimeError(f"{tool} indexed {r['photos']} of {args.photos} photos:\n{stderr[-4000:]}")
            r |= {"run": run, "tool": tool, "load_1m": load_1m[0] if load_1m else None,
                  "images_per_s": r["photos"] / r["wall_s"],
                  "index_images_per_s": r["photos"] / r["index_s"],
                  "cpu_ms_per_image": 1e3 * r["cpu_s"] / r["photos"]}
            runs.append(r)
            print(f"  {run} {tool}: {r['photos']} photos in {r['wall_s']:.1f} s "
                  f"({r['images_per_s']:.2f}/s; indexing {r['index_s']:.1f} s), "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    env["loadavg_at_end"] = loadavg()
    env["effective_cores_at_end"] = effective_cores()
    summary = {"photoclip": summarise(runs, "photoclip"), "rclip": summarise(runs, "rclip")}
    p, c = summary["photoclip"], summary["rclip"]
    summary["ratio"] = {k: p["images_per_s"][k] / c["images_per_s"][k] for k in ("best", "mean")}
    summary["ratio_indexing"] = {k: p["index_images_per_s"][k] / c["index_images_per_s"][k]
                                 for k in ("best", "mean")}
    summary["ratio_cpu"] = c["cpu_ms_per_image"] / p["cpu_ms_per_image"]
    results = {
        "config": vars(args) | {
            "folder": str(folder.relative_to(BENCH_DIR)), "mean_file_mb": size_mb / args.photos,
            "order": order, "rclip_model": f"{RCLIP_ARCH} random init, ONNX {args.rclip_weights}",
            "rclip_requirements": RCLIP_REQUIREMENTS},
        "environment": env, "runs": runs, "summary": summary, "total_s": time.perf_counter() - started,
    }
    for key in ("rclip_child", "export_rclip_model"):
        results["config"].pop(key)
    print_report(results)
    print(f"results: {write_results('bench_rclip', results)} (total {results['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
