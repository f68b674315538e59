"""Zero-shot tagging, albums and concepts at library scale (ViT-B-32 at random init, CPU).

What it costs, measured in one run on this machine:
- the built-in label sets' class vectors (every prompt through the text tower),
  once per model, and again from the disk cache;
- tagging a 100,000-photo catalog with each set from stored vectors (no image
  decoded), against what re-encoding those photos would take;
- what tagging adds to each indexing batch of 32 new photos;
- listing every album (events, tags, a smart album) and learning a concept.

Photos are catalog rows with empty files (as in bench_search.py). A random
model's text tower maps every prompt to nearly the same direction, so no label
would ever win: after the real class vectors are timed, each set gets random
well-separated class vectors (logit scale 100, as CLIP's), and each photo's
vector is made near one scene, one subject and one kind. So tags really are
written and albums really are listed; which tags come out means nothing, only
how long it takes.

    python benchmarks/bench_tagging.py [--size 100000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import environment, loadavg, markdown_table, write_results
from bench_search import fill_catalog, load_model, placeholder_files

from photoclip.core.library import Library
from photoclip.core.organize.labelsets import available_label_sets
from photoclip.core.organize.tagging import build_classifier
from photoclip.core.paths import app_paths
from photoclip.core.settings import DEFAULT_LABEL_SETS, Settings

MODEL = "random:ViT-B-32"


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure_class_vectors(encoder: Any, cache: Path) -> list[dict[str, Any]]:
    rows = []
    for name, label_set in available_label_sets(Path("/nonexistent")).items():
        prompts = sum(len(x.texts(label_set.templates))
                      for x in (*label_set.labels, *label_set.competitors))
        _, cold = timed(lambda s=label_set: build_classifier(s, encoder, cache))
        _, warm = timed(lambda s=label_set: build_classifier(s, encoder, cache))
        rows.append({"set": name, "labels": len(label_set.labels), "prompts": prompts,
                     "cold_s": round(cold, 2), "cached_ms": round(warm * 1000, 2)})
    return rows


def open_library(work: Path, encoder: Any) -> Library:
    settings = Settings(model=MODEL, device="cpu", read_keywords=False,
                        album_min_photos=20)
    return Library(app_paths({"PHOTOCLIP_HOME": str(work / "home")}), settings, encoder=encoder)


def separable_classifiers(library: Library, dim: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Replace each built-in set's class vectors by random unit ones (see the docstring)."""
    from photoclip.core.organize.tagging import Classifier

    rng = np.random.default_rng(seed)
    organizer, labels = library.organizer, {}
    for name in DEFAULT_LABEL_SETS:
        label_set = organizer.resolve_label_set(name)
        real = organizer.classifier(label_set)

        def unit(n: int) -> np.ndarray:
            x = rng.standard_normal((n, dim)).astype(np.float32)
            return x / np.linalg.norm(x, axis=1, keepdims=True)

        fake = Classifier(label_set, real.model_id, unit(len(real.labels)),
                          unit(len(real.competitors)), 100.0)
        organizer._classifiers[(real.model_id, label_set.digest)] = fake
        labels[name] = fake.labels
    return labels


def tagged_vectors(labels: dict[str, np.ndarray], size: int, dim: int) -> np.ndarray:
    """Photo vectors each near one scene, one subject and one kind."""
    rng = np.random.default_rng(size)
    mixed = 0.3 * rng.standard_normal((size, dim)).astype(np.float32) / np.sqrt(dim) * 4
    for name in ("scenes", "subjects", "kinds"):
        mixed += labels[name][rng.integers(0, len(labels[name]), size)]
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)


def encode_rate(encoder: Any, count: int = 64) -> float:
    """Photos per second through the image tower alone (no decoding: flatters re-encoding)."""
    import torch

    batch = [torch.randn(3, encoder.input_size, encoder.input_size) for _ in range(32)]
    encoder.encode_images(batch)  # warm-up
    _, seconds = timed(lambda: [encoder.encode_images(batch) for _ in range(count // 32)])
    return count / seconds


def measure_library(library: Library, size: int, photos_per_s: float) -> dict[str, Any]:
    organizer = library.organizer
    runs = {}
    for name in DEFAULT_LABEL_SETS:
        run, seconds = timed(lambda n=name: organizer.tag_library(
            organizer.resolve_label_set(n), enable=False))
        runs[name] = {"seconds": round(seconds, 2), "tags": run.tags}
    ids = sorted(library.catalog.all_vectors(MODEL)[0].tolist())
    batches = [ids[i:i + 32] for i in range(0, 32 * 20, 32)]
    with library.writing("bench"):
        _, batch_s = timed(lambda: [organizer.tag_new_photos(b) for b in batches])
    # A smart album of about 1% of the library (a random model scores everything alike).
    from photoclip.core.search.query import parse_query

    query = "a photo of a sunny beach"
    scores = library.catalog.all_vectors(MODEL)[1] @ library.searcher.query_vector(
        parse_query(query))
    organizer.save_smart_album("sunny", query, float(np.quantile(scores, 0.99)))
    albums, albums_s = timed(organizer.albums)
    _, cached_s = timed(organizer.albums)
    examples = [library.catalog.photo(i).path for i in ids[:5]]
    _, concept_s = timed(lambda: organizer.add_concept("Rex", examples))
    tagging_s = sum(r["seconds"] for r in runs.values())
    tag_rows = len(library.catalog.tag_rows())
    return {
        "size": size, "runs": runs, "all_sets_s": round(tagging_s, 2), "tag_rows": tag_rows,
        "encode_photos_per_s": round(photos_per_s, 2),
        "reencode_estimate_s": round(size / photos_per_s, 1),
        "tagging_vs_reencode": round(size / photos_per_s / tagging_s, 1),
        "per_batch_of_32_ms": round(batch_s / len(batches) * 1000, 2),
        "albums_s": round(albums_s, 2), "albums_cached_ms": round(cached_s * 1000, 2),
        "albums": len(albums),
        "album_kinds": {k: sum(a.kind == k for a in albums) for k in ("smart", "event", "tag")},
        "concept_add_s": round(concept_s, 2),
    }


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="photoclip-bench-tagging-"))
    try:
        encoder, _ = load_model()
        library = open_library(work, encoder)
        # Into the library's own cache, so tagging below starts from cached class vectors.
        sets = measure_class_vectors(encoder, library.paths.class_vectors)
        labels = separable_classifiers(library, encoder.dim)
        paths = placeholder_files(work / "photos", args.size)
        fill_catalog(library.catalog, work / "photos", paths,
                     tagged_vectors(labels, args.size, encoder.dim))
        library.index.get(encoder.dim)  # the search index, as a running library has it
        scale = measure_library(library, args.size, encode_rate(encoder))
        library.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {"environment": environment(), "loadavg": loadavg(), "model": MODEL,
               "class_vectors": sets, "library": scale}
    write_results("bench_tagging", results)
    print(markdown_table(["set", "labels", "prompts", "class vectors, cold (s)", "cached (ms)"],
                         [[r["set"], r["labels"], r["prompts"], r["cold_s"], r["cached_ms"]]
                          for r in sets]))
    print()
    print(markdown_table(
        ["photos", "tag with 4 sets (s)", "re-encode instead (s)", "ratio",
         "per batch of 32 (ms)", "all albums (s)", "concept (s)"],
        [[scale["size"], scale["all_sets_s"], scale["reencode_estimate_s"],
          f"{scale['tagging_vs_reencode']}x", scale["per_batch_of_32_ms"], scale["albums_s"],
          scale["concept_add_s"]]]))
    print({k: v["seconds"] for k, v in scale["runs"].items()}, scale["album_kinds"],
          f"{scale['tag_rows']} tags; albums again (nothing changed): {scale['albums_cached_ms']} ms")
    return results


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
