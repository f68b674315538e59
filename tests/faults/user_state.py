"""What the user put into a library, read straight from the catalog file with plain SQL.

An independent reference for the fault tests: it shares no code with PhotoClip's
catalog module, so a bug there cannot hide itself here.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UserState:
    # path -> the user's own tags and decisions (anything not made by a model run)
    tags: dict[str, frozenset[tuple[str, str]]]
    albums: frozenset[tuple[str, str]]  # (name, query)
    concepts: frozenset[tuple[str, str]]  # (name, example ids as JSON)
    live_photos: frozenset[str]  # paths of photos in the library (not in the trash)


def read_user_state(catalog: Path) -> UserState:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30) as db:
        tags: dict[str, set[tuple[str, str]]] = {}
        for path, name, source in db.execute(
                "SELECT COALESCE(p.trashed_path, p.path), t.name, t.source FROM tags t "
                "JOIN photos p ON p.id = t.photo_id WHERE t.source != 'auto'"):
            tags.setdefault(os.fsdecode(bytes(path)), set()).add((name, source))
        albums = frozenset(db.execute("SELECT name, query FROM smart_albums"))
        concepts = frozenset(db.execute("SELECT name, examples FROM concepts"))
        live = frozenset(os.fsdecode(bytes(r[0])) for r in db.execute(
            "SELECT path FROM photos WHERE deleted_at IS NULL"))
    return UserState({k: frozenset(v) for k, v in tags.items()}, albums, concepts, live)
