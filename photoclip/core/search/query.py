"""Combined queries: ``"beach + sunset - people"``, ``"2:beach"``, ``"./IMG_1.jpg + winter"``.

Terms are joined by `` + `` or `` - `` with spaces around the sign, so words
such as "T-shirt" or "black-and-white" stay whole. A term may carry a weight
(``2:beach``) and may be the path of an existing image file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..files.scanner import is_photo_name

_SPLIT = re.compile(r"\s+([+-])\s+")
_WEIGHT = re.compile(r"^(\d+(?:\.\d+)?):(.+)$")


class QueryError(ValueError):
    """A query that cannot be understood (empty, zero weights...)."""


@dataclass(frozen=True)
class QueryTerm:
    text: str  # the words, or the image path as typed
    weight: float  # negative for "- term"
    image: Path | None = None  # set when the term names an existing image file


def _as_image(term: str, cwd: Path) -> Path | None:
    candidate = Path(term).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    if is_photo_name(candidate.name) and candidate.is_file():
        return candidate.resolve()  # the catalog stores resolved paths
    return None


def parse_query(query: str, cwd: Path | None = None) -> list[QueryTerm]:
    """Split a query into weighted terms; raises QueryError when nothing is left."""
    base = cwd or Path.cwd()
    parts = _SPLIT.split(" " + query.strip() + " ")
    # parts: [first, sign, term, sign, term, ...]
    signed = [("+", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
    terms: list[QueryTerm] = []
    for sign, raw in signed:
        text = raw.strip()
        if not text:
            continue
        weight = 1.0
        match = _WEIGHT.match(text)
        if match:
            weight, text = float(match.group(1)), match.group(2).strip()
        if weight == 0 or not text:
            continue
        terms.append(QueryTerm(text, -weight if sign == "-" else weight, _as_image(text, base)))
    if not terms:
        raise QueryError("the query is empty")
    if all(term.weight < 0 for term in terms):
        raise QueryError("a query needs at least one term to look for, not only terms to avoid")
    return terms
