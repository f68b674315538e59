"""The text-in-photos index at 100,000 photos: saving what OCR read, and finding it.

Builds a catalog of N indexed photos straight through SQL, then saves a text row for
every one through ``Catalog.save_text_many`` in batches of 500 (as the text pass would):
one in ten holds 5-50 words (Zipf-distributed over a 5,000-word vocabulary, with some
accented words and invoice-like codes), the rest were read and hold none. Then times
``text_matches`` (limit 50) and ``text_ids`` for words, phrases, prefixes and substrings
of codes (median and p90 over queries x repeats, warm page cache), the text pass's work
list, and the FTS tables' size on disk (SQLite's dbstat).

Target: every query kind's p50 <= 10 ms.

Usage: python benchmarks/bench_text_index.py [--photos 100000] [--repeats 5]
About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import environment, loadavg, markdown_table, median, percentile, write_results

from photoclip.core.catalog.store import Catalog

TARGET_MS = 10.0
ENGINE = "bench-ocr-1"
BATCH = 500
BOX = ((0.0, 0.0), (100.0, 0.0), (100.0, 20.0), (0.0, 20.0))
ACCENTED = ["café", "manhã", "ação", "über", "straße", "niño", "crème", "façade", "déjà", "são"]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size * 2)}
    return sorted(words)[:size - len(ACCENTED)] + ACCENTED


def photo_text(rng: random.Random, words: list[str], weights: list[float]) -> list[str]:
    """5-50 words in lines of 3-8, one photo in five with an invoice-like code."""
    chosen = rng.choices(words, weights, k=rng.randint(5, 50))
    if rng.random() < 0.2:
        code = f"INV-{rng.randint(2015, 2025)}-{rng.randint(0, 99999):05d}"
        chosen.insert(rng.randrange(len(chosen)), code)
    lines, at = [], 0
    while at < len(chosen):
        step = rng.randint(3, 8)
        lines.append(" ".join(chosen[at:at + step]).upper() if rng.random() < 0.2
                     else " ".join(chosen[at:at + step]))
        at += step
    return lines


def build(path: Path, photos: int) -> None:
    Catalog(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (b"/photos",))
    db.executemany("INSERT INTO photos(id, folder_id, path, size, mtime_ns, taken_at, state, content_hash, "
                   "model_id, indexed_at) VALUES (?, 1, ?, 1, 1, ?, 'indexed', ?, 'm', ?)",
                   ((pid, f"/photos/p{pid}.jpg".encode(), float(pid), f"h{pid}", float(pid))
                    for pid in range(1, photos + 1)))
    db.execute("COMMIT")
    db.close()


def save_all(catalog: Catalog, texts: dict[int, list[str]], photos: int) -> dict[str, float]:
    start = time.perf_counter()
    items = [(pid, [(t, BOX, 0.9) for t in texts.get(pid, [])], ENGINE) for pid in range(1, photos + 1)]
    for at in range(0, len(items), BATCH):
        catalog.save_text_many(items[at:at + BATCH])
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "rows_per_s": round(photos / seconds),
            "text_rows_per_s_equivalent": round(len(texts) / seconds)}


def queries(rng: random.Random, texts: dict[int, list[str]], by_use: list[str]) -> dict[str, list[str]]:
    """Queries of each kind; ``by_use``: the vocabulary, commonest first."""
    docs = [lines for lines in texts.values() if lines]
    mid = by_use[20:500]  # neither the commonest words nor the rarest
    phrases = []
    for lines in rng.sample(docs, 40):
        parts = rng.choice(lines).split()
        if len(parts) >= 2:
            at = rng.randrange(len(parts) - 1)
            phrases.append(f'"{parts[at]} {parts[at + 1]}"')
    codes = [w for lines in docs for line in lines for w in line.split() if w.startswith(("INV-", "inv-"))]
    return {
        "word": rng.sample(mid, 20),
        "common word": by_use[:20],
        "two words": [f"{a} {b}" for a, b in zip(by_use[:20], rng.sample(by_use[:100], 20), strict=True)],
        "phrase": phrases[:20],
        "prefix": [f"{w[:3]}*" for w in rng.sample(mid, 20)],
        "accent-folded": ["cafe", "manha", "acao", "uber", "nino", "creme", "facade", "deja"],
        "substring of a code": [c.split("-")[2][1:5] for c in rng.sample(codes, 20)],
    }


def measure(catalog: Catalog, kinds: dict[str, list[str]], repeats: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, qs in kinds.items():
        for name, run in (("text_matches", lambda q: catalog.text_matches(q, 50)),
                          ("text_ids", catalog.text_ids)):
            times, hits = [], []
            for q in qs:
                run(q)  # warm
                for _ in range(repeats):
                    start = time.perf_counter()
                    found = run(q)
                    times.append((time.perf_counter() - start) * 1000)
                hits.append(len(found))
            out[f"{kind} / {name}"] = {"queries": len(qs), "p50_ms": round(median(times), 2),
                                       "p90_ms": round(percentile(times, 90), 2),
                                       "median_hits": median([float(h) for h in hits])}
    return out


def table_sizes(path: Path) -> dict[str, float]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return {}
    finally:
        db.close()
    sizes: dict[str, float] = {}
    for name, size in rows:
        for table in ("photo_text_words", "photo_text_grams", "photo_text"):
            if name.startswith(table):
                sizes[table] = sizes.get(table, 0.0) + size / 2**20
                break
    return {k: round(v, 2) for k, v in sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = environment()
    rng = random.Random(17)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    rng.shuffle(weights)  # Zipf over the words, not alphabetical
    with_text = rng.sample(range(1, args.photos + 1), args.photos // 10)
    texts = {pid: photo_text(rng, words, weights) for pid in with_text}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.sqlite3"
        build(path, args.photos)
        catalog = Catalog(path)
        try:
            saving = save_all(catalog, texts, args.photos)
            by_use = [w for _, w in sorted(zip(weights, words, strict=True), reverse=True)]
            results = measure(catalog, queries(rng, texts, by_use), args.repeats)
            start = time.perf_counter()
            missing = catalog.count_missing_text("bench-ocr-2")  # a new engine version: all again
            missing_ms = (time.perf_counter() - start) * 1000
            assert missing == args.photos and catalog.count_missing_text(ENGINE) == 0
            start = time.perf_counter()
            assert len(catalog.photos_missing_text(BATCH, "bench-ocr-2")) == BATCH
            work_list_ms = (time.perf_counter() - start) * 1000
        finally:
            catalog.close()
        sizes = table_sizes(path)
    rows = [[name, r["queries"], r["median_hits"], f"{r['p50_ms']:.2f}", f"{r['p90_ms']:.2f}"]
            for name, r in results.items()]
    print(f"{args.photos:,} photos, {len(texts):,} with text; saved {saving['rows_per_s']:,} rows/s\n")
    print(markdown_table(["query", "queries", "median hits", "p50 ms", "p90 ms"], rows))
    print(f"\nsizes MiB: {sizes}; count_missing_text (new engine): {missing_ms:.1f} ms, "
          f"photos_missing_text({BATCH}): {work_list_ms:.1f} ms")
    write_results("bench_text_index", {
        "environment": env, "loadavg_at_end": loadavg(), "photos": args.photos, "with_text": len(texts),
        "repeats": args.repeats, "target_p50_ms": TARGET_MS, "save": saving, "queries": results,
        "sizes_mib": sizes, "count_missing_text_ms": round(missing_ms, 1),
        "photos_missing_text_batch_ms": round(work_list_ms, 1),
        "sqlite": sqlite3.sqlite_version,
    })


if __name__ == "__main__":
    main()
