"""What a photo's headers say about it (when, with what, where), read without decoding a pixel.

Read once per photo at index time, and by the metadata backfill over libraries indexed
before, so it has to be cheap: PIL opens a file by reading its header only, and nothing here
ever calls ``load()``. Metadata is optional and often wrong: a field that cannot be read is
None, and nothing here raises for a bad file (not even for one that is gone: the backfill
stores what it got and moves on rather than retrying it forever).

Capture time, first found wins: EXIF DateTimeOriginal (+ OffsetTimeOriginal), EXIF DateTime,
the XMP packet's dates, a PNG "Creation Time" text, and the file's mtime as the last resort
(``taken_source == "file"``).
"""

from __future__ import annotations

import email.utils
import re
import struct
import zlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from ..models import PhotoMeta
from . import exif
from .exif import CaptureTime
from .formats import open_image

# PIL's format names -> the file types people know ("heic" for everything pillow-heif opens).
_FILE_TYPES = {"JPEG": "jpeg", "MPO": "jpeg", "HEIF": "heic", "TIFF": "tiff"}
# Dates from EXIF inside a HEIF container are marked as the HEIF's own.
_HEIF_TYPES = frozenset({"heic", "avif"})

# XMP date properties in the order they are trusted, with their usual prefixes (packets
# written by real tools use these; a packet renaming a namespace loses only the fallback).
_XMP_DATE_KEYS = ("exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated")
_XMP_LIMIT = 1 << 20  # bytes of a packet looked at: dates sit near the top, packets are padded
_XMP_INFO_KEYS = ("xmp", "XML:com.adobe.xmp")
_PNG_DATE_KEY = "Creation Time"
_ISO_DATE_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)

# PNG chunks after IDAT are only seen by PIL when it decodes; they are walked here instead.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_LATE_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})
_PNG_MAX_CHUNKS = 100_000  # a bound on the walk, however the file is cut into chunks
_PNG_MAX_CHUNK = 1 << 20  # a metadata chunk bigger than this is not read


def read_photo_meta(path: Path, *, mtime_ns: int | None = None, place: bool = True) -> PhotoMeta:
    """What ``path``'s headers say; ``mtime_ns`` (else the file's own) dates a photo with no date.
    ``place`` False leaves the place names to ``with_places`` (batched: the backfill)."""
    try:
        meta = _read_headers(path)
    except Exception:  # not a photo, truncated, gone: PIL raises a zoo of types, none may escape
        meta = PhotoMeta()
    if meta.taken_at is None:
        meta = replace(meta, **_file_date(path, mtime_ns))
    return _with_place(meta) if place else meta


def _read_headers(path: Path) -> PhotoMeta:
    # Everything is read while the file is open: a TIFF's EXIF sub-IFDs are read from it lazily.
    with path.open("rb") as file, open_image(file) as img:
        file_type = _FILE_TYPES.get(img.format or "", (img.format or "").lower() or None)
        info: dict[str, Any] = dict(img.info)
        if file_type == "png":
            for key, value in _png_late_chunks(path).items():
                info.setdefault(key, value)  # a chunk before the pixels wins
        metadata = _exif_of(img, info)
        width, height = img.size
        orientation = exif.orientation_of(metadata)
        make, model, lens = exif.camera_of(metadata)
        position = exif.gps_position(metadata)
        found = _capture_time(metadata, info, file_type)
    if file_type == "tiff" and exif.swaps_sides(orientation):
        width, height = height, width  # PIL's TIFF reader reports the size already turned upright
    return PhotoMeta(
        **(_dated(*found) if found else {}),
        camera_make=make,
        camera_model=model,
        lens=lens,
        orientation=orientation,
        width=width if width > 0 else None,
        height=height if height > 0 else None,
        file_type=file_type,
        lat=position[0] if position else None,
        lon=position[1] if position else None,
    )


def _exif_of(img: Image.Image, info: dict[str, Any]) -> Image.Exif | None:
    """The EXIF block from the header alone.

    PngImageFile.getexif decodes the whole image when no eXIf chunk came before IDAT; the
    base method only reads what the header gave (plus a late eXIf found by the walk).
    """
    if "exif" in info and "exif" not in img.info:
        parsed = Image.Exif()
        try:
            parsed.load(info["exif"])
        except Exception:
            return None
        return parsed
    try:
        return Image.Image.getexif(img)
    except Exception:
        return None


def _capture_time(
    metadata: Image.Exif | None, info: dict[str, Any], file_type: str | None
) -> tuple[CaptureTime, str] | None:
    """The capture time and where it came from; None when no header has a real one."""
    found = exif.capture_time(metadata)
    if found is not None:
        return found, "heif" if file_type in _HEIF_TYPES else "exif"
    found = _xmp_capture_time(info)
    if found is not None:
        return found, "xmp"
    found = parse_date_text(info.get(_PNG_DATE_KEY))
    if found is not None:
        return found, "png"
    return None


def _dated(found: CaptureTime, source: str) -> dict[str, Any]:
    return {
        "taken_at": found.timestamp,
        "taken_local": found.local_text,
        "taken_offset_min": found.offset_min,
        "taken_source": source,
    }


def _xmp_capture_time(info: dict[str, Any]) -> CaptureTime | None:
    packet = _xmp_packet(info)
    if packet is None:
        return None
    for key in _XMP_DATE_KEYS:
        # attribute form (exif:DateTimeOriginal="...") or element form (<exif:...>...</exif:...>)
        name = re.escape(key)
        match = re.search(rf"{name}\s*=\s*[\"']([^\"'<]*)[\"']|<{name}>\s*([^<]*)<", packet)
        if match is not None:
            found = parse_date_text(match.group(1) or match.group(2))
            if found is not None:
                return found
    return None


def _xmp_packet(info: dict[str, Any]) -> str | None:
    for key in _XMP_INFO_KEYS:
        raw = info.get(key)
        if isinstance(raw, (bytes, bytearray)):
            return bytes(raw[:_XMP_LIMIT]).decode("utf-8", "replace")
        if isinstance(raw, str):
            return raw[:_XMP_LIMIT]
    return None


def parse_date_text(text: object) -> CaptureTime | None:
    """A date as XMP and PNG text write one: ISO 8601, EXIF style, or RFC 1123 (PNG's own)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip("\x00 \t\r\n")
    match = _ISO_DATE_RE.match(text)
    if match is not None:
        *parts, zone = match.groups()
        try:
            moment = datetime(*(int(part or 0) for part in parts))
        except (ValueError, OverflowError):
            return None
        return CaptureTime.of(moment, 0 if zone == "Z" else exif.parse_offset_minutes(zone))
    found = exif.parse_exif_datetime(text)
    return found if found is not None else _rfc1123_time(text)


def _rfc1123_time(text: str) -> CaptureTime | None:
    """ "Sun, 14 Jul 2024 15:30:00 +0100" (offset "-0000": the zone is unknown)."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    offset = moment.utcoffset()
    return CaptureTime.of(moment, None if offset is None else round(offset.total_seconds() / 60))


def _png_late_chunks(path: Path) -> dict[str, Any]:
    """Text and eXIf chunks stored after the pixels, walked header by header (no decompression
    of pixels): {"Creation Time": ..., "xmp": ..., "exif": ...} for the ones found."""
    found: dict[str, Any] = {}
    try:
        # unbuffered: a buffered read after each seek would read most of the pixels anyway
        with path.open("rb", buffering=0) as file:
            if file.read(8) != _PNG_SIGNATURE:
                return found
            after_pixels = False
            for _ in range(_PNG_MAX_CHUNKS):
                head = file.read(8)
                if len(head) < 8:
                    break
                length, kind = struct.unpack(">I4s", head)
                if kind == b"IEND":
                    break
                after_pixels = after_pixels or kind == b"IDAT"
                if after_pixels and kind in _PNG_LATE_CHUNKS and length <= _PNG_MAX_CHUNK:
                    _png_chunk_into(found, kind, file.read(length))
                    file.seek(4, 1)
                else:
                    file.seek(length + 4, 1)
    except (OSError, ValueError, struct.error):
        pass
    return found


def _png_chunk_into(found: dict[str, Any], kind: bytes, data: bytes) -> None:
    if kind == b"eXIf":
        found.setdefault("exif", data)
        return
    keyword, _, rest = data.partition(b"\x00")
    if keyword not in (b"Creation Time", b"XML:com.adobe.xmp"):
        return
    try:
        if kind == b"zTXt":  # method byte, then zlib
            text = zlib.decompress(rest[1:], bufsize=_PNG_MAX_CHUNK).decode("latin-1")
        elif kind == b"iTXt":  # compressed flag, method, language\0, translated keyword\0, text
            flag, body = rest[:1], rest[2:].split(b"\x00", 2)[-1]
            text = (zlib.decompress(body) if flag == b"\x01" else body).decode("utf-8", "replace")
        else:
            text = rest.decode("latin-1")
    except (zlib.error, ValueError):
        return
    found.setdefault("xmp" if keyword == b"XML:com.adobe.xmp" else _PNG_DATE_KEY, text)


def _file_date(path: Path, mtime_ns: int | None) -> dict[str, Any]:
    """The file's modification time standing in for a capture time, in this machine's local time."""
    try:
        seconds = (path.stat().st_mtime_ns if mtime_ns is None else mtime_ns) / 1e9
        local = datetime.fromtimestamp(seconds).isoformat(timespec="seconds")
    except (OSError, ValueError, OverflowError):
        return {"taken_source": "file"}
    return {"taken_at": seconds, "taken_local": local, "taken_offset_min": None, "taken_source": "file"}


def _with_place(meta: PhotoMeta) -> PhotoMeta:
    """City, region and country of the GPS position (offline), when the places extra is there."""
    if meta.lat is None or meta.lon is None:
        return meta
    try:
        from .places import place_of  # imported on first use: its table loads lazily anyway
    except ImportError:
        return meta
    place = place_of(meta.lat, meta.lon)
    if place is None:
        return meta
    return replace(
        meta,
        city=getattr(place, "city", None),
        region=getattr(place, "region", None),
        country=getattr(place, "country", None),
        country_code=getattr(place, "country_code", None),
    )


def with_places(metas: list[PhotoMeta]) -> list[PhotoMeta]:
    """``metas`` with their place names, geocoded in one batch (~15 µs a point, against
    ~1 ms one at a time)."""
    located = [i for i, m in enumerate(metas) if m.lat is not None and m.lon is not None]
    if not located:
        return metas
    try:
        from .places import place_of_many
    except ImportError:
        return metas
    found = place_of_many([(metas[i].lat, metas[i].lon) for i in located])
    named = list(metas)
    for i, place in zip(located, found, strict=True):
        if place is not None:
            named[i] = replace(metas[i], city=place.city, region=place.region,
                               country=place.country, country_code=place.country_code)
    return named
