"""A library's albums: smart albums (saved searches), events and tag albums.

Listed from the catalog when asked for, so always current; the list is kept
until photos, tags or the album settings change (listing 100,000 photos'
albums takes a moment, and the app asks again every few seconds while
indexing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..files.scanner import is_photo_name
from ..models import Album, SmartAlbum
from ..search.query import QueryError, QueryTerm, parse_query
from . import albums as album_rules

if TYPE_CHECKING:
    from ..catalog.store import Catalog
    from ..clip.encoder import Encoder
    from ..settings import Settings
    from .parts import PhotoSearch, Writing

log = logging.getLogger(__name__)


def absolute_query(query: str, cwd: Path | None) -> str:
    """The query with its image terms as absolute paths, so a saved search means the
    same from any folder: "./a.jpg + snow" -> "/photos/a.jpg + snow"."""
    parts = []
    for term in parse_query(query, cwd):
        text = str(term.image) if term.image else term.text
        weight = abs(term.weight)
        parts.append(("- " if term.weight < 0 else "+ ") + (f"{weight:g}:" if weight != 1 else "")
                     + text)
    joined = " ".join(parts)
    return joined[2:] if joined.startswith("+ ") else joined


def _missing_image(term: QueryTerm) -> bool:
    """An image term whose file is gone: parse_query would take its path for words."""
    return term.image is None and Path(term.text).is_absolute() and is_photo_name(term.text)

FAVOURITES = "Favourites"  # the album of the photos marked with a heart


class AlbumBook:
    def __init__(self, catalog: Catalog, encoder: Encoder, settings: Callable[[], Settings],
                 writing: Writing, searcher: Callable[[], PhotoSearch]) -> None:
        self._catalog = catalog
        self._encoder = encoder
        self._settings = settings  # read at every listing: the app may swap in new ones
        self._writing = writing
        self._searcher = searcher  # asked late: the library builds it after the organizer
        self._cached: tuple[tuple[object, ...], list[Album]] | None = None
        self._failed = False

    def all(self) -> list[Album]:
        """Favourites, the user's own albums, smart albums, then events (newest first), then
        one per tag (biggest first)."""
        catalog, settings = self._catalog, self._settings()
        state = (catalog.vector_epoch(), catalog.tags_epoch(),
                 self._encoder.model_id, settings.album_min_photos, settings.event_gap_hours)
        if self._cached is not None and self._cached[0] == state:
            return list(self._cached[1])
        self._failed = False
        listed = self._list()
        # A smart album that could not be filled (no model yet) is tried again next time.
        self._cached = None if self._failed else (state, listed)
        return list(listed)

    def _list(self) -> list[Album]:
        catalog, settings = self._catalog, self._settings()
        times = catalog.photo_times()
        when = dict(times)
        names: dict[int, list[str]] = {}
        members: dict[str, list[int]] = {}
        for pid, name in catalog.tag_rows():  # one query: what every album below needs
            names.setdefault(pid, []).append(name)
            members.setdefault(name, []).append(pid)
        counts = sorted(((n, len(ids)) for n, ids in members.items()), key=lambda x: (-x[1], x[0]))
        for ids in members.values():
            ids.sort(key=lambda pid: (when.get(pid, 0.0), pid), reverse=True)  # newest first
        favourites = catalog.favourite_ids()
        return [
            *([Album(FAVOURITES, "favourites", tuple(favourites), key=FAVOURITES)] if favourites else []),
            *(Album(name, "manual", tuple(ids), key=name) for name, ids in catalog.manual_albums()),
            *(self._smart_or_empty(a) for a in catalog.smart_albums()),
            *album_rules.event_albums(times, names, gap_hours=settings.event_gap_hours,
                                      min_photos=settings.album_min_photos,
                                      places=catalog.photo_cities()),
            *album_rules.tag_albums(counts, members, settings.album_min_photos),
        ]

    def save_smart(self, name: str, query: str, min_score: float,
                   cwd: Path | None = None) -> SmartAlbum:
        """Save a search; its photos are found again every time it is listed."""
        name = name.strip()
        if not name:
            raise ValueError("a smart album needs a name")
        album = SmartAlbum(name, absolute_query(query, cwd), float(min_score))
        with self._writing("album"):
            self._catalog.save_smart_album(album)
        return album

    def remove_smart(self, name: str) -> bool:
        with self._writing("album"):
            return self._catalog.delete_smart_album(name)

    def _smart_or_empty(self, saved: SmartAlbum) -> Album:
        from ..clip.encoder import ModelUnavailable

        try:
            return self.smart(saved)
        except (ModelUnavailable, QueryError, OSError) as exc:  # listed, shown empty, said why
            log.warning("smart album %r cannot be filled: %s", saved.name, exc)
            self._failed = True
            return Album(saved.name, "smart", (), key=saved.name)

    def smart(self, saved: SmartAlbum) -> Album:
        """Every photo scoring at least the album's cutoff, best first."""
        if self._catalog.vector_dim(self._encoder.model_id) is None:
            return Album(saved.name, "smart", (), key=saved.name)
        terms = parse_query(saved.query)
        gone = [t.text for t in terms if _missing_image(t)]
        if gone:
            raise QueryError(f"its example image is gone: {gone[0]}")
        vector = self._searcher().query_vector(terms)
        top = 256
        while True:  # the index answers the best k; ask for more until the cutoff is passed
            hits = self._searcher().nearest(vector, top, saved.min_score)
            if len(hits) < top:
                break
            top *= 4
        return Album(saved.name, "smart", tuple(h.photo.id for h in hits), key=saved.name)
