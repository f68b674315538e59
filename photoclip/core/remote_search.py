"""A search asked over the local channel (``local_channel.py``): by ``photoclip search``
of a running app or ``photoclip watch``, so the terminal gets its answer without loading
a model of its own.

The request is what the CLI's options say::

    {"v": 1, "cmd": "search", "query": "dog in 2019", "filters": {"place": ["Lisbon"]},
     "sort": null, "literal": false, "top": 20, "min_score": null, "cwd": "/home/me",
     "use_text": true}

and the reply is what ``photoclip search --json`` prints, with the chips and counts the
terminal shows beside it::

    {"v": 1, "ok": true, "hits": [record, ...], "chips": [...], "hidden": 0, "total": null,
     "filtered": false}

or ``{"ok": false, "error": "<one line>", "kind": "query" | "library" | "request" |
"too_large" | "model"}``. A query error is the asker's own (it would get the same
locally); any other kind tells it to search by itself. The request comes from a
socket: every field is checked for its exact type and bounds before it is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog.errors import CatalogError
from .clip.encoder import ModelUnavailable
from .library import Library, LibraryError
from .local_channel import MAX_MESSAGE_BYTES, ProtocolError, encode
from .models import PhotoMarks, PhotoMeta, SearchHit
from .search.filters import filter_from_options
from .search.finder import FindResult
from .search.query import QueryError

SEARCH_COMMAND = "search"
MAX_TOP = 1000
MAX_QUERY_CHARS = 4000
MAX_VALUES = 64  # values of one repeatable filter ("place": [...])
SORTS = ("relevance", "date")
ONE_VALUE_FILTERS = ("after", "before", "year", "date", "orientation", "favourite", "rating")
MANY_VALUE_FILTERS = ("place", "camera", "folder", "tag", "album", "kind", "exclude_tag",
                      "exclude_place", "text")
_REQUEST_KEYS = {"v", "cmd", "query", "filters", "sort", "literal", "top", "min_score", "cwd",
                 "model", "use_text"}
Reply = dict[str, Any]


class BadRequest(ValueError):
    """A request that is not a well-formed search; str() is one line."""


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    filters: dict[str, Any] = field(default_factory=dict)  # filter_from_options' keywords
    sort: str | None = None
    literal: bool = False
    top: int = 20
    min_score: float | None = None
    cwd: Path | None = None
    model: str | None = None  # the model the asker wants; None: whichever runs
    use_text: bool = True  # fuse the text index's matches (photoclip search --no-text: off)


def search_record(hit: SearchHit, meta: PhotoMeta | None, text: str | None = None,
                  marks: PhotoMarks | None = None) -> dict[str, Any]:
    """One hit as ``photoclip search --json`` prints it: the file, its score and size,
    what its headers say (date, place, camera), the text that matched (or null) and all
    the text read in it (null: not read, or none found)."""
    photo = hit.photo
    record: dict[str, Any] = {
        "path": str(photo.path), "score": round(hit.score, 6), "width": photo.width,
        "height": photo.height, "taken_at": photo.taken_at,
        "date": None, "date_source": None, "place": None, "camera": None,
        "matched_text": hit.matched_text, "text": text or None,
        "stack_id": hit.stack_id, "stack_size": hit.stack_size,
        "favourite": bool(marks and marks.favourite), "rating": marks.rating if marks else 0,
    }
    if meta is not None:
        record.update(
            date=meta.taken_local, date_source=meta.taken_source, camera=meta.camera,
            place={"city": meta.city, "region": meta.region, "country": meta.country,
                   "country_code": meta.country_code} if meta.country else None,
            gps=[meta.lat, meta.lon] if meta.lat is not None else None)
    return record


def hit_records(library: Library, hits: Sequence[SearchHit]) -> list[dict[str, Any]]:
    """``search_record`` for each hit, their headers and text read in two queries."""
    ids = [hit.photo.id for hit in hits]
    metas, texts, marks = library.meta_of(ids), library.text_of(ids), library.marks_of(ids)
    read = {pid: "\n".join(t for t, _, _ in stored.lines) for pid, stored in texts.items()}
    return [search_record(hit, metas.get(hit.photo.id), read.get(hit.photo.id), marks.get(hit.photo.id))
            for hit in hits]


def found_reply(library: Library, result: FindResult) -> Reply:
    """A FindResult as the reply carries it (and as the CLI prints it, asked or not)."""
    return {
        "ok": True,
        "hits": hit_records(library, result.hits),
        "chips": [{"kind": c.kind, "value": c.value, "source": c.source, "raw": c.raw}
                  for c in result.parsed.chips],
        "hidden": result.hidden,
        "total": result.total,
        "filtered": not result.parsed.filter.is_empty(),
    }


def answer_search(library: Library, message: Mapping[str, Any]) -> Reply:
    """The reply to a search request (never raises for a bad request or a failed search)."""
    try:
        request = read_search_request(message)
    except BadRequest as exc:
        return _refusal("request", f"a malformed search request: {exc}")
    if request.model is not None and request.model != library.settings.model:
        return _refusal("model", f"this PhotoClip searches with {library.settings.model}")
    try:
        result = library.find(
            request.query, filters=filter_from_options(**request.filters), sort=request.sort,
            literal=request.literal, top=request.top, min_score=request.min_score, cwd=request.cwd,
            use_text=request.use_text)
        reply = found_reply(library, result)
    except QueryError as exc:
        return _refusal("query", str(exc))
    except (LibraryError, ModelUnavailable, CatalogError, OSError) as exc:
        return _refusal("library", str(exc))
    try:
        encode(reply)
    except ProtocolError:  # the asker searches by itself rather than get a cut list
        return _refusal("too_large", f"the answer is over the channel's {MAX_MESSAGE_BYTES} bytes")
    return reply


def _refusal(kind: str, error: str) -> Reply:
    return {"ok": False, "error": " ".join(error.split()), "kind": kind}


# ---- reading the request ----------------------------------------------------------------

def read_search_request(message: Mapping[str, Any]) -> SearchRequest:
    """The request's fields, each of its exact type and within bounds, else BadRequest."""
    unknown = sorted(set(message) - _REQUEST_KEYS)
    if unknown:
        raise BadRequest(f"unknown field {str(unknown[0])[:40]!r}")
    query = _optional(message, "query", str) or ""
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"a query over {MAX_QUERY_CHARS} characters")
    sort = _optional(message, "sort", str)
    if sort is not None and sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    top = _optional(message, "top", int)
    if top is not None and not 1 <= top <= MAX_TOP:
        raise BadRequest(f"top must be 1 to {MAX_TOP}")
    min_score = _optional(message, "min_score", (int, float))
    if min_score is not None and not math.isfinite(min_score):
        raise BadRequest("min_score must be a finite number")
    cwd = _optional(message, "cwd", str)
    if cwd is not None and not Path(cwd).is_absolute():
        raise BadRequest("cwd must be an absolute path")
    return SearchRequest(
        query=query, filters=_read_filters(message.get("filters")), sort=sort,
        literal=bool(_optional(message, "literal", bool)), top=20 if top is None else top,
        min_score=None if min_score is None else float(min_score),
        cwd=None if cwd is None else Path(cwd), model=_optional(message, "model", str),
        use_text=_optional(message, "use_text", bool) is not False)


def _optional(message: Mapping[str, Any], key: str, kinds: type | tuple[type, ...]) -> Any:
    """``message[key]`` when absent or null is None; else it must be exactly of ``kinds``
    (True is no int here, though Python says it is one)."""
    value = message.get(key)
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if value is not None and type(value) not in allowed:
        names = " or ".join(kind.__name__ for kind in allowed)
        raise BadRequest(f"{key} must be {names}, not {type(value).__name__}")
    return value


def _read_filters(filters: Any) -> dict[str, Any]:
    if filters is None:
        return {}
    if type(filters) is not dict:
        raise BadRequest("filters must be an object")
    read: dict[str, Any] = {}
    for key, value in filters.items():
        if key in ONE_VALUE_FILTERS:
            read[key] = _optional(filters, key, str)
        elif key in MANY_VALUE_FILTERS:
            if type(value) is not list or len(value) > MAX_VALUES or any(type(v) is not str for v in value):
                raise BadRequest(f"filter {key} must be a list of at most {MAX_VALUES} strings")
            read[key] = list(value)
        else:
            raise BadRequest(f"unknown filter {str(key)[:40]!r}")
    return read
