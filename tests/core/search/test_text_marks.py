"""Marking a query's words on a photo: which terms, and where along each line's box."""

from __future__ import annotations

import pytest

from photoclip.core.search.filters import parse_filters
from photoclip.core.search.text_marks import marked_terms, text_marks

LINE_BOX = ((0.1, 0.2), (0.5, 0.2), (0.5, 0.3), (0.1, 0.3))  # 0.4 wide, axis-aligned


def terms(query: str) -> list[str]:
    return [t.text for t in marked_terms(parse_filters(query))]


def test_terms_come_from_text_filters_and_the_fused_words_not_exclusions() -> None:
    # A text: filter's words must all be in the text (not as one phrase), so each is marked.
    assert terms('text:"wifi password" router - cable') == ["wifi", "password", "router"]
    assert terms("a dog on the beach") == ["dog", "on", "the", "beach"]  # "a" is too short
    assert terms("camera:canon") == []


def test_a_word_is_cut_out_of_its_line_by_its_characters() -> None:
    lines = [("WIFI PASSWORD: hunter2", LINE_BOX, 0.9)]
    (mark,) = text_marks(lines, marked_terms(parse_filters("hunter2")))
    assert (mark.line, mark.start, mark.end) == (0, 15, 22)
    left, right = 0.1 + 0.4 * 15 / 22, 0.1 + 0.4 * 22 / 22
    corners = [v for corner in mark.box for v in corner]
    assert corners == pytest.approx([left, 0.2, right, 0.2, right, 0.3, left, 0.3])


def test_matching_folds_case_and_accents_and_keeps_the_original_offsets() -> None:
    lines = [("Straße in São Paulo", LINE_BOX, 0.9)]
    marks = text_marks(lines, marked_terms(parse_filters("sao strasse")))
    assert [(m.start, m.end) for m in marks] == [(0, 6), (10, 13)]
    assert [lines[0][0][m.start:m.end] for m in marks] == ["Straße", "São"]


def test_nothing_is_marked_unless_every_word_is_in_the_text() -> None:
    lines = [("Open on Sundays", LINE_BOX, 0.9)]
    assert text_marks(lines, marked_terms(parse_filters("dog on beach"))) == []
    assert len(text_marks(lines, marked_terms(parse_filters("open sundays")))) == 2


def test_every_occurrence_on_every_line_is_marked_and_rotated_lines_stay_rotated() -> None:
    tilted = ((0.0, 0.0), (1.0, 0.5), (0.9, 0.7), (-0.1, 0.2))
    lines = [("exit", LINE_BOX, 0.9), ("no exit here, exit there", tilted, 0.9)]
    marks = text_marks(lines, marked_terms(parse_filters("exit")))
    assert [(m.line, m.start) for m in marks] == [(0, 0), (1, 3), (1, 14)]
    top_left, top_right = marks[1].box[0], marks[1].box[1]
    assert top_right[1] > top_left[1]  # follows the line's slope
