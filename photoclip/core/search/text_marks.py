"""Where a query's words lie on a photo: the boxes the preview marks.

The engine gives one box per line of text. A word's box is cut out of its line's box by
the word's place among the line's characters, along the line's top and bottom edges (so
a rotated line gives a rotated word box). With proportional fonts that is an estimate,
good to a character or so, which is what a highlight needs. Matching folds case and
diacritics as the text index does ("sao" marks "São"). Pure: no Qt, no SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..catalog.text_search import TextQueryError, TextTerm, parse_text_query
from ..files.places import fold
from .filters import ParsedQuery
from .query import QueryError, parse_query

Point = tuple[float, float]
Box = tuple[Point, ...]
MIN_WORD = 2  # a one-letter word ("a") would mark half the text


@dataclass(frozen=True)
class TextMark:
    """One marked word: which line it is in, its characters there and its 4 corners."""

    line: int
    start: int
    end: int
    box: Box


def marked_terms(parsed: ParsedQuery) -> tuple[TextTerm, ...]:
    """The text terms a found photo's text is marked for: those of its ``text:`` filters,
    then the words of the query that were fused with CLIP (not "- excluded" ones, not
    image paths)."""
    queries = list(parsed.filter.text)
    try:
        words = [t.text for t in parse_query(parsed.text) if t.image is None and t.weight > 0]
    except QueryError:
        words = []
    queries.append(" ".join(words).replace('"', " "))
    terms: list[TextTerm] = []
    for query in queries:
        try:
            terms.extend(parse_text_query(query).terms)
        except TextQueryError:
            continue
    return tuple(dict.fromkeys(t for t in terms if len(t.text) >= MIN_WORD))


def text_marks(lines: Sequence[tuple[str, Box, float]], terms: Sequence[TextTerm]) -> list[TextMark]:
    """Every place in ``lines`` where one of ``terms`` occurs, with its estimated box.
    Nothing is marked unless every term occurs somewhere in the text: a photo whose text
    holds only "on" of "dog on a beach" matched by its picture, not its text."""
    folded = [_folded_with_offsets(text) for text, _, _ in lines]
    needles = [fold(t.text) for t in terms]
    if not needles or not all(any(n in f for f, _ in folded) for n in needles):
        return []
    marks = []
    for index, ((text, box, _), (haystack, offsets)) in enumerate(zip(lines, folded, strict=True)):
        for needle in needles:
            at = haystack.find(needle)
            while at >= 0 and needle:
                start, end = offsets[at], offsets[at + len(needle) - 1] + 1
                marks.append(TextMark(index, start, end, _slice(box, start / len(text), end / len(text))))
                at = haystack.find(needle, at + len(needle))
    return sorted(marks, key=lambda m: (m.line, m.start))


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold`` applied character by character, with each folded character's index in
    ``text`` (folding can change the length: "ß" is "ss", an accent goes)."""
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = fold(char) if not char.isspace() else " "
        out.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(out), offsets


def _slice(box: Box, start: float, end: float) -> Box:
    """The part of a 4-corner line box (top-left, top-right, bottom-right, bottom-left)
    between fractions ``start`` and ``end`` of its length."""
    if len(box) != 4:
        return box
    top_left, top_right, bottom_right, bottom_left = box

    def along(a: Point, b: Point, t: float) -> Point:
        return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t

    return (along(top_left, top_right, start), along(top_left, top_right, end),
            along(bottom_left, bottom_right, end), along(bottom_left, bottom_right, start))
