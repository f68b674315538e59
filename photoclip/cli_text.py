"""`photoclip text PHOTO`, and the text pass that `photoclip index` runs before it exits."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built for --help too: the core is imported when run
    from .core.library import Library


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    text = commands.add_parser("text", help="print the text read in a photo")
    text.add_argument("photo", type=Path, metavar="PHOTO")
    text.add_argument("--json", action="store_true", help="lines with their boxes and confidence")


def read_text_after_index(library: Library, cancel: threading.Event, quiet: bool) -> int:
    """The text pass, with its own progress line ("Reading text: 1,204 of 9,870") on a
    terminal; returns how many photos were read."""
    shown = sys.stderr.isatty() and not quiet

    def progress(done: int, total: int) -> None:
        print(f"\rReading text: {done:,} of {total:,}", end="", file=sys.stderr, flush=True)

    try:
        return library.read_text(progress if shown else None, cancel)
    finally:
        if shown:
            print(file=sys.stderr)


def show_text(library: Library, args: argparse.Namespace) -> int:
    from .cli_output import print_json
    from .core.files.ocr import OCR_MISSING, ocr_available

    photo = library.photo_at(args.photo)
    stored = library.text_of([photo.id]).get(photo.id)
    if args.json:
        print_json({"path": str(photo.path), "read": stored is not None,
                    "engine": stored.engine if stored else None,
                    "text": "\n".join(t for t, _, _ in stored.lines) if stored else None,
                    "lines": [{"text": t, "box": [list(p) for p in box], "confidence": round(c, 4)}
                              for t, box, c in (stored.lines if stored else [])]})
    elif stored is not None:
        print("\n".join(t for t, _, _ in stored.lines) or "no text found")
    elif library.text_reader is None:
        print(OCR_MISSING if not ocr_available() else "reading text is off (ocr = \"off\" in settings)")
    else:
        print("text not read yet: run photoclip index")
    return 0
