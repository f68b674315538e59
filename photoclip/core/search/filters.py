"""Filters typed in a query ("beach place:Lisbon year:2023") and the words left for CLIP.

Syntax (keys ignore case; a value with spaces goes in double quotes, ``camera:"Pixel 7"``):

- ``after:2023-06`` photos from 1 June 2023 on; ``before:2024-01-15`` up to 14 January
  (``before`` excludes its day, month or year); ``year:2021``; ``date:2024`` /
  ``date:2024-07`` / ``date:2024-07-03`` that year, month or day; ``date:2023-06..2023-08``
  a range, both ends included. Dates are YYYY, YYYY-MM or YYYY-MM-DD.
- ``place:Lisbon`` and ``in:Portugal`` (city, region, country or country code),
  ``camera:"Pixel 7"``, ``folder:Trips``: case- and accent-insensitive (``fold``); several
  of one key match any of them.
- ``tag:beach``, ``album:"Italy 2023"``, ``kind:screenshot``: names as typed (tags match
  exactly); several tags or albums must all hold, several kinds any of them.
- ``orientation:portrait`` (or landscape, square); ``sort:date`` / ``sort:relevance``.
- ``favourite:yes`` / ``favourite:no`` (``fav:`` for short) the heart; ``rating:4`` four
  stars or more (1..5), ``rating:=3`` exactly three (0..5; ``rating:=0`` unrated). A photo
  never marked is no favourite and has 0 stars.
- ``text:"wifi password"`` / ``text:inv*``: the text read in the photo holds every word
  (or prefix) of the value, in any order (``catalog/text_search.py`` reads it; case and
  accents ignored); several ``text:`` must all match.
- ``-tag:people`` and ``-place:Paris`` (or ``- tag:people`` right after the combined-query
  minus) leave those photos out; ``-favourite:yes`` is ``favourite:no`` (and ``-favourite:no``
  is ``favourite:yes``); no other key can be negated.
- A key this module does not know (``note:x``, ``http://...``, the weight in ``2:beach``)
  stays text, and so does anything in double quotes: ``"last summer"`` is words, not a date.

Plain-text date phrases ("in 2019", "last summer": see ``date_phrases``) become filters too,
unless ``literal``, or the phrase comes right after a combined-query minus ("- summer 2021"
is words to avoid, not a date). What is left is the combined query of ``query.py``
(``beach + sunset - 2:people``, image paths), tidied of the signs a removed filter leaves.

``remove_chip`` takes one filter out of the query the user sees. A typed filter goes; a date
phrase stays as words but in quotes (``beach "last summer"``), so the next parse reads it
as text: the user clicked the date away and should not get it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import TypeVar

from ..catalog.marks import MAX_RATING
from ..catalog.text_search import TextQueryError, parse_text_query
from ..files.places import fold
from ..models import PhotoFilter
from .date_phrases import find_date_phrases, parse_period
from .query import QueryError

_T = TypeVar("_T")
SORTS = ("relevance", "date")
ORIENTATIONS = ("portrait", "landscape", "square")
KEYS = ("after", "before", "year", "date", "place", "in", "camera", "folder", "tag", "album", "kind",
        "orientation", "sort", "text", "favourite", "fav", "rating")
_EXAMPLES = {"after": "2023-06", "before": "2024-01-15", "year": "2021", "date": "2024-07",
             "place": "Lisbon", "in": "Portugal", "camera": '"Pixel 7"', "folder": "Trips", "tag": "beach",
             "album": '"Italy 2023"', "kind": "screenshot", "orientation": "portrait", "sort": "date",
             "text": '"wifi password"', "favourite": "yes", "fav": "yes", "rating": "4"}
_ALIASES = {"in": "place", "fav": "favourite"}  # the chip's kind of a key spelled another way
_NEGATABLE = {"tag": "exclude_tags", "place": "exclude_places"}
_YES_NO = {"yes": True, "no": False}

# A key at the start of a word, an optional sign glued to it, then a value: quoted, bare,
# an unclosed quote or nothing (the last two are mistakes worth a message for a known key).
_TOKEN = (r'(?<!\S)(?P<sign>[+-])?(?P<key>[A-Za-z]+):'
          r'(?:"(?P<q>[^"]*)"|“(?P<cq>[^”]*)”|(?P<bare>[^\s"“]+)|(?P<open>["“])|(?P<empty>)(?=\s|$))')
_QUOTED = r'"(?P<text>[^"]*)"|“(?P<ctext>[^”]*)”'
_SCAN = re.compile(f"{_TOKEN}|{_QUOTED}")
_MINUS_BEFORE = re.compile(r"(?:^|\s)-\s+$")  # the combined-query minus right before a position
_SIGN_AT_END = re.compile(r"(?:^|\s)[+-]$")
_SIGN_AT_START = re.compile(r"^[+-](?:\s|$)")


@dataclass(frozen=True)
class Chip:
    """One active filter, for the UI to show and remove.

    ``kind``: the key ("after", "before", "year", "date", "place" (also for ``in:``),
    "camera", "folder", "tag", "album", "kind", "orientation", "sort", "text", "favourite" (also
    for ``fav:``), "rating"), "-tag", "-place" or "-favourite" for a negation, "date" for a
    date phrase. ``value``: as typed, unquoted (a phrase's range written the way ``date:``
    reads it, "2023-06..2023-08").
    """

    kind: str
    value: str
    source: str  # "typed" | "phrase"
    raw: str  # the exact text in the query


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what is left for CLIP: a combined query, maybe empty
    filter: PhotoFilter
    sort: str | None  # "relevance", "date" or None (not asked)
    chips: tuple[Chip, ...]


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    chip: Chip
    negated: bool = False
    after: str | None = None  # phrases: the range found
    before: str | None = None


def parse_filters(query: str, *, literal: bool = False, today: date | None = None) -> ParsedQuery:
    """Split ``query`` into its filters and its text; raises QueryError for a bad value."""
    found, quoted = _scan(query, literal=literal, today=today)
    parts: list[PhotoFilter] = []
    sort: str | None = None
    for item in found:
        chip = item.chip
        if chip.source == "phrase":
            parts.append(PhotoFilter(after=item.after, before=item.before))
        elif chip.kind == "sort":
            sort = _agree(sort, _sort_value(chip.value, chip.raw), "sort")
        else:
            parts.append(_fragment(chip.kind.lstrip("-"), chip.value, chip.raw.strip(), negated=item.negated))
    combined = PhotoFilter()
    for part in parts:
        combined = merge(combined, part)
    edits = [(f.start, f.end, "") for f in found] + quoted
    return ParsedQuery(_rewrite(query, edits), combined, sort, tuple(f.chip for f in found))


def remove_chip(query: str, chip: Chip) -> str:
    """``query`` without ``chip``: a typed filter's text goes, a date phrase gets quoted."""
    found, _ = _scan(query, literal=False, today=None, check=False)
    for item in found:
        if (item.chip.source, item.chip.kind, item.chip.raw) == (chip.source, chip.kind, chip.raw):
            quote = f'"{query[item.start:item.end]}"' if chip.source == "phrase" else ""
            return _rewrite(query, [(item.start, item.end, quote)])
    at = query.find(chip.raw)  # not found as a filter (the query changed): take the words out
    if at < 0 or not chip.raw:
        return query.strip()
    return _rewrite(query, [(at, at + len(chip.raw), "")])


def filter_from_options(*, after: str | None = None, before: str | None = None,
                        year: str | int | None = None, date: str | None = None,
                        place: str | Iterable[str] | None = None, camera: str | Iterable[str] | None = None,
                        folder: str | Iterable[str] | None = None, tag: str | Iterable[str] | None = None,
                        album: str | Iterable[str] | None = None, kind: str | Iterable[str] | None = None,
                        orientation: str | None = None, exclude_tag: str | Iterable[str] | None = None,
                        exclude_place: str | Iterable[str] | None = None,
                        text: str | Iterable[str] | None = None, favourite: str | bool | None = None,
                        rating: str | int | None = None) -> PhotoFilter:
    """The filter of CLI options (``--after 2023-06 --place Lisbon --place Porto``), read by
    the same rules as the query syntax; a bad value raises QueryError naming the option.
    ``favourite``: True/False or "yes"/"no"; ``rating``: 4 or "4" (at least), "=3" (exactly)."""
    if isinstance(favourite, bool):
        favourite = "yes" if favourite else "no"
    options = {"after": after, "before": before, "year": year, "date": date, "place": place,
               "camera": camera, "folder": folder, "tag": tag, "album": album, "kind": kind,
               "orientation": orientation, "text": text, "favourite": favourite, "rating": rating}
    combined = PhotoFilter()
    for key, values in options.items():
        for value in _values(values):
            combined = merge(combined, _fragment(key, value, f"--{key} {value}", negated=False))
    for key, values in (("tag", exclude_tag), ("place", exclude_place)):
        for value in _values(values):
            combined = merge(combined, _fragment(key, value, f"--exclude-{key} {value}", negated=True))
    return combined


def parse_sort(value: str | None) -> str | None:
    """A ``--sort`` option: "relevance", "date" or None; anything else raises QueryError."""
    return None if value is None else _sort_value(value, f"--sort {value}")


def merge(a: PhotoFilter, b: PhotoFilter) -> PhotoFilter:
    """Both filters at once, as one query holding both would read them: lists add up,
    date ranges and id lists intersect, the higher least rating holds; dates, orientations,
    favourites or exact ratings that cannot both hold raise QueryError (better one clear
    line than a search that silently finds nothing)."""
    after = max((d for d in (a.after, b.after) if d), default=None)
    before = min((d for d in (a.before, b.before) if d), default=None)
    if after and before and after >= before:
        raise QueryError(f"these dates leave no day: from {after} and before {before}")
    lists = {f.name: _union(getattr(a, f.name), getattr(b, f.name))
             for f in fields(PhotoFilter) if isinstance(getattr(a, f.name), tuple) and f.name != "ids"}
    if a.ids is None or b.ids is None:
        ids = a.ids if b.ids is None else b.ids
    else:
        allowed = set(b.ids)
        ids = tuple(i for i in a.ids if i in allowed)
    orientation = _agree(a.orientation, b.orientation, "orientation")
    favourite = _agree(a.favourite, b.favourite, "favourite", lambda on: "yes" if on else "no")
    return replace(a, after=after, before=before, orientation=orientation, ids=ids,
                   favourite=favourite, **_ratings(a, b), **lists)


# ---- reading values -----------------------------------------------------------------------

def _fragment(key: str, value: str, label: str, *, negated: bool) -> PhotoFilter:
    """The filter of one ``key:value``; ``label`` is how the user wrote it, for messages."""
    if key == "favourite":  # -favourite:yes is favourite:no: a yes/no has an opposite
        return PhotoFilter(favourite=_yes_no(value, label) != negated)
    if negated:
        if key not in _NEGATABLE:
            raise QueryError(f"{label}: only tag: and place: can be negated (-tag:people, -place:Paris); "
                             "-favourite:yes is favourite:no")
        return PhotoFilter(**{_NEGATABLE[key]: (_name(key, value, label),)})
    if key == "rating":
        return _rating_fragment(value.strip(), label)
    if key in ("after", "before", "year", "date"):
        return _date_fragment(key, value.strip(), label)
    if key == "orientation":
        shape = value.strip().lower()
        if shape not in ORIENTATIONS:
            raise QueryError(f"{label}: orientation is portrait, landscape or square")
        return PhotoFilter(orientation=shape)
    if key == "text":
        return PhotoFilter(text=(_text_value(value, label),))
    target = {"place": "places", "camera": "cameras", "folder": "folders",
              "tag": "tags", "album": "albums", "kind": "kinds"}[key]
    return PhotoFilter(**{target: (_name(key, value, label),)})


def _name(key: str, value: str, label: str) -> str:
    """Places, cameras and folders match folded; tag, album and kind names as typed."""
    name = value.strip() if key in ("tag", "album", "kind") else fold(value)
    if not name:
        raise QueryError(f"{label} needs a value, e.g. {key}:{_EXAMPLES[key]}")
    return name


def _yes_no(value: str, label: str) -> bool:
    said = _YES_NO.get(value.strip().lower())
    if said is None:
        raise QueryError(f"{label}: favourite is yes or no, e.g. favourite:yes")
    return said


def _rating_fragment(value: str, label: str) -> PhotoFilter:
    """ "4": four stars or more; "=3": exactly three ("=0": not rated)."""
    exact = value.startswith("=")
    digits = value[1:] if exact else value
    lowest = 0 if exact else 1
    if not re.fullmatch(r"\d", digits) or not lowest <= int(digits) <= MAX_RATING:
        raise QueryError(f"{label}: a rating is 1 to {MAX_RATING} (that many stars or more) or "
                         f"=0 to ={MAX_RATING} (exactly; =0 is unrated), e.g. rating:4")
    return PhotoFilter(exact_rating=int(digits)) if exact else PhotoFilter(min_rating=int(digits))


def _ratings(a: PhotoFilter, b: PhotoFilter) -> dict[str, int | None]:
    """Both filters' ratings at once: the higher least one, the one exact one."""
    least = max((r for r in (a.min_rating, b.min_rating) if r is not None), default=None)
    exact = _agree(a.exact_rating, b.exact_rating, "rating", lambda n: f"={n}")
    if exact is not None and least is not None and exact < least:
        raise QueryError(f"rating:={exact} and rating:{least} cannot both hold")
    return {"min_rating": least, "exact_rating": exact}


def _text_value(value: str, label: str) -> str:
    """A text query as typed (the text index folds case and accents itself), once it reads."""
    try:
        terms = parse_text_query(value).terms
    except TextQueryError as exc:
        raise QueryError(f"{label}: {exc}") from None
    if not terms:
        raise QueryError(f"{label} needs words or numbers to find, e.g. text:{_EXAMPLES['text']}")
    return value.strip()


def _date_fragment(key: str, value: str, label: str) -> PhotoFilter:
    if key == "year":
        if not re.fullmatch(r"\d{4}", value):
            raise QueryError(f"{label}: a year is four digits, e.g. year:2021")
        first, end = _period(value, label)
        return PhotoFilter(after=first, before=end)
    if key == "date" and ".." in value:
        low, _, high = value.partition("..")
        first, end = _period(low, label)[0], _period(high, label)[1]
        if first >= end:
            raise QueryError(f"{label}: the range ends before it starts")
        return PhotoFilter(after=first, before=end)
    first, end = _period(value, label)
    if key == "after":
        return PhotoFilter(after=first)
    if key == "before":
        return PhotoFilter(before=first)
    return PhotoFilter(after=first, before=end)


def _period(spec: str, label: str) -> tuple[str, str]:
    period = parse_period(spec)
    if period is None:
        raise QueryError(f"{label} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
    return period[0].isoformat(), period[1].isoformat()


def _sort_value(value: str, label: str) -> str:
    order = value.strip().lower()
    if order not in SORTS:
        raise QueryError(f"{label}: sort is relevance or date")
    return order


def _agree(a: _T | None, b: _T | None, what: str, shown: Callable[[_T], str] = str) -> _T | None:
    """The one value of both (None: not asked); two different ones raise QueryError."""
    if a is not None and b is not None and a != b:
        raise QueryError(f"{what}:{shown(a)} and {what}:{shown(b)} cannot both hold")
    return a if a is not None else b


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(dict.fromkeys(x for x in b if x not in a))


def _values(values: str | int | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [str(values)]
    return [str(v) for v in values]


# ---- finding filters in the text ----------------------------------------------------------

def _scan(query: str, *, literal: bool, today: date | None,
          check: bool = True) -> tuple[list[_Found], list[tuple[int, int, str]]]:
    """The filters in ``query`` left to right, and the quoted spans (as edits that unquote
    them). ``check`` refuses unclosed quotes and empty values of known keys."""
    found: list[_Found] = []
    quoted: list[tuple[int, int, str]] = []
    masked = list(query)  # what phrase search sees: filters, unknown keys and quotes blanked
    for match in _SCAN.finditer(query):
        start, end = match.span()
        masked[start:end] = "\0" * (end - start)
        key = (match.group("key") or "").lower()
        if match.group("key") is None:
            quoted.append((start, end, match.group("text") or match.group("ctext") or ""))
        elif key in KEYS:
            item = _typed(query, match, key, check)
            if item:
                found.append(item)
    if not literal:
        text = "".join(masked)
        for phrase in find_date_phrases(text, today):
            if not _MINUS_BEFORE.search(text[:phrase.start]):
                chip = Chip("date", phrase.label, "phrase", phrase.raw)
                found.append(_Found(phrase.start, phrase.end, chip, after=phrase.after, before=phrase.before))
    return sorted(found, key=lambda f: f.start), quoted


def _typed(query: str, match: re.Match[str], key: str, check: bool) -> _Found | None:
    raw = match.group(0)
    if match.group("open") is not None or match.group("empty") is not None:
        if check:
            problem = "has an unclosed quote" if match.group("open") else "needs a value"
            raise QueryError(f"{key}: {problem}, e.g. {key}:{_EXAMPLES[key]}")
        return None
    value = next(v for v in (match.group("q"), match.group("cq"), match.group("bare")) if v is not None)
    negated = match.group("sign") == "-" or bool(_MINUS_BEFORE.search(query[:match.start()]))
    kind = _ALIASES.get(key, key)
    if negated:
        kind = f"-{kind}"
    return _Found(match.start(), match.end(), Chip(kind, value.strip(), "typed", raw), negated)


def _rewrite(query: str, edits: list[tuple[int, int, str]]) -> str:
    """``query`` with each span replaced; where a span goes, the spaces and the combined-query
    sign it leaves hanging go too ("beach + tag:x - people" -> "beach - people")."""
    text = query
    for start, end, replacement in sorted(edits, reverse=True):
        left, right = text[:start], text[end:]
        if replacement:
            text = left + replacement + right
            continue
        left, right = left.rstrip(), right.lstrip()
        if not right or _SIGN_AT_START.match(right):
            left = _SIGN_AT_END.sub("", left).rstrip()
        if not left and right.startswith("+"):
            right = _SIGN_AT_START.sub("", right).lstrip()
        text = f"{left} {right}" if left and right else left or right
    return text.strip()
