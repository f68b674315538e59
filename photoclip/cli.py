"""`photoclip`: a thin command-line front end over ``photoclip.core.library``.

Parse arguments, build the Library once, call it, print. Heavy modules
(torch, open_clip, the core itself) are imported only inside the commands, so
`photoclip --help` answers instantly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from .core.library import Library

MODEL_ENV = "PHOTOCLIP_MODEL"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photoclip",
        description="Search your photos in plain language with CLIP, fully on this computer. "
        "Without a command, starts the desktop app.",
        epilog="Data lives in the platform's user data dir, or under $PHOTOCLIP_HOME if set.",
    )
    parser.add_argument("--model", metavar="SPEC", help=(
        "open_clip model: ARCH:WEIGHTS (default ViT-B-32:laion2b_s34b_b79k), hf-hub:ORG/REPO, "
        "local-dir:PATH or ARCH:FILE.safetensors; also $PHOTOCLIP_MODEL"))
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                        help="where the model runs (auto: CUDA, then Apple MPS, then CPU)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8"),
                        help="the image encoder's precision on the CPU (auto: int8 or bf16 "
                        "where the CPU runs them natively, else fp32)")
    parser.add_argument("--reindex", action="store_true",
                        help="full maintenance: same as `photoclip index --full`")
    parser.add_argument("--json", dest="reindex_json", action="store_true",
                        help="with --reindex: print a JSON summary")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what happens (-vv: also other libraries' logs)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    add = commands.add_parser("add", help="add photo folders to the library")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    remove = commands.add_parser("remove", help="remove folders from the library (files stay)")
    remove.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    folders = commands.add_parser("folders", help="list library folders")
    folders.add_argument("--json", action="store_true")

    index = commands.add_parser("index", help="encode new and changed photos")
    index.add_argument("--full", action="store_true", help=(
        "also re-check every file, retry failures, take photos whose files are gone out of "
        "search (never in an offline folder; their tags are kept in the trash for "
        "trash_days in case the files come back) and rebuild the search index"))
    index.add_argument("--json", action="store_true", help="print a JSON summary")

    from .cli_search import add_search_parser

    _add_result_options(add_search_parser(commands))
    similar = commands.add_parser("similar", help="photos that look like an image")
    similar.add_argument("image", type=Path, metavar="IMAGE_PATH")
    _add_result_options(similar)

    commands.add_parser("watch", help=(
        "watch the library folders and index photos as they arrive, without the app "
        "(for a home server or NAS); Ctrl-C or SIGTERM stops it"))

    from .cli_organize import add_parsers

    add_parsers(commands)
    from .cli_text import add_parser as add_text_parser

    add_text_parser(commands)
    from .cli_duplicates import add_parsers as add_duplicates_parsers

    add_duplicates_parsers(commands)
    from .cli_albums import add_parsers as add_album_parsers

    add_album_parsers(commands)
    status = commands.add_parser("status", help="counts, failures, model, device, index size")
    status.add_argument("--json", action="store_true")
    return parser


def _add_result_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=_positive_int, default=20, metavar="N",
                        help="number of results (default 20)")
    parser.add_argument("--json", action="store_true", help="print a JSON array, best first")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("photoclip")
    except PackageNotFoundError:
        return "dev"


def open_library(args: argparse.Namespace) -> Library:
    from .core.library import Library
    from .core.paths import app_paths
    from .core.settings import load_settings

    paths = app_paths()
    settings = load_settings(paths.settings)
    settings.model = args.model or os.environ.get(MODEL_ENV) or settings.model
    settings.device = args.device or settings.device
    settings.precision = args.precision or settings.precision
    settings.validate()
    encoder = None
    if args.command == "search":  # a query from the ONNX text tower's pack: no torch
        from .core.clip.pack_first import pack_first_encoder

        encoder = pack_first_encoder(settings.model, settings.device, settings.precision,
                                     paths.models_cache)
    return Library(paths, settings, encoder=encoder)


def _search_filters_given(args: argparse.Namespace) -> bool:
    from .cli_search import FILTER_OPTIONS

    return any(getattr(args, name) for name in FILTER_OPTIONS)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures that get a one-line message, not a traceback."""
    from .core.catalog.store import CatalogError
    from .core.clip.encoder import ModelUnavailable
    from .core.library import LibraryError
    from .core.lock import LibraryLocked
    from .core.search.query import QueryError
    from .core.settings import SettingsError

    return (CatalogError, ModelUnavailable, LibraryError, LibraryLocked, QueryError,
            SettingsError, ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "search" and not args.query.strip() and not _search_filters_given(args):
        parser.error("search needs words, filters or both, e.g. \"dog\" or --place Lisbon")
    if args.reindex:
        if args.command not in (None, "index"):
            parser.error("--reindex is a command of its own")
        args.command, args.full = "index", True
        args.json = args.reindex_json or getattr(args, "json", False)
    elif args.reindex_json:
        parser.error("--json goes after the command (photoclip COMMAND --json)")
    if args.command is None:
        return _start_app(args)
    _configure_logging(args.verbose)
    # File names need not be UTF-8: write their original bytes back out.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    try:
        if args.command == "search":  # a running PhotoClip answers at once: no library here
            from .cli_search import search_via_running

            answered = search_via_running(args, args.model or os.environ.get(MODEL_ENV))
            if answered is not None:
                return answered
        from . import cli_albums, cli_commands, cli_duplicates, cli_organize

        modules = (cli_commands, cli_duplicates, cli_albums, cli_organize)
        command = next(getattr(m, args.command) for m in modules if hasattr(m, args.command))
        with open_library(args) as library:
            return command(library, args)
    except KeyboardInterrupt:
        print("photoclip: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        print(f"photoclip: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except _sqlite_error() as exc:  # a read that met a damaged page, a disk that filled
        problem = _catalog_problem(exc)
        if problem is None:
            raise  # a bug: its traceback is the report
        print(f"photoclip: error: {problem}", file=sys.stderr)
        return EXIT_FAILURE


def _sqlite_error() -> type[BaseException]:
    import sqlite3

    return sqlite3.Error


def _catalog_problem(exc: sqlite3.Error) -> Exception | None:
    from .core.catalog.damage import remember_damage
    from .core.catalog.errors import CatalogDamaged, catalog_problem
    from .core.paths import app_paths

    paths = app_paths()
    problem = catalog_problem(exc, paths.catalog, paths.backups)
    if isinstance(problem, CatalogDamaged):  # met by a read: later commands refuse it too
        remember_damage(paths.catalog, str(problem))
    return problem


def _configure_logging(verbose: int) -> None:
    """PhotoClip's warnings always; other libraries' logs only with -vv (their
    failures reach the user as PhotoClip's own one-line errors)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("photoclip: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.CRITICAL)
    logging.getLogger("photoclip").setLevel(logging.INFO if verbose else logging.WARNING)


def _start_app(args: argparse.Namespace) -> int:
    if sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        print("photoclip: no display to show the app on; use the commands (photoclip --help), "
              "or photoclip watch on a server", file=sys.stderr)
        return EXIT_FAILURE
    from .ui.platform_check import window_problem  # Qt-free: before Qt's libraries load

    if (problem := window_problem()) is not None:
        print(problem, file=sys.stderr)
        return EXIT_FAILURE
    try:
        from .ui.app import main as app_main
    except ImportError as exc:
        print(f"photoclip: the desktop app cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    _configure_logging(args.verbose)
    return app_main(sys.argv[:1], model=args.model or os.environ.get(MODEL_ENV))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
