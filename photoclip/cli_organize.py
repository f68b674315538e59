"""The CLI's organizing commands: tag, tags, albums, concept (each prints, returns an exit code)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `photoclip --help` builds these parsers: nothing heavy at import
    from .core.library import Library
    from .core.models import Album, Tag


def print_json(value: Any) -> None:
    from .cli_output import print_json as emit

    emit(value)


def add_parsers(commands: Any) -> None:
    """The organizing commands' arguments (``commands``: argparse's subparsers)."""
    tag = commands.add_parser("tag", help=(
        "tag the library with a zero-shot label set and keep it on for new photos "
        "(without --label-set: again with every enabled set)"))
    tag.add_argument("--label-set", action="append", metavar="NAME_OR_FILE", help=(
        "a built-in set (scenes, subjects, events, kinds), one of yours, or a .toml file "
        "(copied into your label sets); may be repeated"))
    tag.add_argument("--disable", metavar="NAME", help="stop tagging with a set, removing its auto tags")
    tag.add_argument("--list", action="store_true", help="list the label sets and which are on")
    tag.add_argument("--json", action="store_true")

    tags = commands.add_parser("tags", help="tag counts, or one photo's tags (and decisions on them)")
    tags.add_argument("--photo", type=Path, metavar="PATH", help="this photo's tags")
    for flag, what in (("add", "add user tags"), ("confirm", "confirm auto tags (they become yours)"),
                       ("reject", "reject auto tags (no run adds them again)"),
                       ("remove", "remove tags")):
        tags.add_argument(f"--{flag}", nargs="+", default=[], metavar="TAG", help=f"with --photo: {what}")
    tags.add_argument("--json", action="store_true")

    albums = commands.add_parser("albums", help="auto-albums: saved searches, events, tags")
    albums.add_argument("--save", nargs=2, metavar=("NAME", "QUERY"),
                        help="save a search as a smart album (its photos follow the library)")
    albums.add_argument("--min-score", type=float, default=0.25, metavar="S",
                        help="with --save: photos scoring at least S are in it (default 0.25)")
    albums.add_argument("--delete", metavar="NAME", help="delete a smart album")
    albums.add_argument("--json", action="store_true")

    concept = commands.add_parser("concept", help='personal concepts learned from examples ("our dog Rex")')
    actions = concept.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="learn a concept from 3-10 example photos of the library")
    add.add_argument("name")
    add.add_argument("examples", nargs="+", type=Path, metavar="EXAMPLE")
    actions.add_parser("list", help="list concepts").add_argument("--json", action="store_true")
    actions.add_parser("remove", help="forget a concept and its auto tags").add_argument("name")


def tag(library: Library, args: argparse.Namespace) -> int:
    organizer = library.organizer
    if args.list:
        return _list_label_sets(library, args.json)
    if args.disable:  # by name: a set whose file broke can still be turned off
        organizer.set_enabled(args.disable, False)
        print(f"{args.disable}: off, its auto tags removed")
        return 0
    chosen = ([organizer.resolve_label_set(n) for n in args.label_set] if args.label_set
              else organizer.enabled_label_sets())
    if not chosen and not library.catalog.concepts():
        print("no label sets are on; give one with --label-set (see --list)", file=sys.stderr)
        return 1
    runs = [organizer.tag_library(label_set) for label_set in chosen]
    concepts = {} if args.label_set else organizer.retag_concepts()
    if args.json:
        print_json([{"label_set": r.label_set, "photos": r.photos, "tags": r.tags,
                     "counts": r.counts} for r in runs])
        return 0
    for run in runs:
        top = ", ".join(f"{n} {c}" for n, c in sorted(run.counts.items(), key=lambda x: -x[1])[:8])
        print(f"{run.label_set}: {run.tags} tags on {run.photos} photos" + (f" ({top})" if top else ""))
    for name, count in concepts.items():
        print(f"concept {name}: {count} photos")
    return 0


def _list_label_sets(library: Library, as_json: bool) -> int:
    enabled = set(library.settings.label_sets)
    sets = library.organizer.label_sets()
    if as_json:
        print_json([{"name": s.name, "enabled": s.name in enabled, "builtin": s.builtin,
                     "labels": [x.name for x in s.labels], "multi_label": s.multi_label,
                     "description": s.description, "file": str(s.source)} for s in sets.values()])
        return 0
    for label_set in sets.values():
        mark = "on " if label_set.name in enabled else "off"
        print(f"{mark}  {label_set.name:12} {len(label_set.labels):3} labels  {label_set.description}")
    for path, problem in library.organizer.label_set_problems().items():
        print(f"photoclip: cannot use {path.name}: {problem}", file=sys.stderr)
    return 0


def tags(library: Library, args: argparse.Namespace) -> int:
    organizer = library.organizer
    edits = args.add or args.confirm or args.reject or args.remove
    if args.photo is None:
        if edits:
            print("photoclip: error: --add/--confirm/--reject/--remove need --photo PATH", file=sys.stderr)
            return 2
        counts = organizer.tag_counts()
        if args.json:
            print_json([{"tag": name, "count": count} for name, count in counts])
        for name, count in [] if args.json else counts:
            print(f"{count:6}  {name}")
        return 0
    path = args.photo.expanduser().resolve()
    for names, action in ((args.add, organizer.add_tags), (args.confirm, organizer.confirm),
                          (args.reject, organizer.reject), (args.remove, organizer.remove_tags)):
        if names:
            action(path, names)
    found = organizer.photo_tags(path)
    if args.json:
        print_json([tag_record(t) for t in found])
    for t in [] if args.json else found:
        score = "" if t.score is None else f" {t.score:.2f}"
        print(f"{t.name}  ({t.source}{', ' + t.label_set if t.label_set else ''}{score})")
    return 0


def tag_record(tag: Tag) -> dict[str, Any]:
    return {"tag": tag.name, "label_set": tag.label_set, "score": tag.score,
            "source": tag.source, "set_version": tag.set_version, "model": tag.model_id}


def albums(library: Library, args: argparse.Namespace) -> int:
    organizer = library.organizer
    if args.save:
        name, query = args.save
        organizer.save_smart_album(name, query, args.min_score, Path.cwd())
        print(f"saved smart album {name!r}: {query!r}, score >= {args.min_score}")
        return 0
    if args.delete:
        if not organizer.remove_smart_album(args.delete):
            print(f"photoclip: error: no smart album named {args.delete!r}", file=sys.stderr)
            return 1
        return 0
    listed = organizer.albums()
    paths = library.catalog.photos_by_ids([pid for a in listed for pid in a.photo_ids])
    if args.json:
        print_json([album_record(a, paths) for a in listed])
        return 0
    for album in listed:
        print(f"{album.kind:6} {len(album.photo_ids):6}  {album.name}")
    return 0


def album_record(album: Album, photos: dict) -> dict[str, Any]:
    return {"name": album.name, "kind": album.kind, "key": album.key,
            "count": len(album.photo_ids),
            "paths": [str(photos[pid].path) for pid in album.photo_ids if pid in photos]}


def concept(library: Library, args: argparse.Namespace) -> int:
    organizer = library.organizer
    if args.action == "add":
        learned = organizer.add_concept(args.name, [p.expanduser().resolve() for p in args.examples])
        tagged = len(library.catalog.photo_ids_with_tag(learned.name))
        how = "its examples and its name" if learned.text_weight else "its examples"
        print(f"learned {learned.name!r} from {how}; {tagged} photos tagged. "
              f'Search it: photoclip search "{learned.name}"')
        return 0
    if args.action == "remove":
        if not organizer.remove_concept(args.name):
            print(f"photoclip: error: no concept named {args.name!r}", file=sys.stderr)
            return 1
        return 0
    found = library.catalog.concepts()
    if args.json:
        print_json([{"name": n, "examples": len(ids)} for n, ids in found.items()])
    for name, ids in [] if args.json else found.items():
        print(f"{name}  ({len(ids)} examples)")
    return 0
