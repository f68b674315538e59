"""Indexing on a CUDA GPU: images/s, GPU utilisation, how long the encoder waits for
decoded input, and agreement with fp32 -- the one prepared run for a lent GPU machine.

Indexes the same N 12 MP JPEGs (bench_indexing's photos) end to end with
`Library.index_photos` (read, hash, draft decode on the decode workers, preprocess,
encode on the GPU with pinned-memory copies, write), ViT-B-32 at random init
(seeded: every variant the same weights), once per variant:

  fp16   autocast to fp16 on the GPU (what precision auto picks there)
  fp32   forced fp32 on the GPU (the reference)
  bf16   weights cast to bf16 (``--variants`` to add it)

with the decode workers at the indexer's default (one per core) and, for fp16, at
the counts in ``--workers`` too: on a GPU the encoder is rarely the limit, decoding
is, so the question is how many workers keep the GPU busy. GPU utilisation is
sampled from ``nvidia-smi`` every 100 ms while indexing runs (mean and p50;
"n/a" without it). Also the model alone on preprocessed inputs at batch 32 and 256
(images/s), peak GPU memory, and agreement: every image's fp16 vector against the
fp32 GPU one and against fp32 on the CPU (cosine min / mean), and the share of
find-similar top-10s that stay the same.

Usage (on the GPU machine, about 3-6 minutes plus making the photos once):
    python benchmarks/bench_cuda.py [--n 1000] [--workers 4,8] [--variants fp16,fp32]
                                    [--out DIR]
``--device cpu --n 16 --variants fp32`` runs the same code on the CPU (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import NO_TAGGING, environment, markdown_table, write_results
from bench_indexing import ensure_photos

MODEL = "random:ViT-B-32"


class GpuSampler:
    """``nvidia-smi`` utilisation samples (percent) while running; empty without it."""

    def __init__(self, interval_ms: int = 100) -> None:
        self.samples: list[float] = []
        self._interval_ms = interval_ms
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        smi = shutil.which("nvidia-smi")
        if smi is not None:
            self._process = subprocess.Popen(
                [smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                 f"-lms={self._interval_ms}", "--id=0"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self.samples.append(float(line.strip()))
            except ValueError:
                continue

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def summary(self) -> dict[str, float] | None:
        if not self.samples:
            return None
        return {"mean": float(np.mean(self.samples)), "p50": float(np.median(self.samples)),
                "samples": len(self.samples)}


def load_encoder(device: str, variant: str) -> Any:
    """fp16 is what precision auto runs on a GPU (on the CPU, auto picks its own)."""
    from photoclip.core.clip.encoder import ClipEncoder, ModelSpec

    requested = "auto" if variant == "fp16" else variant
    return ClipEncoder(ModelSpec.parse(MODEL), device, requested).load()


def index_once(encoder: Any, folder: Path, batch: int, workers: int) -> dict[str, Any]:
    """One end-to-end indexing of ``folder`` in a fresh library."""
    import torch

    from photoclip.core.library import Library
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings

    encode_s = [0.0]
    inner = encoder.encode_images

    def timed_encode(inputs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(inputs)
        finally:
            encode_s[0] += time.perf_counter() - started

    encoder.encode_images = timed_encode
    home = Path(tempfile.mkdtemp(prefix="photoclip-bench-cuda-"))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        settings = Settings(model=MODEL, device=encoder.device, label_sets=NO_TAGGING,
                            batch_size=batch, precision=encoder.requested_precision,
                            decode_workers=workers)
        with Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings, encoder=encoder) as lib:
            lib.add_folder(folder)
            with GpuSampler() as gpu:
                started = time.perf_counter()
                report = lib.index_photos()
                seconds = time.perf_counter() - started
            ids, vectors = lib.catalog.all_vectors(encoder.model_id)
            names = [lib.catalog.photo(int(i)).path.name for i in ids]
    finally:
        encoder.encode_images = inner
        shutil.rmtree(home, ignore_errors=True)
    order = np.argsort(names)
    return {
        "workers": workers or "default (one per core)", "images": report.encoded,
        "seconds": seconds, "images_per_s": report.encoded / seconds,
        "encoder_busy_share": encode_s[0] / seconds, "gpu_utilisation": gpu.summary(),
        "peak_gpu_mib": (torch.cuda.max_memory_allocated() / 2**20
                         if torch.cuda.is_available() else None),
        "names": [names[i] for i in order], "vectors": vectors[order],
    }


def model_only(encoder: Any, folder: Path, batch: int) -> float:
    """Images/s of the encoder alone on preprocessed inputs (decoded beforehand)."""
    from photoclip.core.files.imaging import decode_for_model

    photos = sorted(folder.iterdir())[: min(batch, 64)]
    inputs = [encoder.preprocess(decode_for_model(p.read_bytes(), encoder.input_size).image)
              for p in photos]
    inputs = (inputs * (batch // len(inputs) + 1))[:batch]
    encoder.encode_images(inputs)  # warm: kernels, autocast caches
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        encoder.encode_images(inputs)
        best = min(best, time.perf_counter() - started)
    return batch / best


def similar_top10_same(reference: np.ndarray, other: np.ndarray) -> float:
    same = 0
    for i in range(len(reference)):
        a, b = reference @ reference[i], other @ other[i]
        a[i] = b[i] = -np.inf
        same += set(np.argsort(-a)[:10]) == set(np.argsort(-b)[:10])
    return same / len(reference)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: this benchmark is for a GPU machine "
                         "(--device cpu runs it on the CPU as a smoke test)")
    folder = ensure_photos(args.n, args.quality)
    results: dict[str, Any] = {
        "environment": environment(), "model": MODEL, "device": args.device, "photos": args.n,
        "jpeg_quality": args.quality, "batch": args.batch,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "variants": {}}
    vectors: dict[str, np.ndarray] = {}
    names: list[str] | None = None
    for variant in args.variants.split(","):
        encoder = load_encoder(args.device, variant)
        runs = [index_once(encoder, folder, args.batch, 0)]
        if variant == "fp16":
            runs += [index_once(encoder, folder, args.batch, int(w))
                     for w in args.workers.split(",") if w]
        for done in runs:
            names = names or done["names"]
            assert done["names"] == names, "each run must index the same photos"
        vectors[variant] = runs[0]["vectors"]
        results["variants"][variant] = {
            "ran_as": encoder.precision,
            "runs": [{k: v for k, v in r.items() if k not in ("names", "vectors")} for r in runs],
            "model_only_images_per_s": {str(b): model_only(encoder, folder, b)
                                        for b in (32, 256)},
        }
        print(f"{variant} ({encoder.precision}): "
              + ", ".join(f"{r['images_per_s']:.0f} images/s with {r['workers']} workers"
                          for r in runs), flush=True)
        del encoder
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    if "fp32" in vectors:
        reference = vectors["fp32"]
        cpu_reference = _cpu_fp32_vectors(folder, names or [], args.batch)
        for variant, got in vectors.items():
            cos = (reference * got).sum(1)
            cos_cpu = (cpu_reference * got[: len(cpu_reference)]).sum(1)
            results["variants"][variant]["agreement"] = {
                "cos_min_vs_fp32": float(cos.min()), "cos_mean_vs_fp32": float(cos.mean()),
                "cos_min_vs_cpu_fp32": float(cos_cpu.min()),
                "similar_top10_same": similar_top10_same(reference, got)}
    return results


def _cpu_fp32_vectors(folder: Path, names: list[str], batch: int, count: int = 64) -> np.ndarray:
    """fp32 on the CPU for the first ``count`` photos (in ``names`` order)."""
    from photoclip.core.files.imaging import decode_for_model

    encoder = load_encoder("cpu", "fp32")
    inputs = [encoder.preprocess(decode_for_model((folder / n).read_bytes(),
                                                  encoder.input_size).image)
              for n in names[:count]]
    return np.concatenate([encoder.encode_images(inputs[i:i + batch])
                           for i in range(0, len(inputs), batch)])


def report(results: dict[str, Any]) -> str:
    rows = []
    fp32 = results["variants"].get("fp32")
    base = fp32["runs"][0]["images_per_s"] if fp32 else None
    for variant, data in results["variants"].items():
        agree = data.get("agreement", {})
        for r in data["runs"]:
            gpu = r["gpu_utilisation"]
            rows.append([
                variant, data["ran_as"], r["workers"], f"{r['images_per_s']:.1f}",
                f"{r['images_per_s'] / base:.2f}x" if base else "",
                f"{gpu['mean']:.0f}% / {gpu['p50']:.0f}%" if gpu else "n/a",
                f"{1 - r['encoder_busy_share']:.0%}",
                f"{r['peak_gpu_mib']:.0f}" if r["peak_gpu_mib"] is not None else "n/a",
                " / ".join(f"{v:.0f}" for v in data["model_only_images_per_s"].values()),
                (f"{agree['cos_min_vs_fp32']:.5f} / {agree['cos_min_vs_cpu_fp32']:.5f}"
                 if agree else ""),
                f"{agree['similar_top10_same']:.0%}" if agree else ""])
    return markdown_table(
        ["variant", "ran as", "decode workers", "images/s", "vs fp32", "GPU util mean / p50",
         "encoder waiting", "peak GPU MiB", "model alone b32 / b256 (images/s)",
         "cosine min vs fp32 GPU / CPU", "same similar top-10"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="photos (12 MP JPEG) to index")
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--device", default="cuda")
    p.add_argument("--variants", default="fp16,fp32")
    p.add_argument("--workers", default="4,8", help="extra decode-worker counts to try (fp16)")
    p.add_argument("--out", type=Path, help="also copy the results JSON into this folder")
    args = p.parse_args(argv)
    started = time.perf_counter()
    results = run(args)
    results["total_s"] = time.perf_counter() - started
    print(report(results))
    path = write_results(f"bench_cuda_{args.device}", results)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / path.name).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"results: {path} (total {results['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
