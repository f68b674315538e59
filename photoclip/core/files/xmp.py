"""Keyword interop with other photo tools through XMP sidecars (darktable, digiKam, Lightroom).

Reading gathers keywords from a photo's sidecar and from its embedded XMP/IPTC; writing only
ever touches the sidecar, so PhotoClip never rewrites a photo. exiv2 (bundled by pyexiv2) does
the parsing and serialising, which keeps whatever else the other tools keep in their sidecars.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from photoclip.core.files.atomic import fsync_dir
from photoclip.core.files.formats import SUPPORTED_EXTENSIONS

XMP_RATING = "Xmp.xmp.Rating"
log = logging.getLogger(__name__)


class XmpError(Exception):
    """Metadata cannot be read or written (the message says which file and why)."""


# darktable/digiKam style first: it cannot be shared by a RAW+JPEG pair, unlike Lightroom's.
SIDECAR_STYLES = ("photo.jpg.xmp", "photo.xmp")

SUBJECT = "Xmp.dc.subject"
LR_HIERARCHY = "Xmp.lr.hierarchicalSubject"
DIGIKAM_TAGS = "Xmp.digiKam.TagsList"
IPTC_KEYWORDS = "Iptc.Application2.Keywords"

# pyexiv2 cannot create a file (exiv2's ImageFactory::create is not exposed) and exiv2 only
# recognises a sidecar by its content, at least 80 bytes of it: a new sidecar starts from
# this empty packet, which exiv2 then fills.
_EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n'
    '<?xpacket end="w"?>\n'
).encode()
_SIDECAR_MIME = "application/rdf+xml"


@functools.cache
def _exiv2() -> Any:
    # Imported lazily: loading libexiv2 is not free and most imports of this module never need it.
    import pyexiv2

    # exiv2 prints warnings to stdout; at level 3 only errors remain, and those become exceptions.
    pyexiv2.set_log_level(3)
    return pyexiv2


def sidecar_path(photo: Path, style: str = "photo.jpg.xmp") -> Path:
    """Where a sidecar of ``style`` (one of SIDECAR_STYLES) for ``photo`` lives."""
    if style == "photo.jpg.xmp":
        return photo.with_name(photo.name + ".xmp")
    if style == "photo.xmp":
        return photo.with_suffix(".xmp")
    raise ValueError(f"unknown sidecar style {style!r}, expected one of {SIDECAR_STYLES}")


class FolderPhotos:
    """The photo files of one folder, listed on first need and then kept for a batch of sidecar
    decisions (one listing per folder, not one per photo, when a whole library is tagged)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @functools.cached_property
    def _names(self) -> frozenset[str] | None:
        try:
            listed = os.listdir(self.folder)
        except OSError:
            return None  # not listable: no photo.xmp here can be shown to be one photo's own
        return frozenset(n for n in listed if os.path.splitext(n)[1].lower() in SUPPORTED_EXTENSIONS)

    @functools.cached_property
    def _claims(self) -> Counter[str]:
        """For each casefolded name ``n``: how many photos here would use ``n.xmp``, Lightroom's
        ``photo.xmp`` (photos with stem ``n``) or darktable's ``photo.jpg.xmp`` (the photo ``n``)."""
        names = self._names or ()
        return Counter(key for n in names for key in (os.path.splitext(n)[0].casefold(), n.casefold()))

    def shares_stem(self, photo: Path) -> bool:
        """Whether ``photo.xmp`` could be another photo's sidecar too: another photo file here has
        the same stem in any case (IMG_1.jpg, img_1.PNG) or is named like the stem (a.jpg, a.jpg.png)."""
        if self._names is None:
            return True
        own = 1 if photo.name in self._names else 0
        return self._claims[photo.stem.casefold()] - own > 0


def _own_style(photo: Path, style: str, folder: FolderPhotos) -> str:
    """``style``, unless ``photo.xmp`` is ambiguous for this photo: then ``photo.jpg.xmp``."""
    if style == "photo.xmp" and folder.shares_stem(photo):
        return "photo.jpg.xmp"
    return style


def existing_sidecar(photo: Path, folder: FolderPhotos | None = None) -> Path | None:
    """The photo's sidecar if it has one: ``photo.jpg.xmp`` first, then ``photo.xmp`` when no other
    photo in the folder could claim it (one photo's keywords are never another's).
    ``folder``: the photo's folder, listed once for many photos."""
    for style in SIDECAR_STYLES:
        candidate = sidecar_path(photo, style)
        if candidate == photo or not candidate.is_file():
            continue
        if style == "photo.xmp" and (folder or FolderPhotos(photo.parent)).shares_stem(photo):
            continue
        return candidate
    return None


def read_keywords(
    photo: Path, *, skip_root: str | None = None, folder: FolderPhotos | None = None
) -> list[str]:
    """Keywords attached to ``photo`` by any tool, deduplicated case-insensitively, sidecar first.
    ``skip_root``: leave out keywords filed under that root of the keyword tree (a tool's
    own guesses, "PhotoClip|scenes|beach", are not the user's keywords).

    Never raises: an unreadable source (corrupt file, format exiv2 does not know, a folder that
    cannot be looked into) is logged and skipped, because indexing must not fail over keywords.
    """
    words: list[str] = []
    seen: set[str] = set()
    try:
        sidecar = existing_sidecar(photo, folder)
    except OSError as exc:  # is_file raises on a folder it may not look into (EACCES)
        log.warning("Cannot look for a sidecar of %s: %s", photo, _one_line(exc))
        sidecar = None
    sources = ((sidecar, _sidecar_keywords), (photo, _embedded_keywords))
    for path, reader in sources:
        if path is None:
            continue
        try:
            _merge(words, seen, reader(path, skip_root))
        except Exception as exc:  # exiv2 raises RuntimeError, the file OSError, decoding ValueError
            log.warning("Cannot read keywords from %s: %s", path, _one_line(exc))
    return words


def read_rating(photo: Path, *, folder: FolderPhotos | None = None) -> int | None:
    """The photo's xmp:Rating (0-5 stars, as digiKam and Lightroom write it), sidecar first;
    None when neither says (a rejection, -1, reads as 0). Never raises, like read_keywords."""
    try:
        sidecar = existing_sidecar(photo, folder)
    except OSError:
        sidecar = None
    for path, embedded in ((sidecar, False), (photo, True)):
        if path is None:
            continue
        try:
            if embedded:
                with _open_photo(path) as img:
                    value = img.read_xmp().get(XMP_RATING)
            else:
                with _exiv2().ImageData(path.read_bytes()) as img:
                    value = img.read_xmp().get(XMP_RATING)
        except Exception as exc:  # as read_keywords: indexing must not fail over a rating
            # read_keywords, which runs first, has already warned of this file once.
            log.debug("Cannot read the rating of %s: %s", path, _one_line(exc))
            continue
        if value is not None:
            try:
                return max(0, min(5, round(float(value))))
            except (TypeError, ValueError):
                continue
    return None


def write_sidecar_tags(
    photo: Path,
    tags: Sequence[str],
    *,
    remove: Sequence[str] = (),
    hierarchy: Mapping[str, str] | None = None,
    style: str = "photo.jpg.xmp",
    folder: FolderPhotos | None = None,
    rating: int | None = None,
) -> Path:
    """Add ``tags`` to (and drop ``remove`` from) the photo's sidecar; return the sidecar's path.

    Updates the photo's existing sidecar of either style, else creates one of ``style`` (of
    ``photo.jpg.xmp`` where ``photo.xmp`` would be shared with another photo); the photo itself
    is never written. ``hierarchy`` maps a tag to its Lightroom path ("PhotoClip|scenes|beach").
    Everything else in the sidecar is kept, and the file is replaced atomically. A sidecar exiv2
    cannot parse raises XmpError and is left as it is: rewriting it would lose what it holds.
    """
    folder = folder or FolderPhotos(photo.parent)
    try:
        target = existing_sidecar(photo, folder) or _new_sidecar(photo, style, folder)
    except OSError as exc:
        raise XmpError(f"Cannot look for an XMP sidecar of {photo}: {_one_line(exc)}") from exc
    try:
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            data = _EMPTY_PACKET
        if not data.strip():
            data = _EMPTY_PACKET  # empty (a writer cut short): nothing in it to keep
        updated = _updated_sidecar(target, data, tags, remove, hierarchy or {}, rating)
        _replace_atomically(target, updated)
    except (OSError, RuntimeError, ValueError) as exc:
        raise XmpError(f"Cannot write XMP sidecar {target}: {_one_line(exc)}") from exc
    return target


def _new_sidecar(photo: Path, style: str, folder: FolderPhotos) -> Path:
    target = sidecar_path(photo, _own_style(photo, style, folder))
    shared = sidecar_path(photo, "photo.xmp")
    if target != shared and shared.is_file() and folder.shares_stem(photo):
        # The photo.xmp may have been this photo's before another photo took its stem: it is
        # left as it is (never deleted, never written again); its keywords are in the catalog.
        log.info("%s may belong to another photo of the same name: %s is written instead",
                 shared, target.name)
    return target


def _one_line(exc: BaseException) -> str:
    # exiv2's messages end in a newline; a log line or an error shown to the user is one line.
    return " ".join(str(exc).split())


# --- reading -------------------------------------------------------------------------------


def _sidecar_keywords(sidecar: Path, skip_root: str | None = None) -> list[str]:
    with _exiv2().ImageData(sidecar.read_bytes()) as img:
        return _xmp_keywords(img.read_xmp(), skip_root)


def _embedded_keywords(photo: Path, skip_root: str | None = None) -> list[str]:
    with _open_photo(photo) as img:
        words = _xmp_keywords(img.read_xmp(), skip_root)
        try:
            iptc = img.read_iptc()
        except UnicodeDecodeError:
            # Legacy IPTC without the UTF-8 marker is mostly Latin-1, which decodes any bytes.
            iptc = img.read_iptc(encoding="latin-1")
    return words + _as_list(iptc.get(IPTC_KEYWORDS))


def _open_photo(photo: Path) -> Any:
    pyexiv2 = _exiv2()
    name = str(photo)
    # exiv2 takes a narrow path: the file system's bytes on POSIX, but the ANSI code page on
    # Windows. Names it cannot take go through memory instead, at the cost of reading the file.
    if sys.platform != "win32" or name.isascii():
        with contextlib.suppress(UnicodeEncodeError):  # undecodable bytes in a POSIX name
            return pyexiv2.Image(name, encoding=sys.getfilesystemencoding())
    return pyexiv2.ImageData(photo.read_bytes())


def _xmp_keywords(xmp: Mapping[str, Any], skip_root: str | None = None) -> list[str]:
    """dc:subject plus the leaves of hierarchical keywords that dc:subject does not name,
    less those filed under ``skip_root``."""
    words: list[str] = []
    seen: set[str] = set()
    _merge(words, seen, _as_list(xmp.get(SUBJECT)))
    skipped: set[str] = set()
    for key, sep in ((LR_HIERARCHY, "|"), (DIGIKAM_TAGS, "/")):
        paths = _as_list(xmp.get(key))
        if skip_root:
            skipped |= {p.split(sep, 2)[-1].casefold() for p in paths
                        if p.startswith(skip_root + sep) and p.count(sep) >= 2}
        # A keyword may itself hold the separator ("AC/DC"): a path ending in one is that keyword.
        leaves = [p.rsplit(sep, 1)[-1] for p in paths if not any(_leaf_is(p, sep, w) for w in seen)]
        _merge(words, seen, leaves)
    return [w for w in words if w.casefold() not in skipped]


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):  # some writers store a plain text instead of a bag
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _merge(words: list[str], seen: set[str], new: Iterable[str]) -> None:
    """Append new words not yet in ``seen`` (casefolded), keeping the first spelling."""
    for word in new:
        word = word.strip()
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)


def _leaf_is(path: str, sep: str, folded_word: str) -> bool:
    folded = path.strip().casefold()
    return folded == folded_word or folded.endswith(sep + folded_word)


# --- writing -------------------------------------------------------------------------------


def _updated_sidecar(
    target: Path, data: bytes, tags: Sequence[str], remove: Sequence[str], hierarchy: Mapping[str, str],
    rating: int | None = None,
) -> bytes:
    with _exiv2().ImageData(data) as img:
        if img.get_mime_type() != _SIDECAR_MIME:
            raise ValueError(f"{target.name} is not an XMP sidecar ({img.get_mime_type()})")
        xmp = img.read_xmp()
        # exiv2 mirrors a sidecar's XMP into Exif/IPTC when reading it and copies them back when
        # writing, which resurrects removed keywords and breaks array writes: drop the mirrors
        # (Exif first, so its lossy round trip never runs). The XMP itself keeps everything.
        img.clear_exif()
        img.clear_iptc()
        changes = _keyword_changes(xmp, tags, remove, hierarchy)
        if rating is not None:  # 0: unrated, said as such (digiKam reads 0 as no stars)
            changes[XMP_RATING] = str(rating)
        img.modify_xmp(changes)
        if not img.read_xmp():
            # exiv2 writes nothing for an empty XMP and get_bytes() returns the old bytes, which
            # would keep the keywords just removed. Nothing else is left in it to keep.
            return _EMPTY_PACKET
        return img.get_bytes()


def _keyword_changes(
    xmp: Mapping[str, Any], tags: Sequence[str], remove: Sequence[str], hierarchy: Mapping[str, str]
) -> dict[str, str | None]:
    """The pyexiv2 ``modify_xmp`` items that set the three keyword properties."""
    removed = {r.strip().casefold() for r in remove}
    keywords: list[str] = []
    _merge(keywords, set(), [w for w in _xmp_keywords(xmp) if w.casefold() not in removed] + list(tags))
    wanted = [hierarchy[t] for t in tags if t in hierarchy]
    lr = _paths(_as_list(xmp.get(LR_HIERARCHY)), "|", removed, keywords, wanted)
    digikam = [p.replace("|", "/") for p in wanted]
    dk = _paths(_as_list(xmp.get(DIGIKAM_TAGS)), "/", removed, keywords, digikam)

    changes: dict[str, str | None] = {}
    arrays = ((SUBJECT, "Bag", keywords), (LR_HIERARCHY, "Bag", lr), (DIGIKAM_TAGS, "Seq", dk))
    for key, kind, values in arrays:
        # pyexiv2 writes lists as rdf:Seq, but dc:subject and lr:hierarchicalSubject are bags:
        # exiv2's "type=Bag" text makes an empty array of the right kind, indexed keys fill it.
        changes[key] = f"type={kind}" if values else None
        changes.update({f"{key}[{i}]": _literal(v) for i, v in enumerate(values, 1)})
    return changes


def _paths(
    existing: list[str], sep: str, removed: set[str], keywords: list[str], wanted: list[str]
) -> list[str]:
    """Hierarchical paths: existing ones whose leaf stays, the wanted ones, then for keywords no
    path names yet the parents of dropped paths, else the bare keyword."""
    paths: list[str] = []
    seen: set[str] = set()
    dropped = [p for p in existing if any(_leaf_is(p, sep, r) for r in removed)]
    _merge(paths, seen, [p for p in existing if p not in dropped] + wanted)
    # A dropped path's parent still places its levels in the tree, if its own leaf is still a keyword.
    folded = {w.casefold() for w in keywords}
    parents = [p.rsplit(sep, 1)[0] for p in dropped if sep in p]
    _merge(paths, seen, [p for p in parents if any(_leaf_is(p, sep, w) for w in folded)])
    uncovered = [w for w in keywords if not any(_names(p, sep, w.casefold()) for p in paths)]
    _merge(paths, seen, uncovered)
    return paths


def _names(path: str, sep: str, folded_word: str) -> bool:
    """Whether a path names the keyword, as its leaf or as one of its levels."""
    return _leaf_is(path, sep, folded_word) or folded_word in (s.strip() for s in path.casefold().split(sep))


def _literal(value: str) -> str:
    # exiv2 reads a leading "type=X " as an array-type marker; an empty marker protects the value.
    return f'type="" {value}' if value.startswith("type=") else value


def _replace_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``target``, then rename it over ``target``."""
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        # os.open applies the umask (mkstemp would make the sidecar private to this user).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if target.is_file():
            shutil.copymode(target, tmp)  # keep the permissions the sidecar had
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
