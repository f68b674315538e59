"""A damaged catalog stays refused until the file is replaced, in every later process.

SQLite keeps no checksums of its pages: damage is met only when a read reaches the
page, so one command can find it while the next, reading other rows, would carry
on writing to a file the user was just told to restore. The first process to meet
it leaves a note beside the catalog (``catalog.sqlite3.damaged``) naming the file as
it was then (device, inode, size, modification time) and the problem; every later
open of that same, unchanged file is refused with the same line. A restored or
replaced catalog is another file, so the note no longer applies to it (and is
removed by the next open). A note that cannot be read is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ..files.atomic import write_text_atomically


def damage_note(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".damaged")


def remember_damage(catalog: Path, problem: str) -> None:
    """Note that ``catalog``, as it is now, is damaged (call once no connection writes)."""
    identity = _identity(catalog)
    if identity is not None:
        with contextlib.suppress(OSError):  # a full or read-only disk: this process refused it
            write_text_atomically(damage_note(catalog),
                                  json.dumps({"file": identity, "problem": problem}))


def known_damage(catalog: Path) -> str | None:
    """The problem noted for this very file, or None (no note, another file, unreadable)."""
    note = damage_note(catalog)
    try:
        record = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none (the usual case), or unreadable: not trusted
        return None
    if not isinstance(record, dict) or not isinstance(record.get("problem"), str):
        return None
    if record.get("file") != _identity(catalog):
        with contextlib.suppress(OSError):  # restored or replaced: the note is history
            note.unlink()
        return None
    return record["problem"]


def _identity(catalog: Path) -> list[int] | None:
    try:
        st = os.stat(catalog)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
