"""`photoclip duplicates` and `photoclip stacks`: the groups of copies, near-identical
photos and similar shots, and the clean-up that keeps each group's best photo and moves
the others to the system trash (only with --keep-best --trash-extras, after a yes on a
terminal or --yes: the only command that touches files in photo folders)."""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser is built for --help too: the core is imported when run
    from .core.library import Library
    from .core.organize.duplicates import DuplicateGroup

TIERS = ("copies", "near", "similar")


def add_parsers(commands: Any) -> None:
    found = commands.add_parser("duplicates", help=(
        "find copies, near-identical photos and similar shots; with --keep-best "
        "--trash-extras, move each group's extras to the system trash"))
    found.add_argument("--tier", choices=TIERS, default="near", help=(
        "copies: the same file content; near (default): the same picture resized, "
        "recompressed, converted or lightly edited; similar: also bursts (shots seconds apart)"))
    found.add_argument("--keep-best", action="store_true",
                       help="keep each group's suggested photo (shown with its reason)")
    found.add_argument("--trash-extras", action="store_true", help=(
        "move every other photo of each group to the system trash, after merging its tags "
        "into the kept one (asks first; never deletes)"))
    found.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    found.add_argument("--json", action="store_true")
    stacks = commands.add_parser("stacks", help="the stacks search results fold into one photo")
    stacks.add_argument("--json", action="store_true")


def update_after_index(library: Library, cancel: threading.Event, quiet: bool) -> None:
    """How photos look (a backfill for ones indexed before PhotoClip kept it, with its own
    progress line on a terminal), then the duplicate groups brought up to date."""
    shown = sys.stderr.isatty() and not quiet
    printed = False

    def progress(done: int, total: int) -> None:
        nonlocal printed
        printed = True
        print(f"\rLooking at photos for duplicates: {done:,} of {total:,}", end="", file=sys.stderr,
              flush=True)

    try:
        library.update_duplicates(progress if shown else None, cancel)
    finally:
        if printed:
            print(file=sys.stderr)


def duplicates(library: Library, args: argparse.Namespace) -> int:
    from .cli_output import print_json

    library.update_duplicates()
    groups = library.duplicates.groups(args.tier)
    if args.trash_extras:
        return _trash_extras(library, groups, args)
    if args.keep_best:
        print("photoclip: error: --keep-best says which photo stays; add --trash-extras to move "
              "the others to the trash", file=sys.stderr)
        return 2
    if args.json:
        print_json([_group_record(library, g) for g in groups])
        return 0
    _print_groups(library, groups)
    return 0


def stacks(library: Library, args: argparse.Namespace) -> int:
    from .cli_output import print_json

    tier = library.settings.stacks
    if tier == "off":
        print("stacks are off (stacks = \"off\" in settings)", file=sys.stderr)
        return 0
    library.update_duplicates()
    groups = library.duplicates.groups(tier)
    if args.json:
        print_json([_group_record(library, g) for g in groups])
        return 0
    for found in groups:
        print(f"{len(found.photos)}  {found.keep.path}")
    print(f"{len(groups)} stacks of {tier} photos; search shows each as its best-ranked photo",
          file=sys.stderr)
    return 0


def _group_record(library: Library, found: DuplicateGroup) -> dict[str, Any]:
    sharpness = library.catalog.sharpness_of(p.id for p in found.photos)
    return {
        "tier": found.tier, "keep": str(found.keep.path), "reason": found.reason,
        "extra_bytes": found.extra_bytes,
        "photos": [{"path": str(p.path), "size": p.size, "width": p.width, "height": p.height,
                    "taken_at": p.taken_at, "sharpness": sharpness.get(p.id), "keep": p == found.keep}
                   for p in found.photos],
    }


def _print_groups(library: Library, groups: list[DuplicateGroup]) -> None:
    from .core.units import human_size

    for number, found in enumerate(groups, 1):
        print(f"group {number}: {len(found.photos)} photos, {human_size(found.extra_bytes)} to free")
        print(f"  keep  {found.keep.path}  ({found.reason})")
        for photo in found.extras:
            when = _when(photo.taken_at)
            print(f"        {photo.path}  {human_size(photo.size)}  {photo.width} x {photo.height}  {when}")
    total = sum(g.extra_bytes for g in groups)
    hint = " (photoclip duplicates --keep-best --trash-extras moves the extras to the trash)"
    print(f"{len(groups)} groups, {human_size(total)} to free" + (hint if groups else ""), file=sys.stderr)


def _when(taken_at: float | None) -> str:
    return datetime.fromtimestamp(taken_at).strftime("%Y-%m-%d %H:%M") if taken_at else "-"


def _trash_extras(library: Library, groups: list[DuplicateGroup], args: argparse.Namespace) -> int:
    from .core.organize.cleanup import plan_for
    from .core.units import human_size

    if not args.keep_best:
        print("photoclip: error: --trash-extras needs --keep-best (the photo each group keeps)",
              file=sys.stderr)
        return 2
    plans = [plan_for(g) for g in groups]
    moving = [p for plan in plans for p in plan.extras]
    if not moving:
        print("no duplicates: nothing to move", file=sys.stderr)
        return 0
    freed = human_size(sum(plan.bytes_freed for plan in plans))
    for plan in plans:
        print(f"keep  {plan.keep.path}")
        for photo in plan.extras:
            print(f"  to the trash: {photo.path}  ({human_size(photo.size)})")
    if not args.yes:
        if not sys.stdin.isatty():
            print("photoclip: error: moving files to the trash needs a yes: run it on a terminal, "
                  "or add --yes", file=sys.stderr)
            return 2
        answer = input(f"Move these {len(moving)} files ({freed}) to the trash? Their tags go to "
                       "the photo kept. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing moved", file=sys.stderr)
            return 1
    report = library.clean_up(plans)
    print(f"moved {len(report.trashed)} files to the trash, {human_size(report.bytes_freed)} freed"
          + (f"; {report.merged_tags} tags carried to the photos kept" if report.merged_tags else ""))
    for path, why in report.failed:
        print(f"photoclip: {path} stayed: {why}", file=sys.stderr)
    return 1 if report.failed else 0
