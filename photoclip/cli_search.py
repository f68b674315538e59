"""`photoclip search`: CLIP text, filters, or both, from the terminal.

The options are the query syntax's filters spelled as flags (``--place Lisbon`` is
``place:Lisbon``); both go through the same parser in the core (search/filters.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser is built for --help too: the core is imported when run
    from .core.library import Library

log = logging.getLogger(__name__)

_REPEATABLE = ("place", "camera", "folder", "tag", "album", "kind", "text")
_SINGLE = ("after", "before", "year", "date", "orientation", "favourite", "rating")
FILTER_OPTIONS = (*_REPEATABLE, *_SINGLE)
# A running PhotoClip accepts at once or not at all; its answer may need a query encoded.
CONNECT_TIMEOUT_S = 0.3
ANSWER_TIMEOUT_S = 5.0


def add_search_parser(commands: Any) -> argparse.ArgumentParser:
    search = commands.add_parser("search", help=(
        'search in plain language and/or filters, e.g. "beach + sunset - people", '
        '"dog place:Lisbon year:2023", or only filters: --place Lisbon --year 2023'))
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--min-score", type=float, metavar="S",
                        help="only results with cosine similarity >= S")
    when = search.add_argument_group("when (the capture date, from EXIF where the photo has one)")
    when.add_argument("--after", metavar="DATE", help="on or after: 2023, 2023-06 or 2023-06-15")
    when.add_argument("--before", metavar="DATE", help="before: 2024, 2024-01 or 2024-01-15")
    when.add_argument("--year", metavar="YYYY")
    when.add_argument("--date", metavar="DATE", help="that year, month or day: 2024-07")
    what = search.add_argument_group("where and with what (repeat a flag for any of several)")
    for name in _REPEATABLE:
        what.add_argument(f"--{name}", action="append", default=[], metavar=name.upper())
    what.add_argument("--orientation", choices=("portrait", "landscape", "square"))
    marks = search.add_argument_group("your marks (favourite:yes, rating:4 in the query)")
    heart = marks.add_mutually_exclusive_group()
    heart.add_argument("--favourite", action="store_const", const="yes", help="favourites only")
    heart.add_argument("--no-favourite", dest="favourite", action="store_const", const="no",
                       help="no favourites")
    marks.add_argument("--rating", metavar="N", help="N stars or more (1-5); =N exactly N (=0: unrated)")
    search.add_argument("--no-text", action="store_true", help=(
        "rank by CLIP alone: leave out the photos found by the text read in them "
        "(--text still filters by it; a repeated --text must all match)"))
    search.add_argument("--sort", choices=("relevance", "date"),
                        help="date: the matches above an adaptive cutoff, newest first")
    search.add_argument("--literal", action="store_true",
                        help='read the words as words: "in 2019" is not a date filter')
    return search


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in FILTER_OPTIONS}


def run_search(library: Library, args: argparse.Namespace) -> int:
    from .core.remote_search import found_reply
    from .core.search.filters import filter_from_options

    result = library.find(
        args.query, filters=filter_from_options(**_options(args)), sort=args.sort,
        literal=args.literal, top=args.top, min_score=args.min_score, cwd=Path.cwd(),
        use_text=not args.no_text)
    _print_reply(found_reply(library, result), args.json)
    return 0


def search_via_running(args: argparse.Namespace, model: str | None) -> int | None:
    """Ask the PhotoClip running for this library (the app or `photoclip watch`) and print
    its answer: no catalog, no model here. None when none answers (or it can't be trusted,
    or it can't give this answer): the caller searches by itself."""
    from .core.local_channel import ChannelError, UnsafeChannel, request, socket_path
    from .core.paths import app_paths

    paths = app_paths()
    message = {"cmd": "search", "query": args.query, "sort": args.sort, "literal": args.literal,
               "top": args.top, "min_score": args.min_score, "cwd": str(Path.cwd()), "model": model,
               "filters": {k: v for k, v in _options(args).items() if v not in (None, [])}}
    if args.no_text:  # only then: a running PhotoClip older than the text index refuses the
        message["use_text"] = False  # field, and this one searches by itself
    try:
        path = socket_path(paths.data_dir, paths.cache_dir)
        reply = request(path, message, ANSWER_TIMEOUT_S, connect_timeout=CONNECT_TIMEOUT_S)
    except UnsafeChannel:
        return None  # logged once where it was found out
    except (ChannelError, OSError) as exc:  # none runs, or it's busy or garbled: do it here
        log.debug("searching here, not through the running PhotoClip: %s", exc)
        return None
    if reply["ok"] is False and reply.get("kind") == "query":  # the same mistake here too
        print(f"photoclip: error: {reply.get('error')}", file=sys.stderr)
        return 1
    if not _well_formed(reply):
        log.debug("searching here: the running PhotoClip answered %.200r", reply)
        return None
    _print_reply(reply, args.json)
    return 0


def _well_formed(reply: dict[str, Any]) -> bool:
    """A found answer in the shape remote_search gives (a newer server's may differ)."""
    hits, chips = reply.get("hits"), reply.get("chips")
    return (reply["ok"] is True and isinstance(hits, list) and isinstance(chips, list)
            and all(isinstance(h, dict) and isinstance(h.get("path"), str)
                    and isinstance(h.get("score"), (int, float)) for h in hits)
            and all(isinstance(c, dict) and isinstance(c.get("kind"), str) for c in chips)
            and isinstance(reply.get("hidden"), int) and isinstance(reply.get("filtered"), bool)
            and (reply.get("total") is None or isinstance(reply.get("total"), int)))


def _print_reply(reply: dict[str, Any], as_json: bool) -> None:
    """The answer, found here or by the running PhotoClip (``remote_search.found_reply``)."""
    hits = reply["hits"]
    if as_json:
        json.dump(hits, sys.stdout, indent=2)  # as cli_output.print_json: its import is the core's
        sys.stdout.write("\n")
        return
    chips = ", ".join(f"{c['kind']}:{c.get('value')}" for c in reply["chips"])
    if chips:
        print(f"filters: {chips}", file=sys.stderr)
    if not hits:
        said = "no photos match these filters" if reply["filtered"] else "no matching photos"
        print(said, file=sys.stderr)
    for hit in hits:
        when = _short_date(hit.get("date"), hit.get("date_source"))
        # What the list is ordered by (the score; a filter-only list's date), then the path
        # to the end of the line, as always: scripts read "score  path". --json has the rest.
        first = (when or "-") if reply["total"] is not None else f"{hit['score']:.3f}"
        print(f"{first}  {hit['path']}")
    if reply["hidden"]:
        print(f"{len(hits)} matches; {reply['hidden']} weaker hidden", file=sys.stderr)
    elif reply["total"] is not None and reply["total"] > len(hits):
        print(f"{len(hits)} of {reply['total']} shown (--top for more)", file=sys.stderr)


def _short_date(taken_local: str | None, source: str | None) -> str:
    if not isinstance(taken_local, str) or not taken_local:
        return ""
    day = taken_local[:10]
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        return ""
    return day + ("*" if source == "file" else "")  # *: the file's date, no EXIF
