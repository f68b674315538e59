"""What the grid shows when the sidebar's tag or album is chosen instead of a query."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.library import Library
from ..core.models import Album, Photo

KIND_TITLES = {"tag": "Tag", "smart": "Smart album", "event": "Event", "album": "Album"}


@dataclass(frozen=True)
class Browse:
    """A tag or an album being browsed; ``label`` is what the search box shows."""

    kind: str  # "tag", "smart", "event" or "album" (an album of one tag)
    key: str  # the tag, the smart album's name, or the event's key
    name: str  # as the sidebar shows it
    snapshot: tuple[int, ...] = ()  # events: their photos when the sidebar listed them

    @property
    def label(self) -> str:
        return f"{KIND_TITLES[self.kind]}: {self.name}"

    def photo_ids(self, library: Library) -> list[int]:
        """Its photos now (a tag just added or a photo just indexed is in), best or
        newest first; events keep what they had when listed (they are cut by time)."""
        if self.kind in ("tag", "album"):
            return library.catalog.photo_ids_with_tag(self.key)
        if self.kind == "smart":
            saved = next((a for a in library.catalog.smart_albums() if a.name == self.key), None)
            return list(library.organizer.smart_album(saved).photo_ids) if saved else []
        return list(self.snapshot)

    def photos(self, library: Library, limit: int) -> list[Photo]:
        """The first ``limit`` of its photos, in order (run off the GUI thread)."""
        ids = self.photo_ids(library)[:limit]
        found = library.catalog.photos_by_ids(ids)
        return [found[pid] for pid in ids if pid in found]


def tag_browse(name: str) -> Browse:
    return Browse("tag", name, name)


def album_browse(album: Album) -> Browse:
    kind = "album" if album.kind == "tag" else album.kind
    snapshot = album.photo_ids if album.kind == "event" else ()
    return Browse(kind, album.key or album.name, album.name, snapshot)
