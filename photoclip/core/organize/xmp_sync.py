"""Keeping XMP sidecars in step with the catalog's tags, and importing keywords.

Off by default: sidecars are written only when ``xmp_sidecars`` is on, and
never into the original file. Keywords already in photos (embedded XMP/IPTC,
sidecars from digiKam, darktable or Lightroom) are read as user tags when a
photo is indexed (``read_keywords``, on by default: reading changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..models import Tag

if TYPE_CHECKING:
    from pathlib import Path

    from ..catalog.store import Catalog
    from ..files.xmp import FolderPhotos
    from ..settings import Settings

log = logging.getLogger(__name__)

HIERARCHY_ROOT = "PhotoClip"


def hierarchy(tag: Tag) -> str:
    """Where a tag sits in digiKam's / Lightroom's keyword tree: PhotoClip's own
    guesses under "PhotoClip|<set>|", the user's tags as they are."""
    if tag.source != "auto" or not tag.label_set:
        return tag.name
    group = "concepts" if tag.label_set.startswith("concept:") else tag.label_set
    return f"{HIERARCHY_ROOT}|{group}|{tag.name}"


class SidecarSync:
    def __init__(self, catalog: Catalog, settings: Callable[[], Settings],
                 owned_names: Callable[[], set[str]]) -> None:
        self._catalog = catalog
        # Asked each time: the app replaces the library's settings when they are saved.
        self._settings = settings
        self._owned_names = owned_names
        self.failures: list[str] = []  # the last write's problems, for the front ends

    def write(self, photo_ids: Sequence[int], remove: set[str] | frozenset[str] = frozenset()) -> int:
        """Write these photos' tags to their sidecars; returns how many were written.
        ``remove``: names to take out besides the rejected and no longer applied ones
        (a label set just turned off no longer counts among PhotoClip's own names)."""
        if not self._settings().xmp_sidecars or not photo_ids:
            return 0
        from ..files.xmp import XmpError, write_sidecar_tags

        owned = self._owned_names() | remove
        photos = self._catalog.photos_by_ids(list(photo_ids))
        marks = self._catalog.marks_of(photos)  # ratings go into the sidecar too (xmp:Rating)
        written, self.failures = 0, []
        folders = _Folders()
        for pid, photo in photos.items():
            every = self._catalog.tags(pid, rejected=True)
            kept = [t for t in every if t.source != "rejected"]
            folder = folders.of(photo.path)
            rating = marks[pid].rating if pid in marks else None
            if not kept and rating is None and _no_sidecar(photo.path, folder):
                continue  # nothing to say, and no sidecar to take anything out of
            if not photo.path.exists():
                continue  # an offline drive: never write a sidecar onto its empty mount point
            names = {t.name for t in kept}
            drop = {t.name for t in every if t.source == "rejected"} | (owned - names)
            try:
                write_sidecar_tags(photo.path, [t.name for t in kept], remove=sorted(drop),
                                   hierarchy={t.name: hierarchy(t) for t in kept},
                                   style=self._settings().xmp_sidecar_style, folder=folder,
                                   rating=rating)
                written += 1
            except XmpError as exc:  # the catalog keeps the tags; the sidecar waits
                log.warning("%s", exc)
                self.failures.append(str(exc))
        return written

    def import_keywords(self, photo_ids: Sequence[int]) -> int:
        """Read keywords of these photos into the catalog as user tags, and their ratings
        (xmp:Rating, where the user has not rated them in PhotoClip)."""
        from ..files.xmp import read_keywords, read_rating

        photos = self._catalog.photos_by_ids(list(photo_ids))
        folders = _Folders()
        found = {pid: words for pid, p in photos.items()
                 if (words := read_keywords(p.path, skip_root=HIERARCHY_ROOT, folder=folders.of(p.path)))}
        if found:
            self._catalog.add_keywords(found)
        ratings = {pid: stars for pid, p in photos.items()
                   if (stars := read_rating(p.path, folder=folders.of(p.path)))}
        if ratings:
            self._catalog.ratings_from_files(ratings)
        return sum(len(words) for words in found.values())


class _Folders:
    """One FolderPhotos per folder for one batch: a folder of many photos is listed once."""

    def __init__(self) -> None:
        self._seen: dict[Path, FolderPhotos] = {}

    def of(self, photo: Path) -> FolderPhotos:
        from ..files.xmp import FolderPhotos

        if photo.parent not in self._seen:
            self._seen[photo.parent] = FolderPhotos(photo.parent)
        return self._seen[photo.parent]


def _no_sidecar(photo: Path, folder: FolderPhotos) -> bool:
    from ..files.xmp import existing_sidecar

    try:
        return existing_sidecar(photo, folder) is None
    except OSError:  # a folder it may not look into: the write says why, once
        return False
