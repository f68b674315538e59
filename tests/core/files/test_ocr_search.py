"""Search recall@5 with the real OCR engine on a small clean corpus: a phrase known to be
drawn on a screenshot, document or receipt finds it among the first 5 (the benchmark
measures the whole corpus; this keeps the path from OCR to the text index honest)."""

from __future__ import annotations

import pytest

from photoclip.core.files import ocr
from tests.ocr_corpus import corpus
from tests.ocr_search import search_recall_at_5

pytestmark = pytest.mark.skipif(not ocr.ocr_available(), reason=ocr.OCR_MISSING)


def test_phrases_on_clean_pictures_are_found_in_the_first_five() -> None:
    samples = corpus(2, seed=5, categories=("screenshot", "document", "receipt", "no_text_natural"))
    reader = ocr.TextReader()
    recall = search_recall_at_5([(s, reader.read(s.image)) for s in samples])
    assert set(recall) == {"screenshot", "document", "receipt"}  # the no-text ones are only distractors
    assert {c: r["phrase_recall_at_5"] for c, r in recall.items()} == {
        "screenshot": 1.0, "document": 1.0, "receipt": 1.0}
    assert recall["receipt"]["word_queries"] == 2 and recall["receipt"]["word_recall_at_5"] == 1.0
