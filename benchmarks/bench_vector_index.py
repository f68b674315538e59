"""Recall / speed benchmark for photoclip.core.search.vector_index.

Builds VectorIndex on synthetic unit vectors and compares its top-k against
exact brute force (numpy dot products):

* ``clustered``: points drawn around ~1000 random centres with noise so that
  cosine-to-centre is ~0.8, which mimics CLIP photo embeddings (bursts of
  similar shots).  This is the set the parameters are tuned for.
* ``uniform``: uniformly random unit vectors, the worst case for HNSW in
  high dimension (all points nearly equidistant); reported for reference.

Usage: python benchmarks/bench_vector_index.py [--n 10000 100000] [--M 16]
       [--efc 100] [--ef 32 64 128] [--datasets clustered uniform]
       [--uniform-max-n 100000]
Defaults (clustered 10k + 100k, uniform 10k) take about 1-2 minutes on 2
otherwise idle cores; "build s" is wall time, "cpu s" is process CPU time
(robust to other load on the machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from photoclip.core.search.vector_index import VectorIndex

K = 10
COS_TO_CENTRE = 0.8


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_data(
    kind: str, n: int, n_queries: int, dim: int, centres: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(base vectors, query vectors); queries are fresh draws, not base points."""
    rng = np.random.default_rng(seed)
    total = n + n_queries
    if kind == "uniform":
        x = unit_rows(rng.standard_normal((total, dim), dtype=np.float32))
        return x[:n], x[n:]
    c = unit_rows(rng.standard_normal((centres, dim), dtype=np.float32))
    # |noise| = tan(arccos(0.8)) = 0.75 gives cos(point, centre) ~ 0.8.
    sigma = np.sqrt(1 / COS_TO_CENTRE**2 - 1) / np.sqrt(dim)
    x = c[rng.integers(0, centres, total)]
    x += rng.standard_normal((total, dim), dtype=np.float32) * np.float32(sigma)
    x = unit_rows(x)
    return x[:n], x[n:]


def brute_force_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = queries @ base.T
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    return top + 1  # ids are 1-based like catalog photo ids


def measure(index: VectorIndex, queries: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(p50 single-query latency in ms, mean recall@K)."""
    times, hits = [], 0
    for q, want in zip(queries, truth, strict=True):
        t0 = time.perf_counter()
        got = index.search(q, K)
        times.append(time.perf_counter() - t0)
        hits += len({i for i, _ in got} & set(want.tolist()))
    return float(np.median(times) * 1e3), hits / truth.size


def run_one(args: argparse.Namespace, kind: str, n: int) -> None:
    base, queries = make_data(kind, n, args.queries, args.dim, args.centres)
    truth = brute_force_topk(base, queries, K)
    cls = type("BenchIndex", (VectorIndex,), {"M": args.M, "EF_CONSTRUCTION": args.efc})
    t0, c0 = time.perf_counter(), time.process_time()
    index = cls.build(args.dim, np.arange(1, n + 1, dtype=np.int64), base)
    # CPU seconds as well as wall: wall time is distorted by other load.
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    for ef in args.ef:
        index.ef = ef
        p50, recall = measure(index, queries, truth)
        print(
            f"{kind:>9} {n:>7} {args.M:>3} {args.efc:>5} {ef:>4} "
            f"{build_s:>8.1f} {build_cpu:>8.1f} {p50:>8.3f} {recall:>9.3f}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--M", type=int, default=VectorIndex.M)
    p.add_argument("--efc", type=int, default=VectorIndex.EF_CONSTRUCTION)
    p.add_argument("--ef", type=int, nargs="+", default=[32, VectorIndex.EF_SEARCH, 128])
    p.add_argument(
        "--datasets", nargs="+", default=["clustered", "uniform"], choices=["clustered", "uniform"]
    )
    p.add_argument("--uniform-max-n", type=int, default=10_000, help="skip uniform data above this n")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--centres", type=int, default=1000)
    args = p.parse_args(argv)
    print(
        f"{'data':>9} {'n':>7} {'M':>3} {'efc':>5} {'ef':>4} "
        f"{'build s':>8} {'cpu s':>8} {'p50 ms':>8} {'recall@10':>9}"
    )
    for kind in args.datasets:
        for n in args.n:
            if kind == "uniform" and n > args.uniform_max_n:
                continue  # uniform builds are ~2x slower; keeps the default run short
            run_one(args, kind, n)


if __name__ == "__main__":
    main()
