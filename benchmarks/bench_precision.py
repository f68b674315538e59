"""Encoder precision paths side by side: speed, agreement with fp32, peak memory.

Indexes the same N 12 MP JPEGs (bench_indexing's photos) end to end with
`Library.index_photos` (the real pipeline: read, hash, draft decode, preprocess,
encode, write) once per variant, each in its own fresh process (so each peak RSS
is its own) with the same ViT-B-32 random-init weights (random:ARCH is seeded), in ABBA order so
machine drift hits every variant alike:

  fp32          the plain eager PyTorch pipeline (the reference)
  int8-pytorch  the image tower on int8 weights, dynamic activations (PyTorch, fbgemm)
  int8-onnx     the image tower exported to ONNX, quantized dynamically to int8 and
                run by ONNX Runtime, queries on its int8 text tower (the `fast`
                extra; what auto picks here)
  bf16          weights cast to bf16 (fast only with native bf16; emulated if absent)

For each: images/s (best and mean of rounds), ratio to fp32 measured in this run,
the share of wall time the encoder waited for decoded input, decode cost per image,
peak RSS, the model alone at batch 32 (images/s, same process, after indexing), and
agreement with fp32: cosine per image (min and mean over the set), cosine per text
query, and how often a query's top-10 is the same set of photos (each variant's own
text vectors against its own image vectors, and every photo as a find-similar query).

int8-onnx's one-off export + quantization runs first, in a process of its own, into
a fresh cache (its time, peak RSS and file size are reported); the timed runs reuse
that cache, as every run after a model's first does.

Usage: python benchmarks/bench_precision.py [--n 96] [--quality 90] [--rounds 2]
           [--variants fp32,int8-pytorch,int8-onnx[,bf16]] [--ort-threads N]
About 4-6 minutes on 2 cores (bf16 without native support adds ~1 minute).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import NO_TAGGING, environment, loadavg, markdown_table, write_results
from bench_indexing import ensure_photos

MODEL = "random:ViT-B-32"
QUERIES = [
    "a dog on a beach at sunset", "a red car in the city", "mountains covered in snow",
    "a birthday cake with candles", "people at a concert", "a cat sleeping on a sofa",
    "a plate of food", "flowers in a garden", "a screenshot of a phone", "a forest path",
    "a wedding", "a night sky with stars", "a bird on a branch", "a receipt", "a whiteboard",
    "a selfie", "boats in a harbour", "a bicycle", "children playing football", "a bridge",
]


def _encoder(variant: str, cache: Path, ort_threads: int) -> Any:

    from photoclip.core.clip import onnx_cache, onnx_visual
    from photoclip.core.clip.encoder import ClipEncoder, ModelSpec

    onnx_visual.THREADS = ort_threads
    onnx_cache.SESSION_CONFIG.update(
        item.split("=", 1) for item in os.environ.get("BENCH_ORT_CONFIG", "").split(",") if item)
    return ClipEncoder(ModelSpec.parse(MODEL), "cpu", variant, cache_dir=cache).load()


def export_once(cache: Path, ort_threads: int) -> dict[str, Any]:
    """In this (fresh) process: int8-onnx's first load (export, quantize, check)."""
    started = time.perf_counter()
    encoder = _encoder("int8-onnx", cache, ort_threads)
    towers = {m.get("tower", "visual"): m for m in (
        json.loads(p.read_text()) for p in cache.glob("onnx/*/manifest.json"))}
    return {"precision": encoder.precision, "text_precision": encoder.text_precision,
            "load_s": time.perf_counter() - started,
            **{f"{tower}_{key}": m.get(key) if key != "verified" else min(
                m.get(key, {}).values(), default=None)
               for tower, m in towers.items() for key in ("build_s", "bytes", "verified")},
            **{f"{tower}_failed": m["failed"] for tower, m in towers.items() if m.get("failed")},
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def model_only(encoder: Any, folder: Path, batch: int, repeats: int = 3) -> float:
    """Images/s of the encoder alone on one batch of the photos, decoded beforehand."""
    from photoclip.core.files.imaging import decode_for_model

    photos = sorted(folder.iterdir())[:batch]
    inputs = [encoder.preprocess(decode_for_model(p.read_bytes(), encoder.input_size).image)
              for p in photos]
    encoder.encode_images(inputs[:4])  # warm
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode_images(inputs)
        best = min(best, time.perf_counter() - started)
    return len(inputs) / best


def run_variant(variant: str, folder: Path, out: Path, batch: int, cache: Path,
                ort_threads: int) -> dict[str, Any]:
    """In this (fresh) process: index ``folder`` with ``variant``; vectors to ``out``."""
    from photoclip.core import indexer
    from photoclip.core.library import Library
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings

    started = time.perf_counter()
    encoder = _encoder(variant, cache, ort_threads)
    load_s = time.perf_counter() - started
    encode_s = [0.0]
    decode_s = [0.0]
    inner_encode, inner_decode = encoder.encode_images, indexer.decode_for_model

    def timed_encode(inputs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner_encode(inputs)
        finally:
            encode_s[0] += time.perf_counter() - started

    def timed_decode(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()  # CPU of the decoding thread, not wall
        try:
            return inner_decode(*args, **kwargs)
        finally:
            decode_s[0] += time.thread_time() - started

    encoder.encode_images = timed_encode  # type: ignore[method-assign]
    indexer.decode_for_model = timed_decode
    home = Path(tempfile.mkdtemp(prefix="photoclip-bench-precision-"))
    settings = Settings(model=MODEL, device="cpu", label_sets=NO_TAGGING, batch_size=batch,
                        precision="int8" if variant.startswith("int8") else variant)
    with Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings, encoder=encoder) as lib:
        lib.add_folder(folder)
        started = time.perf_counter()
        report = lib.index_photos()
        seconds = time.perf_counter() - started
        ids, vectors = lib.catalog.all_vectors(encoder.model_id)
        paths = [str(lib.catalog.photo(int(i)).path.name) for i in ids]
        texts = encoder.encode_texts(QUERIES)
    order = np.argsort(paths)
    np.savez(out, names=np.array(paths)[order], vectors=vectors[order], texts=texts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before model-only
    encoder.encode_images = inner_encode  # type: ignore[method-assign]
    return {
        "precision": encoder.precision, "text_precision": encoder.text_precision,
        "images": report.encoded, "seconds": seconds,
        "images_per_s": report.encoded / seconds, "wait_share": 1 - encode_s[0] / seconds,
        "decode_ms_per_image": 1000 * decode_s[0] / max(report.encoded, 1),
        "peak_rss_mib": peak, "load_s": load_s,
        "model_only_images_per_s": model_only(encoder, folder, batch),
    }


def _child(variant: str, folder: Path, out: Path, batch: int, cache: Path,
           ort_threads: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--folder", str(folder), "--out", str(out),
         "--batch", str(batch), "--cache", str(cache), "--ort-threads", str(ort_threads)],
        capture_output=True, text=True, cwd=Path(__file__).parent)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def top10_agreement(reference: np.ndarray, other: np.ndarray, queries_ref: np.ndarray,
                    queries_other: np.ndarray, exclude_self: bool) -> tuple[float, float]:
    """(share of queries whose top-10 set is unchanged, mean overlap of the top-10s)."""
    same, overlap = 0, 0.0
    for i, (q_ref, q_other) in enumerate(zip(queries_ref, queries_other, strict=True)):
        scores_ref, scores_other = reference @ q_ref, other @ q_other
        if exclude_self:
            scores_ref[i] = scores_other[i] = -np.inf
        top_ref = set(np.argsort(-scores_ref)[:10])
        top_other = set(np.argsort(-scores_other)[:10])
        same += top_ref == top_other
        overlap += len(top_ref & top_other) / 10
    return same / len(queries_ref), overlap / len(queries_ref)


def agreement(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, float]:
    assert list(reference["names"]) == list(other["names"])
    cos = (reference["vectors"] * other["vectors"]).sum(1)
    # Each side searched with its own text vectors: the fast path encodes queries too.
    text, text_overlap = top10_agreement(reference["vectors"], other["vectors"],
                                         reference["texts"], other["texts"], exclude_self=False)
    text_cos = (reference["texts"] * other["texts"]).sum(1)
    image, image_overlap = top10_agreement(reference["vectors"], other["vectors"],
                                           reference["vectors"], other["vectors"], exclude_self=True)
    return {"cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "text_cos_min": float(text_cos.min()), "top10_text_same": text,
            "top10_text_overlap": text_overlap,
            "top10_similar_same": image, "top10_similar_overlap": image_overlap}


def spread(vectors: np.ndarray) -> float:
    """Mean cosine between different photos: near 1, every score is a near tie."""
    sims = vectors @ vectors.T
    n = len(vectors)
    return float((sims.sum() - np.trace(sims)) / (n * n - n))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=96)
    p.add_argument("--quality", type=int, default=90,
                   help="JPEG quality of the generated 12 MP photos: decoding cost grows with it "
                        "(q90 ~2.8 MB, q75 ~1.2 MB)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--variants", default="fp32,int8-pytorch,int8-onnx")
    p.add_argument("--ort-threads", type=int, default=0, help="ONNX Runtime threads (0: default)")
    p.add_argument("--results", default="bench_precision", help="results/<name>.json")
    p.add_argument("--child")
    p.add_argument("--child-export", action="store_true")
    p.add_argument("--folder", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--cache", type=Path)
    return p.parse_args(argv)


def _export_child(cache: Path, ort_threads: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child-export", "--cache", str(cache),
         "--ort-threads", str(ort_threads)], capture_output=True, text=True,
        cwd=Path(__file__).parent)
    if done.returncode != 0:
        raise RuntimeError(f"int8-onnx export failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rounds(args: argparse.Namespace, folder: Path, tmp: Path, cache: Path,
            ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, np.ndarray]]]:
    variants = args.variants.split(",")
    fast = [v for v in variants if v != "fp32"]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for round_ in range(args.rounds):
        # ABBA: fp32 first in even rounds, last in odd ones; bf16 (slow when
        # emulated) once, in the middle of the first round.
        order = ["fp32", *fast] if round_ % 2 == 0 else [*fast[::-1], "fp32"]
        for variant in order:
            if variant == "bf16" and round_ > 0:
                continue
            out = tmp / f"{variant}.npz"
            runs[variant].append(_child(variant, folder, out, args.batch, cache, args.ort_threads))
            last = runs[variant][-1]
            print(f"{variant} ({last['precision']}): {last['images_per_s']:.1f} images/s, "
                  f"model alone {last['model_only_images_per_s']:.1f}", flush=True)
            vectors[variant] = dict(np.load(out))
    return runs, vectors


def _summary(runs: dict[str, list[dict[str, Any]]], vectors: dict[str, dict[str, np.ndarray]],
             ) -> tuple[list[list[str]], dict[str, Any]]:
    reference = vectors["fp32"]
    rows, results = [], {}
    base = max(r["images_per_s"] for r in runs["fp32"])
    base_mean = float(np.mean([r["images_per_s"] for r in runs["fp32"]]))
    for variant, done in runs.items():
        best = max(r["images_per_s"] for r in done)
        mean = float(np.mean([r["images_per_s"] for r in done]))
        model = max(r["model_only_images_per_s"] for r in done)
        agree = agreement(reference, vectors[variant])
        results[variant] = {"runs": done, "best": best, "mean": mean, "ratio_best": best / base,
                            "ratio_mean": mean / base_mean, "model_only_best": model, **agree}
        last = done[-1]
        rows.append([variant, f"{last['precision']} / {last['text_precision']}",
                     f"{best:.1f} / {mean:.1f}", f"{best / base:.2f}x / {mean / base_mean:.2f}x",
                     f"{agree['cos_min']:.5f} / {agree['cos_mean']:.5f}",
                     f"{agree['text_cos_min']:.5f}",
                     f"{agree['top10_text_same']:.0%} / {agree['top10_similar_same']:.0%}",
                     f"{agree['top10_text_overlap']:.0%} / {agree['top10_similar_overlap']:.0%}",
                     f"{last['wait_share']:.0%}", f"{last['decode_ms_per_image']:.1f}",
                     f"{max(r['peak_rss_mib'] for r in done):.0f}", f"{model:.1f}"])
    return rows, results


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.child_export:
        print(json.dumps(export_once(args.cache, args.ort_threads)))
        return 0
    if args.child:
        print(json.dumps(run_variant(args.child, args.folder, args.out, args.batch, args.cache,
                                     args.ort_threads)))
        return 0
    folder = ensure_photos(args.n, args.quality)
    with tempfile.TemporaryDirectory(prefix="photoclip-bench-precision-") as tmp:
        cache, export = Path(tmp) / "cache", None
        if "int8-onnx" in args.variants.split(","):
            export = _export_child(cache, args.ort_threads)  # a fresh cache: a first run
            print(f"int8-onnx first load: image tower {export['visual_build_s']} s, "
                  f"{export['visual_bytes'] / 2**20:.0f} MiB on disk; text tower "
                  f"{export.get('text_build_s')} s, {export.get('text_bytes', 0) / 2**20:.0f} MiB; "
                  f"peak RSS {export['peak_rss_mib']:.0f} MiB"
                  + "".join(f"; {k}: {v}" for k, v in export.items() if k.endswith("_failed")),
                  flush=True)
        runs, vectors = _rounds(args, folder, Path(tmp), cache)
    rows, results = _summary(runs, vectors)
    print(markdown_table(
        ["variant", "ran as (images / text)", "images/s best / mean", "ratio to fp32",
         "image cosine min / mean", "text cosine min",
         "same top-10 text / similar", "top-10 overlap text / similar", "encoder waiting",
         "decode CPU ms/image", "peak RSS MiB", "model alone, batch 32 (images/s)"],
        rows))
    reference = vectors["fp32"]["vectors"]
    path = write_results(args.results, {
        "environment": environment(), "model": MODEL, "photos": args.n, "batch": args.batch,
        "jpeg_quality": args.quality, "folder": str(folder),
        "variants": results, "onnx_first_load": export, "ort_threads": args.ort_threads,
        "loadavg_at_end": loadavg(), "fp32_mean_pairwise_cosine": spread(reference),
        "cpu_flags": sorted(f for f in _flags() if "vnni" in f or "bf16" in f or "amx" in f)})
    print(f"fp32 photo-to-photo mean cosine (random init): {spread(reference):.4f}")
    print(f"results: {path}")
    return 0


def _flags() -> frozenset[str]:
    from photoclip.core.clip.precision import cpu_flags

    return cpu_flags()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())
