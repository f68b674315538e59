"""OCR quality and cost on a generated corpus with known text (tests/ocr_corpus.py).

Quality, per category: word-level recall and precision. Words are compared after
normalisation: Unicode NFC, casefold, every punctuation or symbol character removed
(so "Wi-Fi," -> "wifi", "12.50" -> "1250"), split on whitespace, empty tokens dropped;
matched as multisets (a word drawn twice must be read twice). False text rate: the
share of no-text pictures (colour shapes, natural-looking noise/gradients) that gain
any line. Search recall@5 (tests/ocr_search.py): the readings in a real catalog's text
index, each text picture looked for by a quoted phrase of three of its drawn words and
by its rarest drawn word; a hit is the picture among the index's first 5.

Cost: ms per photo without text (probe only), with little text (a receipt), with a
full screenshot, and images/s over a typical mix (70% no text). Also the lowest
confidence seen on no-text pictures and on real text, to place TextReader's bar.

Targets (issue 17): clean screenshots and documents word recall >= 0.95 and search
recall@5 >= 0.98; false text <= 1%.

Usage: python benchmarks/bench_ocr.py [--per-category 10]   (~3 min on 2 cores)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import unicodedata
from collections import Counter
from typing import Any

from _common import REPO_ROOT, markdown_table, write_results

sys.path.insert(0, str(REPO_ROOT))

from photoclip.core.files import ocr
from tests.ocr_corpus import Sample, corpus
from tests.ocr_search import search_recall_at_5

TEXT_CATEGORIES = ("screenshot", "document", "receipt", "photographed")
NO_TEXT_CATEGORIES = ("no_text_shapes", "no_text_natural")
# Confidence bars tried: the reading keeps lines down to the lowest, then each bar filters.
THRESHOLDS = (0.3, 0.5, 0.6, 0.75, 0.85, 0.9)


def normalised_words(text: str) -> list[str]:
    """Casefolded words without punctuation or symbols (see the module docstring)."""
    kept = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if ch.isspace() or not unicodedata.category(ch).startswith(("P", "S")))
    return [word.casefold() for word in kept.split()]


def word_scores(expected: list[str], read: list[str]) -> tuple[int, int, int]:
    """(matched, expected count, read count) as multisets."""
    matched = sum((Counter(expected) & Counter(read)).values())
    return matched, len(expected), len(read)


def _read_all(reader: ocr.TextReader, samples: list[Sample]) -> list[tuple[Sample, ocr.PhotoText, float]]:
    results = []
    for sample in samples:
        start = time.perf_counter()
        text = reader.read(sample.image)
        results.append((sample, text, (time.perf_counter() - start) * 1000))
    return results


def _above(text: ocr.PhotoText, bar: float) -> ocr.PhotoText:
    return ocr.PhotoText(tuple(ln for ln in text.lines if ln.confidence >= bar), text.engine, text.size)


def threshold_sweep(results: list[tuple[Sample, ocr.PhotoText, float]]) -> list[dict[str, float]]:
    """Word recall on text pictures and false text rate on the others, per confidence bar."""
    sweep = []
    for bar in THRESHOLDS:
        texts = [(s, _above(t, bar)) for s, t, _ in results]
        scores = [word_scores(normalised_words(" ".join(s.words)), normalised_words(t.text))
                  for s, t in texts if s.category in TEXT_CATEGORIES]
        no_text = [t for s, t in texts if s.category in NO_TEXT_CATEGORIES]
        sweep.append({"min_confidence": bar,
                      "word_recall": round(sum(m for m, _, _ in scores) / sum(e for _, e, _ in scores), 4),
                      "false_text_rate": round(sum(bool(t.lines) for t in no_text) / len(no_text), 4)})
    return sweep


def quality_rows(results: list[tuple[Sample, ocr.PhotoText, float]]) -> dict[str, dict[str, Any]]:
    by_category: dict[str, dict[str, Any]] = {}
    for category in TEXT_CATEGORIES + NO_TEXT_CATEGORIES:
        rows = [r for r in results if r[0].category == category]
        if not rows:
            continue
        ms = [r[2] for r in rows]
        entry: dict[str, Any] = {"images": len(rows), "ms_median": round(statistics.median(ms), 1)}
        if category in TEXT_CATEGORIES:
            totals = [word_scores(normalised_words(" ".join(s.words)), normalised_words(t.text))
                      for s, t, _ in rows]
            matched, expected, read = (sum(col) for col in zip(*totals, strict=True))
            entry |= {"word_recall": round(matched / expected, 4),
                      "word_precision": round(matched / read, 4) if read else 0.0,
                      "min_confidence": round(min((ln.confidence for _, t, _ in rows for ln in t.lines),
                                                  default=1.0), 3)}
        else:
            with_text = [t for _, t, _ in rows if t.lines]
            entry |= {"false_text_rate": round(len(with_text) / len(rows), 4),
                      "false_lines": [ln.text for t in with_text for ln in t.lines][:10]}
        by_category[category] = entry
    return by_category


def cost(reader: ocr.TextReader, samples: list[Sample], repeats: int) -> dict[str, float]:
    """Median ms per photo for three kinds of photo, and images/s of a 70%-no-text mix."""
    pick = {s.category: s for s in reversed(samples)}

    def median_ms(sample: Sample) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            reader.read(sample.image)
            times.append((time.perf_counter() - start) * 1000)
        return round(statistics.median(times), 1)

    no_text = statistics.mean([median_ms(pick["no_text_natural"]), median_ms(pick["no_text_shapes"])])
    little, full = median_ms(pick["receipt"]), median_ms(pick["screenshot"])
    # A typical phone library: 70% no text, 20% a little (receipts, signs), 10% screenshots.
    mix_ms = 0.7 * no_text + 0.2 * little + 0.1 * full
    return {"ms_no_text": round(no_text, 1), "ms_little_text": little, "ms_full_screenshot": full,
            "mix_images_per_s": round(1000 / mix_ms, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not ocr.ocr_available():
        raise SystemExit(ocr.OCR_MISSING)
    samples = corpus(args.per_category)
    reader = ocr.TextReader()
    low_reader = ocr.TextReader(min_confidence=THRESHOLDS[0])
    start = time.perf_counter()
    reader.read(samples[0].image)  # model loading is not per-photo cost
    low_reader.read(samples[0].image)
    load_s = time.perf_counter() - start
    low_results = _read_all(low_reader, samples)
    sweep = threshold_sweep(low_results)
    quality = quality_rows([(s, _above(t, ocr.MIN_CONFIDENCE), ms) for s, t, ms in low_results])
    kept = [(s, _above(t, ocr.MIN_CONFIDENCE)) for s, t, _ in low_results]
    recall_at_5 = search_recall_at_5(kept)
    costs = cost(reader, samples, args.repeats)
    headers = ["category", "images", "word recall", "word precision", "false text", "ms median"]
    rows = [[c, q["images"], q.get("word_recall", ""), q.get("word_precision", ""),
             q.get("false_text_rate", ""), q["ms_median"]] for c, q in quality.items()]
    print(markdown_table(headers, rows))
    print(markdown_table(["min confidence", "word recall", "false text"],
                         [[r["min_confidence"], r["word_recall"], r["false_text_rate"]] for r in sweep]))
    print(markdown_table(["category", "images", "phrase recall@5", "word queries", "word recall@5"],
                         [[c, r["images"], r["phrase_recall_at_5"], r["word_queries"], r["word_recall_at_5"]]
                          for c, r in recall_at_5.items()]))
    print(costs)
    path = write_results("bench_ocr", {
        "engine": reader.engine, "per_category": args.per_category, "first_read_s": round(load_s, 2),
        "min_confidence": ocr.MIN_CONFIDENCE, "probe_side": ocr.PROBE_SIDE, "max_side": ocr.MAX_SIDE,
        "quality": quality, "cost": costs, "threshold_sweep": sweep,
        "search_recall_at_5": recall_at_5,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
