"""Duplicate and burst grouping (issue 18): quality per tier and speed at scale.

Quality: the generated corpus of ``tests/dupe_corpus.py`` (12 originals, each with an
exact copy, 12 near-identical variants, burst frames a second apart and hard negatives
of the same subject days away) indexed by a real ``Library`` with the repo's tiny CLIP
model (OCR and tagging off), then ``update_duplicates()``. Each variant sets
``lib.duplicates.thresholds`` and calls ``regroup()``; the groups of each tier are scored
pairwise against the corpus truth (``pair_scores``: every two files in one group are a
predicted pair). Variants:

- combined: ``Thresholds()`` (pHash bits AND CLIP cosine for near-identical);
- hash-only: CLIP ignored (near and similar cosine bars -1) with ``neighbours`` raised to
  the corpus size, so every pair is a candidate and the kNN does not filter;
- CLIP-only: the photos' hashes hidden in the catalog (looks saved with phash None, the
  path a library without the ``dupes`` extra takes), near-identical then rests on
  ``clip_only_near_cosine``, swept; also CLIP with any hash matching (near_hash_bits 64);
- a sweep of ``near_hash_bits`` for the combined rule.

Pair statistics: pHash bit distance and CLIP cosine percentiles of true near pairs,
burst pairs (similar but not near) and unrelated pairs: where the bars sit.

Speed: a real ``Catalog`` (no images) filled through its public API with ``--photos``
512-d unit vectors: clustered singletons (topics whose members are 0.6-0.9 apart, hashes
random, capture times spread over ten years), planted near-identical groups of 2-6 (cosine
~0.99, hashes a few bits apart, one capture time, some without one; a fifth with an exact
copy) and bursts of 3-5 frames a second apart (cosine ~0.92, hashes 4-16 bits apart). Timed:
the HNSW build, a full ``Duplicates.regroup()`` (kNN, grouping, writing the table), its
parts measured from outside with the same public calls, then ``add_photos`` for 100 new
photos (half near-identical to existing photos). The planted groups are scored pairwise.

Targets (issue 18): near-identical precision >= 0.98 and recall >= 0.95; regroup of
100,000 photos < 60 s; adding 100 photos < 1 s.

Usage: python benchmarks/bench_duplicates.py [--photos 100000] [--seeds 1 2]   (~5 min on 2 cores)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import itertools
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO_ROOT, environment, markdown_table, timed, write_results

sys.path.insert(0, str(REPO_ROOT))

from photoclip.core.catalog.records import EncodedPhoto
from photoclip.core.catalog.store import Catalog
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.files.looks import hash_distance
from photoclip.core.library import Library
from photoclip.core.models import PhotoMeta
from photoclip.core.organize.duplicates import Duplicates
from photoclip.core.organize.grouping import (
    TIERS,
    GroupingInputs,
    Thresholds,
    group,
    pairs_from_neighbours,
    tier_groups,
)
from photoclip.core.paths import app_paths
from photoclip.core.search.index_store import IndexStore
from tests.dupe_corpus import DupeCorpus, make_dupe_corpus, pair_scores

TESTS = REPO_ROOT / "tests"
HASH_BITS = (4, 6, 8, 10, 12, 16)
CLIP_ONLY_BARS = (0.95, 0.98, 0.985, 0.99, 0.995)
PERCENTILES = (1, 5, 50, 95, 99)
DIM = 512
MODEL = "bench-model"
NEW_PHOTOS = 100
START, TEN_YEARS = 1.3e9, 10 * 365 * 86400.0  # capture times: 2011-2021
NO_WRITE_LOCK = contextlib.nullcontext


def tiny_model_dir() -> Path:
    """The tiny CLIP the tests train (tests/conftest.py names its folder by this hash)."""
    digest = hashlib.sha256()
    for name in ("make_tiny_clip.py", "synthetic.py"):
        digest.update((TESTS / name).read_bytes())
    folder = TESTS / ".cache" / f"tiny-clip-{digest.hexdigest()[:12]}"
    if not (folder / "open_clip_model.safetensors").is_file():
        raise SystemExit(f"{folder} is missing: run the tests once (they train the tiny model)")
    return folder


# -- quality on the generated corpus ---------------------------------------------------
def tier_scores(lib: Library, corpus: DupeCorpus) -> dict[str, dict[str, float]]:
    scores = {}
    for tier in TIERS:
        groups = [[p.path for p in g.photos] for g in lib.duplicates.groups(tier)]
        found = pair_scores(corpus.pairs(tier), groups)
        scores[tier] = {"precision": round(found.precision, 4), "recall": round(found.recall, 4),
                        "predicted": found.predicted, "true": found.true}
    return scores


def regrouped(lib: Library, corpus: DupeCorpus, thresholds: Thresholds) -> dict[str, dict[str, float]]:
    lib.duplicates.thresholds = thresholds
    lib.duplicates.regroup()
    return tier_scores(lib, corpus)


@contextlib.contextmanager
def hashes_hidden(lib: Library) -> Any:
    """The catalog's looks without hashes (as without the dupes extra), put back after."""
    rows = lib.catalog.looks_rows()
    ids = rows.ids.tolist()
    sharpness = lib.catalog.sharpness_of(ids)
    lib.catalog.save_looks_many([(pid, None, sharpness.get(pid, 0.0)) for pid in ids])
    try:
        yield
    finally:
        lib.catalog.save_looks_many([(pid, int(h) if has else None, sharpness.get(pid, 0.0))
                                     for pid, h, has in zip(ids, rows.phash, rows.has_hash, strict=True)])


def variants(lib: Library, corpus: DupeCorpus) -> dict[str, dict[str, dict[str, float]]]:
    base = Thresholds()
    out = {"combined": regrouped(lib, corpus, base),
           "hash-only": regrouped(lib, corpus, dataclasses.replace(
               base, near_cosine=-1.0, similar_cosine=-1.0, neighbours=len(corpus.files)))}
    for bits in HASH_BITS:
        out[f"combined, hash bits {bits}"] = regrouped(lib, corpus,
                                                       dataclasses.replace(base, near_hash_bits=bits))
    for bar in CLIP_ONLY_BARS:
        out[f"clip, any hash, near cos {bar}"] = regrouped(lib, corpus, dataclasses.replace(
            base, near_hash_bits=64, near_cosine=bar))
    with hashes_hidden(lib):
        for bar in CLIP_ONLY_BARS:
            out[f"clip-only (no hashes), {bar}"] = regrouped(lib, corpus, dataclasses.replace(
                base, clip_only_near_cosine=bar))
    lib.duplicates.thresholds = base
    lib.duplicates.regroup()
    return out


def pair_stats(lib: Library, corpus: DupeCorpus) -> dict[str, dict[str, Any]]:
    """pHash bits and CLIP cosine of every two corpus files, by what they truly are."""
    rows = lib.catalog.looks_rows()
    row_of = {int(pid): k for k, pid in enumerate(rows.ids)}
    id_of = {p.path: p.id for p in lib.catalog.photos_by_ids(rows.ids.tolist()).values()}
    ids, vectors = lib.catalog.vectors_of(rows.ids.tolist(), lib.encoder.model_id)
    vector_of = {int(pid): v for pid, v in zip(ids, vectors, strict=True)}
    near, similar = corpus.pairs("near"), corpus.pairs("similar")
    found: dict[str, list[tuple[float, int]]] = {"near": [], "burst": [], "unrelated": []}
    for a, b in itertools.combinations([f.path for f in corpus.files], 2):
        if a not in id_of or b not in id_of:
            continue
        ia, ib = id_of[a], id_of[b]
        bits = hash_distance(int(rows.phash[row_of[ia]]), int(rows.phash[row_of[ib]]))
        key = frozenset({a, b})
        kind = "near" if key in near else "burst" if key in similar else "unrelated"
        found[kind].append((float(vector_of[ia] @ vector_of[ib]), bits))
    return {kind: {"pairs": len(v),
                   "cosine": [round(float(x), 3) for x in np.percentile([c for c, _ in v], PERCENTILES)],
                   "hash_bits": [round(float(x), 1) for x in np.percentile([b for _, b in v], PERCENTILES)]}
            for kind, v in found.items() if v}


def corpus_run(seed: int, originals: int, model_dir: Path, work: Path) -> dict[str, Any]:
    root = work / f"corpus-{seed}"
    corpus = make_dupe_corpus(root / "photos", originals=originals, seed=seed)
    spec = f"local-dir:{model_dir}"
    from photoclip.core.settings import Settings

    lib = Library(app_paths({"PHOTOCLIP_HOME": str(root / "home")}),
                  Settings(model=spec, ocr="off", label_sets=[]),
                  encoder=ClipEncoder(ModelSpec.parse(spec), "cpu"))
    try:
        lib.add_folder(root / "photos")
        index_s, _ = timed(lib.index_photos)
        looks_s, _ = timed(lib.update_duplicates)
        return {"files": len(corpus.files), "skipped_kinds": list(corpus.skipped),
                "index_s": round(index_s, 1), "looks_and_group_s": round(looks_s, 2),
                "variants": variants(lib, corpus), "pair_stats": pair_stats(lib, corpus)}
    finally:
        lib.close()
        shutil.rmtree(root, ignore_errors=True)


def mean_variants(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in runs[0]["variants"]:
        out[name] = {tier: {m: round(float(np.mean([r["variants"][name][tier][m] for r in runs])), 4)
                            for m in ("precision", "recall")} for tier in TIERS}
    return out


# -- speed at scale ------------------------------------------------------------------------
@dataclasses.dataclass
class Planted:
    """A synthetic library: per photo its vector, hash, capture time (NaN none), content
    hash; and the true groups (lists of row numbers) per tier."""

    vectors: np.ndarray
    phash: np.ndarray
    taken_at: np.ndarray
    content_hash: list[str]
    truth: dict[str, list[list[int]]]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _flipped(rng: np.random.Generator, base: int, low: int, high: int) -> int:
    """``base`` with ``low``-``high`` of its 63 low bits flipped, as a signed int64."""
    value = int(base) & (2**64 - 1)  # as unsigned: the stored int64 may be negative
    for bit in rng.choice(63, size=int(rng.integers(low, high + 1)), replace=False):
        value ^= 1 << int(bit)
    return int(np.array([value], np.uint64).view(np.int64)[0])


def _hashes(rng: np.random.Generator, n: int) -> list[int]:
    """Random pHashes with the top bit set, as a real one's is (its first DCT term, the
    picture's mean, lies above the median): negative as SQLite's signed int64."""
    return [int(x) for x in rng.integers(0, 2**63, n, dtype=np.int64) | np.int64(-2**63)]


def _when(rng: np.random.Generator) -> float:
    return float(rng.uniform(START, START + TEN_YEARS))


def planted_library(count: int, rng: np.random.Generator, plant: bool = True) -> Planted:
    near_groups, bursts = (count // 20, count // 100) if plant else (0, 0)
    topics = _unit(rng.normal(size=(max(count // 400, 1), DIM)))
    spread = rng.uniform(0.35, 0.8, len(topics))  # members 1/(1+s^2) apart: 0.6 to 0.9

    def in_topic(n: int) -> np.ndarray:
        t = rng.integers(0, len(topics), n)
        return _unit(topics[t] + spread[t, None] * _unit(rng.normal(size=(n, DIM))))

    def near(base: np.ndarray, n: int, scale: float) -> np.ndarray:
        return _unit(base[None, :] + scale * _unit(rng.normal(size=(n, DIM))))

    vectors: list[np.ndarray] = []
    phash: list[int] = []
    taken: list[float] = []
    content: list[str] = []
    truth: dict[str, list[list[int]]] = {tier: [] for tier in TIERS}
    for _ in range(near_groups):
        size, start = int(rng.integers(2, 7)), len(phash)
        base, h, when = in_topic(1)[0], _hashes(rng, 1)[0], _when(rng)
        vectors.append(near(base, size, 0.14))  # ~0.99 to each other
        phash += [_flipped(rng, h, 0, 3) for _ in range(size)]
        taken += [np.nan if rng.random() < 0.1 else when for _ in range(size)]  # some stripped
        content += [f"n{start + k}" for k in range(size)]
        if rng.random() < 0.2:  # an exact copy: same content as the first
            content[start + 1] = content[start]
            truth["copies"].append([start, start + 1])
        truth["near"].append(list(range(start, start + size)))
        truth["similar"].append(list(range(start, start + size)))
    for _ in range(bursts):
        size, start = int(rng.integers(3, 6)), len(phash)
        base, h, when = in_topic(1)[0], _hashes(rng, 1)[0], _when(rng)
        vectors.append(near(base, size, 0.3))  # ~0.92 to each other
        phash += [_flipped(rng, h, 2, 8) for _ in range(size)]
        taken += [when + k for k in range(size)]  # a second apart
        content += [f"b{start + k}" for k in range(size)]
        truth["similar"].append(list(range(start, start + size)))
    alone = count - len(phash)
    vectors.append(in_topic(alone))
    phash += _hashes(rng, alone)
    taken += rng.uniform(START, START + TEN_YEARS, alone).tolist()
    content += [f"s{len(content) + k}" for k in range(alone)]
    return Planted(np.concatenate(vectors), np.array(phash, np.int64), np.array(taken), content, truth)


def fill_catalog(catalog: Catalog, root: Path, planted: Planted, first: int, chunk: int = 5000) -> list[int]:
    """Rows ``first..`` of ``planted`` as indexed photos, through the public API; their ids."""
    folder = catalog.add_folder(root)
    count = len(planted.content_hash)
    ids: list[int] = []
    for start in range(0, count, chunk):
        rows = range(start, min(start + chunk, count))
        paths = [root / f"{first + r:07d}.jpg" for r in rows]
        catalog.mark_pending(folder.id, [(p, 1_000_000, 1) for p in paths])
        by_path = {p.path: p.id for p in catalog.pending_photos([folder.id])}
        got = [by_path[p] for p in paths]
        pairs = list(zip(got, rows, strict=True))
        taken = planted.taken_at
        when = {pid: None if np.isnan(taken[r]) else float(taken[r]) for pid, r in pairs}
        catalog.record_results([EncodedPhoto(pid, planted.content_hash[r], 4000, 3000, when[pid],
                                             planted.vectors[r], MODEL) for pid, r in pairs])
        catalog.save_meta_many([(pid, PhotoMeta(taken_at=when[pid], taken_source="exif"))
                                for pid, _ in pairs if when[pid] is not None])  # else none: stripped
        catalog.save_looks_many([(pid, int(planted.phash[r]), 100.0) for pid, r in pairs])
        ids += got
    return ids


def id_pair_scores(truth: Iterable[Sequence[int]], found: Iterable[Sequence[int]]) -> dict[str, float]:
    def pairs(groups: Iterable[Sequence[int]]) -> set[tuple[int, int]]:
        return {(a, b) for g in groups for a, b in itertools.combinations(sorted(g), 2)}

    true, predicted = pairs(truth), pairs(found)
    hits = len(true & predicted)
    return {"precision": round(hits / len(predicted), 4) if predicted else 1.0,
            "recall": round(hits / len(true), 4) if true else 1.0,
            "predicted": len(predicted), "true": len(true)}


def parts_of_regroup(catalog: Catalog, store: IndexStore, duplicates: Duplicates) -> dict[str, float]:
    """The regroup's steps timed one by one with the same public calls it makes."""
    t = duplicates.thresholds
    index = store.get(DIM)
    looks_s, looks = timed(catalog.looks_rows)
    vectors_s, (live, vectors) = timed(lambda: index.vectors_of(looks.ids))
    knn_s, (labels, cosines) = timed(lambda: index.neighbours(vectors, t.neighbours + 1))
    start = time.perf_counter()
    row_of = {int(pid): k for k, pid in enumerate(live)}
    as_rows = np.vectorize(lambda pid: row_of.get(int(pid), -1), otypes=[np.int64])(labels)
    pairs = pairs_from_neighbours(np.arange(len(live)), as_rows, cosines,
                                  min(t.near_cosine, t.similar_cosine, t.clip_only_near_cosine))
    pairs_s = time.perf_counter() - start
    inputs = GroupingInputs(live, vectors, looks.phash, looks.has_hash, looks.taken_at, looks.content_hash)
    group_s, rows = timed(lambda: group(inputs, pairs, t))
    write_s, _ = timed(lambda: catalog.replace_stacks(rows, duplicates.made_with()))
    return {"looks_rows_s": round(looks_s, 2), "vectors_of_s": round(vectors_s, 2), "knn_s": round(knn_s, 2),
            "pairs_s": round(pairs_s, 2), "candidate_pairs": len(pairs[0]), "group_s": round(group_s, 2),
            "write_s": round(write_s, 2)}


def scale_run(count: int, seed: int, work: Path) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    planted = planted_library(count, rng)
    catalog = Catalog(work / "scale" / "catalog.sqlite3")
    try:
        fill_s, ids = timed(lambda: fill_catalog(catalog, work / "scale" / "Photos", planted, 0))
        store = IndexStore(catalog, work / "scale" / "index.hnsw", MODEL)
        build_s, _ = timed(lambda: store.get(DIM))
        duplicates = Duplicates(catalog, store, MODEL, writing=lambda purpose: NO_WRITE_LOCK())
        regroup_s, grouped = timed(duplicates.regroup)
        warm_s, _ = timed(duplicates.regroup)
        rows = catalog.stack_rows()
        row_ids = np.array(ids)
        quality = {tier: id_pair_scores([row_ids[g].tolist() for g in planted.truth[tier]],
                                        tier_groups(rows, tier)) for tier in TIERS}
        parts = parts_of_regroup(catalog, store, duplicates)
        # 100 new photos: half near-identical to a random existing singleton, half new.
        singletons = rng.choice(np.arange(count - count // 4, count), NEW_PHOTOS // 2, replace=False)
        twins = _unit(planted.vectors[singletons] + 0.14 * _unit(rng.normal(size=(len(singletons), DIM))))
        fresh = planted_library(NEW_PHOTOS - len(singletons), rng, plant=False)
        new = Planted(np.concatenate([twins, fresh.vectors]),
                      np.concatenate([[_flipped(rng, int(planted.phash[s]), 0, 3) for s in singletons],
                                      fresh.phash]),
                      np.concatenate([planted.taken_at[singletons], fresh.taken_at]),
                      [f"new{k}" for k in range(NEW_PHOTOS)], {})
        new_ids = fill_catalog(catalog, work / "scale" / "New", new, count)
        store.add(new_ids, new.vectors)
        add_s, _ = timed(lambda: duplicates.add_photos(new_ids))
        near_of = {pid: ids_[1] for pid, ids_ in catalog.stack_rows().items()}
        joined = sum(1 for k, s in enumerate(singletons) if near_of.get(new_ids[k]) is not None
                     and near_of.get(new_ids[k]) == near_of.get(ids[int(s)]))
        strays = sum(1 for pid in new_ids[len(singletons):] if near_of.get(pid) is not None)
        return {"photos": count, "planted_near_groups": len(planted.truth["near"]),
                "planted_bursts": len(planted.truth["similar"]) - len(planted.truth["near"]),
                "fill_catalog_s": round(fill_s, 1), "index_build_s": round(build_s, 1),
                "regroup_s": round(regroup_s, 2), "regroup_warm_s": round(warm_s, 2),
                "grouped_photos": grouped,
                "regroup_parts": parts, "quality": quality, "add_100_s": round(add_s, 3),
                "add_twins_joined": f"{joined}/{len(singletons)}", "add_singletons_grouped": strays}
    finally:
        catalog.close()


def _pr(s: dict[str, float]) -> str:
    return f"{s['precision']:.3f} / {s['recall']:.3f}"


def print_tables(runs: Sequence[dict[str, Any]], mean: dict[str, Any], scale: dict[str, Any] | None) -> None:
    seeds = [r["seed"] for r in runs]
    headers = ["variant", *(f"{tier} P/R (mean)" for tier in TIERS), *(f"near P/R seed {s}" for s in seeds)]
    print(markdown_table(headers, [[name, *(_pr(v[tier]) for tier in TIERS),
                                    *(_pr(r["variants"][name]["near"]) for r in runs)]
                                   for name, v in mean.items()]))
    print()
    print(markdown_table(["seed", "pairs", "count", "cosine p1/p5/p50/p95/p99",
                          "hash bits p1/p5/p50/p95/p99"],
                         [[r["seed"], kind, s["pairs"], " ".join(map(str, s["cosine"])),
                           " ".join(map(str, s["hash_bits"]))]
                          for r in runs for kind, s in r["pair_stats"].items()]))
    if scale is None:
        return
    print()
    p = scale["regroup_parts"]
    print(markdown_table(
        ["photos", "fill catalog s", "HNSW build s", "regroup s (cold)", "regroup s (warm)", "looks s",
         "vectors s", "kNN s", "pairs s", "group s", "write s", "add 100 s"],
        [[scale["photos"], scale["fill_catalog_s"], scale["index_build_s"], scale["regroup_s"],
          scale["regroup_warm_s"], p["looks_rows_s"], p["vectors_of_s"], p["knn_s"], p["pairs_s"],
          p["group_s"], p["write_s"], scale["add_100_s"]]]))
    print()
    print(markdown_table(["tier", "precision", "recall", "predicted pairs", "true pairs"],
                         [[tier, q["precision"], q["recall"], q["predicted"], q["true"]]
                          for tier, q in scale["quality"].items()]))
    print(f"added: near twins joined {scale['add_twins_joined']}, "
          f"new singletons grouped {scale['add_singletons_grouped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000, help="photos in the speed run (0: skip it)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--originals", type=int, default=12)
    args = parser.parse_args()
    model_dir = tiny_model_dir()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="bench-dupes-") as tmp:
        work = Path(tmp)
        runs = [{"seed": seed, **corpus_run(seed, args.originals, model_dir, work)} for seed in args.seeds]
        mean = mean_variants(runs)
        scale = scale_run(args.photos, args.seeds[0], work) if args.photos else None
    print_tables(runs, mean, scale)
    near = mean["combined"]["near"]
    targets = {"near_precision>=0.98": near["precision"] >= 0.98, "near_recall>=0.95": near["recall"] >= 0.95}
    if scale:
        targets |= {"regroup<60s": scale["regroup_s"] < 60, "add_100<1s": scale["add_100_s"] < 1}
    print(targets)
    path = write_results("bench_duplicates", {
        "environment": env, "thresholds": dataclasses.asdict(Thresholds()), "originals": args.originals,
        "corpus_runs": runs, "mean": mean, "scale": scale, "targets_met": targets,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
