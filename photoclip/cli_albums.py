"""`photoclip album`, `photoclip rate` and `photoclip favourite`: albums of one's own
(ordered, a photo in any number of them), 0-5 star ratings and favourites. Ratings go
into XMP sidecars (xmp:Rating) when sidecars are on, as digiKam and Lightroom read them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser is built for --help too: the core is imported when run
    from .core.library import Library


def add_parsers(commands: Any) -> None:
    album = commands.add_parser("album", help="albums of your own: create, add, remove, list")
    actions = album.add_subparsers(dest="album_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make an empty album")
    create.add_argument("name")
    for name, text in (("add", "add photos to an album (at its end)"), ("remove", "take photos out")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    delete = actions.add_parser("delete", help="delete an album (its photos stay in the library)")
    delete.add_argument("name")
    listing = actions.add_parser("list", help="the albums and their photos")
    listing.add_argument("--json", action="store_true", help='[{"name", "paths"}], in album order')
    rate = commands.add_parser("rate", help="rate photos 0-5 stars (0: unrated)")
    rate.add_argument("path", type=Path, metavar="PATH")
    rate.add_argument("stars", type=int, choices=range(6), metavar="N")
    favourite = commands.add_parser("favourite", help="mark a photo as a favourite (the heart)")
    favourite.add_argument("path", type=Path, metavar="PATH")
    favourite.add_argument("--unset", action="store_true", help="take the heart off")


def album(library: Library, args: argparse.Namespace) -> int:
    from .cli_output import print_json

    catalog = library.catalog
    if args.album_action == "list":
        albums = catalog.manual_albums()
        photos = catalog.photos_by_ids([pid for _, ids in albums for pid in ids])
        listed = [{"name": name, "paths": [str(photos[pid].path) for pid in ids if pid in photos]}
                  for name, ids in albums]
        if args.json:
            print_json(listed)
        else:
            for entry in listed:
                print(f"{entry['name']} ({len(entry['paths'])} photos)")
                for path in entry["paths"]:
                    print(f"  {path}")
        return 0
    with library.writing("album"):
        if args.album_action == "create":
            catalog.create_album(args.name)
            print(f"album {args.name!r} created")
        elif args.album_action == "delete":
            if not catalog.delete_album(args.name):
                print(f"photoclip: error: no album named {args.name!r}", file=sys.stderr)
                return 1
            print(f"album {args.name!r} deleted (its photos stay in the library)")
        else:
            ids = [library.photo_at(path).id for path in args.paths]
            if args.album_action == "add":
                print(f"{catalog.add_to_album(args.name, ids)} photos added to {args.name!r}")
            else:
                print(f"{catalog.remove_from_album(args.name, ids)} photos taken out of {args.name!r}")
    return 0


def rate(library: Library, args: argparse.Namespace) -> int:
    library.set_rating([library.photo_at(args.path).id], args.stars)
    return 0


def favourite(library: Library, args: argparse.Namespace) -> int:
    library.set_favourite([library.photo_at(args.path).id], not args.unset)
    return 0
