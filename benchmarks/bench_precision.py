"""Encoder precision paths side by side: speed, agreement with fp32, peak memory.

Indexes the same N 12 MP JPEGs (bench_indexing's photos) end to end with
`Library.index_photos` (the real pipeline: read, hash, draft decode, preprocess,
encode, write) once per precision, each in its own fresh process (so each peak RSS
is its own) with the same ViT-B-32 random-init weights (seeded), in ABBA order so
machine drift hits every variant alike:

  fp32   the plain eager PyTorch pipeline (the reference)
  int8   the image tower on int8 weights, dynamic activations (fbgemm)
  bf16   weights cast to bf16 (fast only with native bf16; emulated here if absent)

For each: images/s (best and mean of rounds), ratio to fp32 measured in this run,
the share of wall time the encoder waited for decoded input, decode cost per image,
peak RSS, and agreement with fp32: cosine per image (min and mean over the set),
and how often a query's top-10 is the same set of photos (text queries encoded
once in fp32, plus every photo as a find-similar query).

Usage: python benchmarks/bench_precision.py [--n 96] [--rounds 2] [--variants fp32,int8,bf16]
About 3-5 minutes on 2 cores (bf16 without native support is most of it).
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
SEED = 1234
QUERIES = [
    "a dog on a beach at sunset", "a red car in the city", "mountains covered in snow",
    "a birthday cake with candles", "people at a concert", "a cat sleeping on a sofa",
    "a plate of food", "flowers in a garden", "a screenshot of a phone", "a forest path",
    "a wedding", "a night sky with stars", "a bird on a branch", "a receipt", "a whiteboard",
    "a selfie", "boats in a harbour", "a bicycle", "children playing football", "a bridge",
]


def run_variant(precision: str, folder: Path, out: Path, batch: int) -> dict[str, Any]:
    """In this (fresh) process: index ``folder`` with ``precision``; vectors to ``out``."""
    import torch

    from photoclip.core import indexer
    from photoclip.core.encoder import ClipEncoder, ModelSpec
    from photoclip.core.library import Library
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings

    torch.manual_seed(SEED)  # the same random weights in every process
    encoder = ClipEncoder(ModelSpec.parse(MODEL), "cpu", precision).load()
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
                        precision=precision)
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
    return {
        "precision": encoder.precision, "images": report.encoded, "seconds": seconds,
        "images_per_s": report.encoded / seconds, "wait_share": 1 - encode_s[0] / seconds,
        "decode_ms_per_image": 1000 * decode_s[0] / max(report.encoded, 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(precision: str, folder: Path, out: Path, batch: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", precision, "--folder", str(folder), "--out", str(out),
         "--batch", str(batch)], capture_output=True, text=True, cwd=Path(__file__).parent)
    if done.returncode != 0:
        raise RuntimeError(f"{precision} run failed:\n{done.stderr[-3000:]}")
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
    text, text_overlap = top10_agreement(reference["vectors"], other["vectors"],
                                         reference["texts"], reference["texts"], exclude_self=False)
    image, image_overlap = top10_agreement(reference["vectors"], other["vectors"],
                                           reference["vectors"], other["vectors"], exclude_self=True)
    return {"cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
            "top10_text_same": text, "top10_text_overlap": text_overlap,
            "top10_similar_same": image, "top10_similar_overlap": image_overlap}


def spread(vectors: np.ndarray) -> float:
    """Mean cosine between different photos: near 1, every score is a near tie."""
    sims = vectors @ vectors.T
    n = len(vectors)
    return float((sims.sum() - np.trace(sims)) / (n * n - n))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=96)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--variants", default="fp32,int8,bf16")
    p.add_argument("--child")
    p.add_argument("--folder", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_variant(args.child, args.folder, args.out, args.batch)))
        return 0
    folder = ensure_photos(args.n)
    variants = args.variants.split(",")
    fast = [v for v in variants if v != "fp32"]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="photoclip-bench-precision-") as tmp:
        vectors: dict[str, dict[str, np.ndarray]] = {}
        for round_ in range(args.rounds):
            # ABBA: fp32 first in even rounds, last in odd ones; bf16 (slow when
            # emulated) once, in the middle of the first round.
            order = ["fp32", *fast] if round_ % 2 == 0 else [*fast, "fp32"]
            for variant in order:
                if variant == "bf16" and round_ > 0:
                    continue
                out = Path(tmp) / f"{variant}.npz"
                runs[variant].append(_child(variant, folder, out, args.batch))
                print(f"{variant}: {runs[variant][-1]['images_per_s']:.1f} images/s", flush=True)
                vectors[variant] = dict(np.load(out))
        reference = vectors["fp32"]
        rows, results = [], {}
        base = max(r["images_per_s"] for r in runs["fp32"])
        base_mean = np.mean([r["images_per_s"] for r in runs["fp32"]])
        for variant in variants:
            best = max(r["images_per_s"] for r in runs[variant])
            mean = float(np.mean([r["images_per_s"] for r in runs[variant]]))
            agree = agreement(reference, vectors[variant])
            results[variant] = {"runs": runs[variant], "best": best, "mean": mean,
                                "ratio_best": best / base, "ratio_mean": mean / base_mean,
                                **agree}
            last = runs[variant][-1]
            rows.append([variant, last["precision"], f"{best:.1f} / {mean:.1f}",
                         f"{best / base:.2f}x / {mean / base_mean:.2f}x",
                         f"{agree['cos_min']:.5f} / {agree['cos_mean']:.5f}",
                         f"{agree['top10_text_same']:.0%} / {agree['top10_similar_same']:.0%}",
                         f"{agree['top10_text_overlap']:.0%} / {agree['top10_similar_overlap']:.0%}",
                         f"{last['wait_share']:.0%}", f"{last['decode_ms_per_image']:.1f}",
                         f"{max(r['peak_rss_mib'] for r in runs[variant]):.0f}"])
    print(markdown_table(
        ["variant", "ran as", "images/s best / mean", "ratio to fp32", "cosine min / mean",
         "same top-10 text / similar", "top-10 overlap text / similar", "encoder waiting",
         "decode CPU ms/image", "peak RSS MiB"],
        rows))
    path = write_results("bench_precision", {
        "environment": environment(), "model": MODEL, "photos": args.n, "batch": args.batch,
        "variants": results, "loadavg_at_end": loadavg(),
        "fp32_mean_pairwise_cosine": spread(reference["vectors"]),
        "cpu_flags": sorted(f for f in _flags() if "vnni" in f or "bf16" in f or "amx" in f)})
    print(f"fp32 photo-to-photo mean cosine (random init): {spread(reference['vectors']):.4f}")
    print(f"results: {path}")
    return 0


def _flags() -> frozenset[str]:
    from photoclip.core.precision import cpu_flags

    return cpu_flags()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    raise SystemExit(main())
