"""Search recall@5 over text read in a corpus: the readings go into a real catalog's text
index, then each text picture is looked for by words known to be drawn on it, as a user
would type them; a hit is the picture among the first 5 the index ranks (the ranking the
search fuses with CLIP's, ``Catalog.text_matches``). Shared by benchmarks/bench_ocr.py and
tests/core/files/test_ocr_search.py.

Two queries per picture: a **phrase** of three consecutive drawn words (quoted, so their
order counts), and its **rarest word** (the drawn word on the fewest pictures of the
corpus). The corpus draws its prose from a small vocabulary, so a word often lies on more
than 5 pictures, and then no ranking can hold them all in 5: a word query counts only
where the word is on at most 5 pictures (codes, amounts, names), and how many did is said.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from photoclip.core.catalog.records import EncodedPhoto
from photoclip.core.catalog.store import Catalog
from photoclip.core.files.ocr import PhotoText
from photoclip.core.text_pass import stored_lines
from tests.ocr_corpus import Sample

TOP = 5


def _queries(samples: Sequence[Sample], rng: random.Random) -> list[tuple[str, str | None]]:
    """(phrase query, rarest-word query or None when every word is on more than TOP
    pictures) per sample; samples without 3 words use what they have."""
    spread = Counter(w.casefold() for s in samples for w in set(s.words))
    queries = []
    for sample in samples:
        words = [w for w in sample.words if any(ch.isalnum() for ch in w)]
        start = rng.randrange(max(1, len(words) - 2))
        phrase = " ".join(words[start:start + 3]).replace('"', " ")
        rarest = min(words, key=lambda w: (spread[w.casefold()], -len(w)))
        queries.append((f'"{phrase}"', rarest if spread[rarest.casefold()] <= TOP else None))
    return queries


def search_recall_at_5(readings: Sequence[tuple[Sample, PhotoText]],
                       seed: int = 0) -> dict[str, dict[str, float | None]]:
    """Per category of text picture: recall@5 of the phrase and the rarest-word queries,
    over an index holding every reading given (no-text pictures too)."""
    with tempfile.TemporaryDirectory() as home:
        catalog = Catalog(Path(home) / "catalog.sqlite3")
        try:
            root = Path(home) / "Photos"
            folder = catalog.add_folder(root)
            ids = range(1, len(readings) + 1)
            catalog.mark_pending(folder.id, [(root / f"{n}.png", 1, n) for n in ids])
            catalog.record_results([EncodedPhoto(n, f"h{n}", 1, 1, float(n), np.ones(4, np.float32), "m")
                                    for n in ids])
            catalog.save_text_many([(n, stored_lines(text), "bench")
                                    for n, (_, text) in zip(ids, readings, strict=True)])
            with_text = [(n, s) for n, (s, _) in zip(ids, readings, strict=True) if s.words]
            queries = _queries([s for _, s in with_text], random.Random(seed))
            found: dict[str, list[tuple[bool, bool | None]]] = {}
            for (photo_id, sample), (phrase, word) in zip(with_text, queries, strict=True):
                by_phrase = photo_id in [pid for pid, _, _ in catalog.text_matches(phrase, TOP)]
                by_word = None if word is None else photo_id in [
                    pid for pid, _, _ in catalog.text_matches(word, TOP)]
                found.setdefault(sample.category, []).append((by_phrase, by_word))
        finally:
            catalog.close()
    return {category: _recalls(hits) for category, hits in found.items()}


def _recalls(hits: list[tuple[bool, bool | None]]) -> dict[str, float | None]:
    words = [w for _, w in hits if w is not None]
    return {"images": len(hits), "phrase_recall_at_5": round(sum(p for p, _ in hits) / len(hits), 4),
            "word_queries": len(words),
            "word_recall_at_5": round(sum(words) / len(words), 4) if words else None}
