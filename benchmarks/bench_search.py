"""Search latency, split into its parts, at 10k and 100k photos; HNSW recall and build time.

Catalogs are filled with synthetic clustered unit vectors (no images: rows are written
through Catalog.add_folder / mark_pending / record_results) whose paths point at empty
placeholder files, because search drops hits whose files are missing. The model is
ViT-B-32 at random init (same compute as real weights, meaningless answers).

Measured:
  * process start: `python -c "import photoclip.cli"` and `photoclip --help`
  * model load: importing torch + open_clip, then ClipEncoder.load (random init)
  * text encode (warm, new queries; and a repeated query served from the cache)
  * kNN (VectorIndex.search, k=20), catalog join (Catalog.photos_by_ids for the top 20)
  * total warm Library.search (new queries, and a repeated query)
  * recall@10 of HNSW vs numpy brute force on 200 queries near stored vectors
  * index build from the catalog (IndexStore.rebuild), save, and load from file
  * one cold `photoclip search` subprocess at the smallest size
  * filtered search (issue 16): random allow-lists keeping 50/10/1/0.1% of the library,
    recall@20 of filtered_top_k vs exact filtered brute force (numpy), p50/p95 of
    filtered_top_k and of Searcher.nearest_filtered (vector given: the text encode is
    measured above), on the library's vectors and on a mixture of 200 gaussian clusters
  * unfiltered recall on text-like queries (section "unfiltered-recall"): the 200-cluster
    mixture, queries = cluster means shifted by one common "modality gap" offset (best
    cosine ~0.3, as CLIP text to images): recall@20 vs brute force and p50/p95 of HNSW
    at several ef, of exact scoring over the index's float32 copy (also on smaller
    prefixes of the library), and of filtered_knn.nearest_top_k (what Searcher.nearest uses)

Usage: python benchmarks/bench_search.py [--sizes 10000 100000] [--queries 20]
       python benchmarks/bench_search.py --only unfiltered-recall [--sizes 100000]
Defaults take about 2-4 minutes on 2 cores; the unfiltered-recall section alone ~1 minute.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    NO_TAGGING,
    current_rss_mib,
    effective_cores,
    environment,
    loadavg,
    markdown_table,
    percentile,
    ru_maxrss_mib,
    write_results,
)

from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.search import filtered_knn
from photoclip.core.search.filtered_knn import filtered_top_k, nearest_top_k
from photoclip.core.search.vector_index import VectorIndex
from photoclip.core.search.vector_rows import VectorRows
from photoclip.core.settings import Settings

MODEL = "random:ViT-B-32"
DIM = 512
TOP = 20
RECALL_K = 10
CENTRES = 1000
COS_TO_CENTRE = 0.8  # photo-like bursts of similar shots (as in bench_vector_index.py)
COS_QUERY_TO_STORED = 0.9  # recall queries are perturbed copies of stored vectors
FILES_PER_FOLDER = 1000
TARGET_RECALL = 0.95
FILTER_SHARES = (0.5, 0.1, 0.01, 0.001)
FILTER_K = 20
TARGET_FILTERED_RECALL = 0.99
MIXTURE_CLUSTERS = 200
UNFILTERED_EFS = (64, 128, 256, 512, 1024)
TARGET_UNFILTERED_RECALL = 0.99
TEXT_BEST_COS = 0.3  # a CLIP text query's best cosine to any image, typically
EXACT_PREFIXES = (10_000, 25_000, 50_000, 100_000, 200_000)  # library sizes for the exact scan
EXACT_TARGET_MS = 20.0
ADJECTIVES = ("red", "old", "snowy", "sunny", "quiet", "crowded", "tiny", "blue", "wet", "dark")
NOUNS = ("car", "beach", "dog", "mountain", "street", "birthday cake", "bridge", "forest",
         "kitchen", "cat on a sofa", "city at night", "boat", "garden", "church", "train")


# -- synthetic data -----------------------------------------------------------------------


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered_vectors(n: int, seed: int) -> np.ndarray:
    """Unit vectors around CENTRES random centres with cos(point, centre) ~ COS_TO_CENTRE."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng.standard_normal((CENTRES, DIM), dtype=np.float32))
    sigma = np.sqrt(1 / COS_TO_CENTRE**2 - 1) / np.sqrt(DIM)
    x = centres[rng.integers(0, CENTRES, n)]
    x += rng.standard_normal((n, DIM), dtype=np.float32) * np.float32(sigma)
    return unit_rows(x)


def mixture_vectors(n: int, seed: int) -> np.ndarray:
    """Unit vectors from MIXTURE_CLUSTERS gaussian clusters on the sphere of uneven size and
    spread (cos to centre 0.6-0.85): some tight bursts, some loose themes."""
    return mixture_with_labels(n, seed)[0]


def mixture_with_labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """mixture_vectors, and the cluster of each vector."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng.standard_normal((MIXTURE_CLUSTERS, DIM), dtype=np.float32))
    weights = rng.dirichlet(np.ones(MIXTURE_CLUSTERS))
    cos = rng.uniform(0.6, 0.85, MIXTURE_CLUSTERS)
    sigma = (np.sqrt(1 / cos**2 - 1) / np.sqrt(DIM)).astype(np.float32)
    label = rng.choice(MIXTURE_CLUSTERS, size=n, p=weights)
    noise = rng.standard_normal((n, DIM), dtype=np.float32) * sigma[label, None]
    return unit_rows(centres[label] + noise), label


def perturbed_queries(base: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = base[rng.choice(len(base), size=count, replace=False)]
    sigma = np.sqrt(1 / COS_QUERY_TO_STORED**2 - 1) / np.sqrt(DIM)
    return unit_rows(picked + rng.standard_normal(picked.shape, dtype=np.float32) * sigma)


def text_queries(count: int, offset: int) -> list[str]:
    """Distinct plain-language queries; ``offset`` keeps sets from different steps apart."""
    pairs = [(a, n) for n in NOUNS for a in ADJECTIVES]
    queries = []
    for j in range(offset, offset + count):
        adjective, noun = pairs[j % len(pairs)]
        lap = j // len(pairs)
        queries.append(f"a photo of a {adjective} {noun}" + (f", take {lap}" if lap else ""))
    return queries


def placeholder_files(root: Path, n: int) -> list[Path]:
    """n empty *.jpg files (search only checks that a hit's file exists)."""
    paths = []
    for i in range(n):
        folder = root / f"{i // FILES_PER_FOLDER:03d}"
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:06d}.jpg"
        path.touch()
        paths.append(path)
    return paths


def fill_catalog(catalog: Catalog, root: Path, paths: Sequence[Path],
                 vectors: np.ndarray) -> np.ndarray:
    """Insert indexed rows for ``paths`` with ``vectors``; returns the photo id of each row."""
    folder = catalog.add_folder(root)
    # Real sizes and mtimes, so a later `index` run sees every file as unchanged.
    catalog.mark_pending(folder.id, [(p, st.st_size, st.st_mtime_ns)
                                     for p in paths for st in [p.stat()]])
    ids_by_path = {p.path: p.id for p in catalog.pending_photos()}
    ids = np.array([ids_by_path[p] for p in paths], dtype=np.int64)
    chunk = 10_000
    for start in range(0, len(paths), chunk):
        catalog.record_results([
            EncodedPhoto(int(ids[i]), f"{i:032x}", 4000, 3000, None, vectors[i], MODEL)
            for i in range(start, min(start + chunk, len(paths)))
        ])
    return ids


# -- timing helpers -------------------------------------------------------------------------


def time_each(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return times


def wall_of(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds, done.stdout


def photoclip_exe() -> str:
    local = Path(sys.executable).with_name("photoclip")
    return str(local) if local.exists() else shutil.which("photoclip") or "photoclip"


def summary(times: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": percentile(times, 50) * 1e3, "p90_ms": percentile(times, 90) * 1e3,
            "n": len(times)}


# -- process start and model load -----------------------------------------------------------


def measure_process_start(repeats: int) -> dict[str, Any]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import photoclip.cli'": [sys.executable, "-c", "import photoclip.cli"],
        "photoclip --help": [photoclip_exe(), "--help"],
    }
    results = {}
    for label, command in commands.items():
        wall_of(command)  # warm the page cache
        results[label] = summary([wall_of(command)[0] for _ in range(repeats)])
    return results


def first_load(cache: Path) -> float:
    """A model's first load, in a process of its own (its exporter's memory peak is not
    this one's): precision auto exports the ONNX towers into ``cache`` here. Seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from photoclip.core.clip.encoder import ClipEncoder, ModelSpec; "
                    "ClipEncoder(ModelSpec.parse(sys.argv[1]), 'cpu', "
                    "cache_dir=Path(sys.argv[2])).load()", MODEL, str(cache)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def load_model(cache: Path) -> tuple[ClipEncoder, dict[str, float]]:
    """The encoder as the app builds it on every start after a model's first (precision
    auto: on this CPU with the fast extra, both towers on ONNX Runtime int8, found in
    ``cache``)."""
    start = time.perf_counter()
    import open_clip  # noqa: F401  (imports torch)

    imported = time.perf_counter()
    encoder = ClipEncoder(ModelSpec.parse(MODEL), "cpu", cache_dir=cache).load()
    loaded = time.perf_counter()
    encoder.encode_texts(["warm-up query"])  # first call: allocator, oneDNN primitives
    return encoder, {"import_torch_open_clip_s": imported - start,
                     "create_model_s": loaded - imported,
                     "first_text_encode_s": time.perf_counter() - loaded,
                     "image_precision": encoder.precision, "text_precision": encoder.text_precision}


def measure_text_encode(encoder: ClipEncoder, count: int) -> dict[str, Any]:
    """New and repeated queries on the chosen path, against the fp32 torch text tower
    (same weights): trimmed to the real tokens as PhotoClip runs it, and all 77
    positions as open_clip's encode_text does. Also how well the vectors agree."""
    import torch

    fresh = time_each(lambda q: encoder.encode_texts([q]), text_queries(count, offset=0))
    repeated = text_queries(1, offset=0) * count  # already in the cache now
    cached = time_each(lambda q: encoder.encode_texts([q]), repeated)
    reference = ClipEncoder(ModelSpec.parse(MODEL), "cpu", "fp32").load()
    fp32 = time_each(lambda q: reference.encode_texts([q]), text_queries(count, offset=1000))
    model, _, tokenizer = reference._parts()

    def full_context(query: str) -> None:
        with torch.inference_mode():
            model.encode_text(tokenizer([query]))

    full = time_each(full_context, text_queries(count, offset=3000))
    probe = text_queries(200, offset=50_000)  # far from the offsets the sizes' queries use
    cosine = (encoder.encode_texts(probe) * reference.encode_texts(probe)).sum(1)
    encoder._text_cache.clear()  # the probes must not make later "new" queries hits
    return {"new": summary(fresh), "cached": summary(cached), "fp32_trimmed": summary(fp32),
            "fp32_all_77_positions": summary(full), "precision": encoder.text_precision,
            "cos_min_vs_fp32": float(cosine.min()), "cos_mean_vs_fp32": float(cosine.mean()),
            "torch_threads": torch.get_num_threads()}


# -- one catalog size -----------------------------------------------------------------------


def build_library(n: int, work: Path, encoder: ClipEncoder) -> tuple[Library, dict[str, Any]]:
    """A library of n synthetic photos; returns it and the timings of building it."""
    vectors = clustered_vectors(n, seed=n)
    started = time.perf_counter()
    root = work / f"photos-{n}"
    paths = placeholder_files(root, n)
    files_done = time.perf_counter()
    settings = Settings(model=MODEL, device="cpu", label_sets=NO_TAGGING)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(work / f"home-{n}")}), settings,
                      encoder=encoder)
    ids = fill_catalog(library.catalog, root, paths, vectors)
    filled = time.perf_counter()
    return library, {"vectors": vectors, "ids": ids, "files_s": files_done - started,
                     "catalog_fill_s": filled - files_done}


def measure_index_build(library: Library) -> dict[str, float]:
    start = time.perf_counter()
    library.catalog.all_vectors(MODEL)
    read = time.perf_counter()
    library.index.rebuild(DIM)
    built = time.perf_counter()
    library.index.save()
    saved = time.perf_counter()
    loaded = VectorIndex.load(library.paths.index, DIM)
    if loaded is None:
        raise RuntimeError("the saved index did not load")
    return {"read_vectors_s": read - start, "rebuild_s": built - read,
            "save_s": saved - built, "load_s": time.perf_counter() - saved,
            "index_mb": library.paths.index.stat().st_size / 1e6}


def measure_recall(library: Library, vectors: np.ndarray, ids: np.ndarray,
                   queries: np.ndarray) -> dict[str, Any]:
    index = library.index.get(DIM)
    start = time.perf_counter()
    sims = queries @ vectors.T
    truth = ids[np.argpartition(-sims, RECALL_K, axis=1)[:, :RECALL_K]]
    brute_ms = (time.perf_counter() - start) / len(queries) * 1e3
    found = 0
    for query, want in zip(queries, truth, strict=True):
        found += len({i for i, _ in index.search(query, RECALL_K)} & set(want.tolist()))
    return {"recall_at_10": found / truth.size, "queries": len(queries),
            "brute_force_ms_per_query": brute_ms}


def measure_parts(library: Library, queries: np.ndarray) -> dict[str, Any]:
    index = library.index.get(DIM)
    knn = time_each(lambda q: index.search(q, TOP), queries)
    top_ids = [[i for i, _ in index.search(q, TOP)] for q in queries]
    join = time_each(library.catalog.photos_by_ids, top_ids)
    photos = [list(library.catalog.photos_by_ids(t).values()) for t in top_ids]
    exists = time_each(lambda found: [os.path.exists(p.path) for p in found], photos)
    return {"knn": summary(knn), "catalog_join": summary(join), "file_checks": summary(exists)}


def measure_search(library: Library, count: int, offset: int) -> dict[str, Any]:
    new_queries = text_queries(count, offset)  # never encoded before: includes the model
    hits = [len(library.search(q, TOP)) for q in new_queries[:1]]
    fresh = time_each(lambda q: library.search(q, TOP), new_queries[1:])
    cached = time_each(lambda q: library.search(q, TOP), new_queries[:1] * count)
    if min(hits) < TOP:
        raise RuntimeError(f"search returned {hits} hits, expected {TOP}")
    return {"new": summary(fresh), "cached": summary(cached)}


def cold_cli_search(library: Library, encoder: ClipEncoder) -> dict[str, Any]:
    """A new `photoclip search` process: imports, model load, index load, one query. Its
    models cache is the one the in-process encoder filled: the exported ONNX towers
    are found there, as on every start after a model's first."""
    env = dict(os.environ, PHOTOCLIP_HOME=str(library.paths.data_dir))
    models = app_paths(env).models_cache
    if not models.exists() and encoder.cache_dir is not None:
        models.parent.mkdir(parents=True, exist_ok=True)
        models.symlink_to(encoder.cache_dir, target_is_directory=True)
    command = [photoclip_exe(), "--model", MODEL, "--device", "cpu", "search",
               "a dog running on the beach", "--json"]
    seconds, out = wall_of(command, env)
    return {"seconds": seconds, "hits": len(json.loads(out)), "command": " ".join(command[1:])}


def cold_search_without_torch(library: Library, encoder: ClipEncoder, repeats: int = 3,
                              ) -> dict[str, Any]:
    """Cold `photoclip --precision int8 search` (queries on the ONNX Runtime int8 text
    tower), with the model's query pack (clip/query_pack.py: no torch) and without it
    (torch, open_clip and the model loaded, which writes the pack again), on one library."""
    env = dict(os.environ, PHOTOCLIP_HOME=str(library.paths.data_dir))
    models = app_paths(env).models_cache
    if encoder.cache_dir is not None:  # precision auto may have exported nothing here
        encoder.cache_dir.mkdir(parents=True, exist_ok=True)
        if not models.exists() and not models.is_symlink():
            models.parent.mkdir(parents=True, exist_ok=True)
            models.symlink_to(encoder.cache_dir, target_is_directory=True)
    args = ["--model", MODEL, "--device", "cpu", "--precision", "int8", "search",
            "a dog running on the beach", "--json"]
    command = [photoclip_exe(), *args]
    wall_of(command, env)  # the first int8 load exports the towers once, and writes the pack
    packs = sorted((models / "onnx").glob("query-pack-*"))
    if not packs:
        return {"skipped": "no query pack was written (fast extra missing, or no int8 text tower)"}
    runs = [wall_of(command, env) for _ in range(repeats)]
    traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "photoclip.cli", *args],
                            env=env, capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()
                if line.startswith("import time:")}
    without = []
    for _ in range(2):
        for pack in packs:
            pack.unlink(missing_ok=True)
        without.append(wall_of(command, env))  # loads the model: the pack is written again
    return {"with_pack_s": summary([s for s, _ in runs]) | {"min_s": min(s for s, _ in runs)},
            "without_pack_s": summary([s for s, _ in without]) | {"min_s": min(s for s, _ in without)},
            "torch_imported_with_pack": bool({"torch", "open_clip"} & imported),
            "same_hits": all(out == without[0][1] for _, out in runs + without),
            "hits": len(json.loads(runs[0][1])), "command": " ".join(args)}


def measure_noop_index(library: Library, encoder: ClipEncoder) -> dict[str, Any]:
    """`photoclip index` on an up-to-date library: open, scan, load the index, save it."""
    start = time.perf_counter()
    with Library(library.paths, library.settings, encoder=encoder) as fresh:
        report = fresh.index_photos()
    seconds = time.perf_counter() - start
    if report.encoded or report.failed or report.unchanged != report.scanned:
        raise RuntimeError(f"expected nothing to do, got {report}")
    return {"seconds": seconds, "scanned": report.scanned}


def filtered_recall(index: VectorIndex, vectors: np.ndarray, ids: np.ndarray,
                    queries: np.ndarray, share: float, seed: int) -> dict[str, Any]:
    """filtered_top_k on a random allow-list keeping ``share``: recall@FILTER_K vs numpy."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(ids), max(FILTER_K, int(share * len(ids))), replace=False))
    allowed, kept = ids[rows], vectors[rows]
    found, times = 0, []
    for query in queries:
        k = min(FILTER_K, len(rows))
        truth = set(allowed[np.argpartition(-(kept @ query), k - 1)[:k]].tolist())
        start = time.perf_counter()
        got = filtered_top_k(index, query, allowed, FILTER_K)
        times.append(time.perf_counter() - start)
        found += len({i for i, _ in got} & truth)
    return {"share": share, "allowed": len(rows), "recall_at_20": found / (len(queries) * FILTER_K),
            "filtered_top_k": summary(times) | {"p95_ms": percentile(times, 95) * 1e3},
            "allowed_ids": allowed}


def measure_filtered(library: Library, vectors: np.ndarray, ids: np.ndarray,
                     queries: np.ndarray) -> dict[str, Any]:
    """Filtered search on the library (its index and Searcher.nearest_filtered) and on a
    200-cluster mixture of the same size (an index of its own)."""
    index = library.index.get(DIM)
    start = time.perf_counter()
    index.vectors_of(ids[:1])  # the first filtered search copies the vectors out of hnswlib
    result: dict[str, Any] = {"vector_copy_s": time.perf_counter() - start, "library": [], "mixture": []}
    for share in FILTER_SHARES:
        row = filtered_recall(index, vectors, ids, queries, share, seed=int(share * 1e4))
        allowed = row.pop("allowed_ids")
        times = time_each(lambda q, a=allowed: library.searcher.nearest_filtered(q, a, FILTER_K), queries)
        result["library"].append(row | {"nearest_filtered": summary(times)
                                        | {"p95_ms": percentile(times, 95) * 1e3}})
    mixture = mixture_vectors(len(ids), seed=len(ids) + 7)
    start = time.perf_counter()
    mixed = VectorIndex.build(DIM, ids, mixture)
    result["mixture_build_s"] = time.perf_counter() - start
    # Half near stored photos (an image query), half text-like: as far from every photo
    # as CLIP text is from images (cos ~0.3 to a cluster's centre, none close).
    rng = np.random.default_rng(len(ids) + 9)
    near = perturbed_queries(mixture, len(queries) - len(queries) // 2, seed=len(ids) + 8)
    centres = unit_rows(np.stack([mixture[rng.integers(len(ids))] for _ in range(len(queries) // 2)]))
    sigma = np.float32(np.sqrt(1 / 0.3**2 - 1) / np.sqrt(DIM))
    text_like = unit_rows(centres + rng.standard_normal(centres.shape, dtype=np.float32) * sigma)
    mixed_queries = np.concatenate([near, text_like])
    for share in FILTER_SHARES:
        row = filtered_recall(mixed, mixture, ids, mixed_queries, share, seed=int(share * 1e4) + 1)
        row.pop("allowed_ids")
        result["mixture"].append(row)
    return result


def text_like_queries(vectors: np.ndarray, labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Cluster means (of clusters picked as a random photo's: big themes more often) moved
    by one common offset, the "modality gap", scaled so that the median query's best
    cosine to any stored vector is TEXT_BEST_COS, as for CLIP text against images."""
    rng = np.random.default_rng(seed)
    picked = labels[rng.integers(0, len(labels), count)]
    means = unit_rows(np.stack([vectors[labels == c].mean(axis=0) for c in picked]))
    gap = unit_rows(rng.standard_normal((1, DIM), dtype=np.float32))[0]
    probe = vectors[rng.choice(len(vectors), min(len(vectors), 20_000), replace=False)]
    low, high = 0.0, 20.0  # the best cosine falls as the offset grows: bisect on its scale
    for _ in range(20):
        scale = (low + high) / 2
        best = float(np.median((unit_rows(means[:50] + scale * gap) @ probe.T).max(axis=1)))
        low, high = (scale, high) if best > TEXT_BEST_COS else (low, scale)
    return unit_rows(means + (low + high) / 2 * gap)


def recall_and_times(search: Callable[[np.ndarray], list[tuple[int, float]]], queries: np.ndarray,
                     truth: list[set[int]]) -> dict[str, float]:
    found, times = 0, []
    for query, want in zip(queries, truth, strict=True):
        start = time.perf_counter()
        got = search(query)
        times.append(time.perf_counter() - start)
        found += len({i for i, _ in got} & want)
    return {"recall_at_20": found / (len(queries) * FILTER_K), "p50_ms": percentile(times, 50) * 1e3,
            "p95_ms": percentile(times, 95) * 1e3}


def exact_scan_times(vectors: np.ndarray, queries: np.ndarray, n: int) -> dict[str, Any]:
    """VectorRows.top_k (the exact branch) on libraries of EXACT_PREFIXES sizes (the
    mixture's rows repeated past n: the scan's cost depends on the row count only)."""
    rows_by_size = {}
    for size in EXACT_PREFIXES:
        picked = np.arange(size) % n
        rows = VectorRows(np.arange(size, dtype=np.int64), vectors[picked])
        times = time_each(lambda q, r=rows: r.top_k(q, FILTER_K), queries[:50])
        rows_by_size[size] = {"p50_ms": percentile(times, 50) * 1e3, "p95_ms": percentile(times, 95) * 1e3,
                              "copy_mb": size * DIM * 4 / 1e6}
        del rows
    return rows_by_size


def measure_unfiltered(n: int, count: int) -> dict[str, Any]:
    """Unfiltered top-20 on text-like queries: HNSW by ef, exact scoring, nearest_top_k."""
    vectors, labels = mixture_with_labels(n, seed=n + 11)
    ids = np.arange(1, n + 1, dtype=np.int64) * 3  # gaps, as a catalog's ids have after deletes
    queries = text_like_queries(vectors, labels, count, seed=n + 12)
    best = (queries @ vectors.T).max(axis=1)
    truth = [set(ids[np.argpartition(-(vectors @ q), FILTER_K - 1)[:FILTER_K]].tolist()) for q in queries]
    start = time.perf_counter()
    index = VectorIndex.build(DIM, ids, vectors)
    result: dict[str, Any] = {"n": n, "queries": count, "build_s": time.perf_counter() - start,
                              "best_cos_p50": float(np.median(best)), "best_cos_max": float(best.max()),
                              "exact_nearest_max": filtered_knn.EXACT_NEAREST_MAX,
                              "nearest_ef": filtered_knn.NEAREST_EF}
    result["hnsw"] = [{"ef": ef} | recall_and_times(lambda q, e=ef: index.search(q, FILTER_K, ef=e),
                                                    queries, truth) for ef in UNFILTERED_EFS]
    start = time.perf_counter()
    index.search_exact(queries[0], FILTER_K)  # the first exact search copies the vectors out
    result["copy_s"] = time.perf_counter() - start
    result["exact"] = recall_and_times(lambda q: index.search_exact(q, FILTER_K), queries, truth)
    result["nearest_top_k"] = recall_and_times(lambda q: nearest_top_k(index, q, FILTER_K), queries, truth)
    result["exact_by_size"] = exact_scan_times(vectors, queries, n)
    return result


def unfiltered_table(sections: list[dict[str, Any]]) -> str:
    rows = []
    for u in sections:
        label = f"{u['n']:,} (best cos p50 {u['best_cos_p50']:.2f})"
        rows += [(label, f"HNSW ef={r['ef']}", f"{r['recall_at_20']:.4f}", f"{r['p50_ms']:.2f}",
                  f"{r['p95_ms']:.2f}") for r in u["hnsw"]]
        exact = u["exact"]
        rows.append((label, f"exact (float32 copy, chunks of 512; copy made in {u['copy_s']:.2f} s)",
                     f"{exact['recall_at_20']:.4f}", f"{exact['p50_ms']:.2f}", f"{exact['p95_ms']:.2f}"))
        near = u["nearest_top_k"]
        rows.append((label, f"nearest_top_k (exact <= {u['exact_nearest_max']:,}, else ef={u['nearest_ef']})",
                     f"{near['recall_at_20']:.4f}", f"{near['p50_ms']:.2f}", f"{near['p95_ms']:.2f}"))
        rows += [(f"{size:,}", f"exact scan, copy {r['copy_mb']:.0f} MB", "1", f"{r['p50_ms']:.2f}",
                  f"{r['p95_ms']:.2f}") for size, r in u["exact_by_size"].items()]
    return markdown_table(("photos", f"text-like queries, top {FILTER_K}",
                           f"recall@20 (>= {TARGET_UNFILTERED_RECALL})", "p50 ms",
                           f"p95 ms (exact: <= {EXACT_TARGET_MS:.0f} p50)"), rows)


def only_unfiltered(args: argparse.Namespace) -> dict[str, Any]:
    """`--only unfiltered-recall`: that section alone, for each of --sizes."""
    results: dict[str, Any] = {"config": vars(args) | {"dim": DIM}, "environment": environment()}
    results["unfiltered"] = [measure_unfiltered(n, args.unfiltered_queries) for n in args.sizes]
    results["environment"]["loadavg_at_end"] = loadavg()
    print(unfiltered_table(results["unfiltered"]), end="\n\n")
    print(f"results: {write_results('bench_search_unfiltered', results)}")
    return results


def run_size(n: int, work: Path, encoder: ClipEncoder, args: argparse.Namespace,
             offset: int, cold_cli: bool) -> dict[str, Any]:
    print(f"building a catalog of {n} photos ...", flush=True)
    library, built = build_library(n, work, encoder)
    try:
        result: dict[str, Any] = {"n": n, "load_1m": (loadavg() or [None])[0]}
        result["build"] = {k: built[k] for k in ("files_s", "catalog_fill_s")}
        result["index"] = measure_index_build(library)
        print(f"  index rebuilt in {result['index']['rebuild_s']:.1f} s", flush=True)
        queries = perturbed_queries(built["vectors"], args.recall_queries, seed=n + 1)
        result["recall"] = measure_recall(library, built["vectors"], built["ids"], queries)
        result.update(measure_parts(library, queries))
        result["search"] = measure_search(library, args.queries + 1, offset)
        print("  filtered search ...", flush=True)
        result["filtered"] = measure_filtered(library, built["vectors"], built["ids"],
                                              queries[: args.filtered_queries])
        print("  unfiltered search, text-like queries ...", flush=True)
        result["unfiltered"] = measure_unfiltered(n, args.unfiltered_queries)
        if cold_cli:
            result["cold_cli"] = cold_cli_search(library, encoder)
        print("  cold search with and without the query pack ...", flush=True)
        result["cold_pack"] = cold_search_without_torch(library, encoder)
        result["noop_index"] = measure_noop_index(library, encoder)
    finally:
        library.close()
    return result


# -- report ---------------------------------------------------------------------------------


def start_table(results: dict[str, Any]) -> str:
    rows = [(f"{label} (p50 wall)", f"{r['p50_ms']:.0f}")
            for label, r in results["process_start"].items()]
    load = results["model_load"]
    rows += [
        ("import torch + open_clip (in process)", f"{load['import_torch_open_clip_s'] * 1e3:.0f}"),
        ("a model's first load, exporting its ONNX towers (own process, once per model)",
         f"{load['first_load_with_export_s'] * 1e3:.0f}"),
        ("ClipEncoder.load (random init, ViT-B-32; towers from the cache)",
         f"{load['create_model_s'] * 1e3:.0f}"),
        ("first text encode after load", f"{load['first_text_encode_s'] * 1e3:.0f}"),
        (f"text encode, warm, new query, {results['text_encode']['precision']} (p50)",
         f"{results['text_encode']['new']['p50_ms']:.1f}"),
        ("text encode, warm, new query, fp32 torch, real tokens only (p50)",
         f"{results['text_encode']['fp32_trimmed']['p50_ms']:.1f}"),
        ("text encode, warm, new query, fp32 torch, all 77 positions as open_clip (p50)",
         f"{results['text_encode']['fp32_all_77_positions']['p50_ms']:.1f}"),
        ("text encode, repeated query from cache (p50)",
         f"{results['text_encode']['cached']['p50_ms']:.3f}"),
    ]
    return markdown_table(("step", "ms"), rows)


def size_table(sizes: list[dict[str, Any]]) -> str:
    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> list[Any]:
        return [label, *(get(s) for s in sizes)]

    rows = [
        row("kNN VectorIndex.search k=20, p50 ms", lambda s: f"{s['knn']['p50_ms']:.3f}"),
        row("catalog join photos_by_ids(20), p50 ms",
            lambda s: f"{s['catalog_join']['p50_ms']:.3f}"),
        row("file checks os.path.exists x20, p50 ms",
            lambda s: f"{s['file_checks']['p50_ms']:.3f}"),
        row("Library.search, new query, p50 ms", lambda s: f"{s['search']['new']['p50_ms']:.1f}"),
        row("Library.search, new query, p90 ms", lambda s: f"{s['search']['new']['p90_ms']:.1f}"),
        row("Library.search, repeated query, p50 ms",
            lambda s: f"{s['search']['cached']['p50_ms']:.2f}"),
        row(f"recall@10 vs brute force ({sizes[0]['recall']['queries']} queries, "
            f"target >= {TARGET_RECALL})", lambda s: f"{s['recall']['recall_at_10']:.4f}"),
        row("brute force numpy, ms/query", lambda s: f"{s['recall']['brute_force_ms_per_query']:.2f}"),
        row("read vectors from catalog, s", lambda s: f"{s['index']['read_vectors_s']:.2f}"),
        row("IndexStore.rebuild (HNSW build), s", lambda s: f"{s['index']['rebuild_s']:.2f}"),
        row("index save, s", lambda s: f"{s['index']['save_s']:.2f}"),
        row("index load from file, s", lambda s: f"{s['index']['load_s']:.2f}"),
        row("index file, MB", lambda s: f"{s['index']['index_mb']:.0f}"),
        row("no-op Library.index_photos (scan, load+save index), s",
            lambda s: f"{s['noop_index']['seconds']:.2f}"),
        row("setup: placeholder files, s", lambda s: f"{s['build']['files_s']:.1f}"),
        row("setup: catalog fill, s", lambda s: f"{s['build']['catalog_fill_s']:.1f}"),
        row("load avg (1 min) at start", lambda s: s["load_1m"]),
    ]
    return markdown_table(("photos", *(f"{s['n']:,}" for s in sizes)), rows)


def filtered_table(sizes: list[dict[str, Any]]) -> str:
    rows = []
    for size in sizes:
        for vectors in ("library", "mixture"):
            for r in size["filtered"][vectors]:
                near = r.get("nearest_filtered")
                rows.append((f"{size['n']:,}", vectors, f"{r['share']:.1%}", r["allowed"],
                             f"{r['recall_at_20']:.4f}", f"{r['filtered_top_k']['p50_ms']:.2f}",
                             f"{r['filtered_top_k']['p95_ms']:.2f}",
                             *((f"{near['p50_ms']:.2f}", f"{near['p95_ms']:.2f}") if near else ("-", "-"))))
    return markdown_table(("photos", "vectors", "kept", "allowed", f"recall@20 (>= {TARGET_FILTERED_RECALL})",
                           "filtered_top_k p50 ms", "p95 ms", "nearest_filtered p50 ms", "p95 ms"), rows)


def print_report(results: dict[str, Any]) -> None:
    env = results["environment"]
    load = results["model_load"]
    print(f"\nSearch: {MODEL} on cpu (images {load['image_precision']}, queries "
          f"{load['text_precision']}), {env['cpu_count']} cores; load avg "
          f"{env['loadavg_at_start']} -> {env['loadavg_at_end']}, cores free for us "
          f"{env['effective_cores_at_start']} -> {env['effective_cores_at_end']}\n")
    print(start_table(results), end="\n\n")
    print(size_table(results["sizes"]), end="\n\n")
    print(filtered_table(results["sizes"]), end="\n\n")
    print(unfiltered_table([s["unfiltered"] for s in results["sizes"] if "unfiltered" in s]), end="\n\n")
    print(f"peak RSS (ru_maxrss): {results['ru_maxrss_mib']:.0f} MiB; after model load: "
          f"{results['model_load']['rss_after_load_mib'] or float('nan'):.0f} MiB\n")
    for size in results["sizes"]:
        if "cold_cli" in size:
            cold = size["cold_cli"]
            print(f"cold `photoclip {cold['command']}` at {size['n']:,} photos: "
                  f"{cold['seconds']:.2f} s wall ({cold['hits']} hits)\n")
    for size in results["sizes"]:
        pack = size.get("cold_pack", {})
        if "with_pack_s" in pack:
            print(f"cold `photoclip {pack['command']}` at {size['n']:,} photos: query pack "
                  f"{pack['with_pack_s']['p50_ms'] / 1e3:.2f} s wall (torch imported: "
                  f"{pack['torch_imported_with_pack']}), without it "
                  f"{pack['without_pack_s']['p50_ms'] / 1e3:.2f} s; same hits: {pack['same_hits']}\n")


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=20, help="timed text queries (default 20)")
    p.add_argument("--recall-queries", type=int, default=200)
    p.add_argument("--filtered-queries", type=int, default=100,
                   help="queries per filter share in the filtered-search section (default 100)")
    p.add_argument("--start-repeats", type=int, default=5,
                   help="runs of each process-start command (default 5)")
    p.add_argument("--unfiltered-queries", type=int, default=200,
                   help="text-like queries in the unfiltered-recall section (default 200)")
    p.add_argument("--only", choices=["unfiltered-recall"],
                   help="run only this section (results in results/bench_search_<section>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary libraries")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.only == "unfiltered-recall":
        return only_unfiltered(args)
    started = time.perf_counter()
    results: dict[str, Any] = {"config": vars(args) | {"model": MODEL, "dim": DIM, "top": TOP},
                               "environment": environment()}
    print("timing process start ...", flush=True)
    results["process_start"] = measure_process_start(args.start_repeats)
    work = Path(tempfile.mkdtemp(prefix="photoclip-bench-search-"))
    try:
        first = first_load(work / "models")
        encoder, results["model_load"] = load_model(work / "models")
        results["model_load"] |= {"rss_after_load_mib": current_rss_mib(),
                                  "first_load_with_export_s": first}
        results["text_encode"] = measure_text_encode(encoder, args.queries)
        print(f"text vectors vs fp32: cosine min "
              f"{results['text_encode']['cos_min_vs_fp32']:.5f}", flush=True)
        results["sizes"] = [
            run_size(n, work, encoder, args, offset=2000 + k * 1000,
                     cold_cli=(n == min(args.sizes)))
            for k, n in enumerate(args.sizes)
        ]
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["environment"]["loadavg_at_end"] = loadavg()
    results["environment"]["effective_cores_at_end"] = effective_cores()
    results["ru_maxrss_mib"] = ru_maxrss_mib()
    results["total_s"] = time.perf_counter() - started
    print_report(results)
    print(f"results: {write_results('bench_search', results)} (total {results['total_s']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
