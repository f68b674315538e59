"""What a photo's EXIF block says about it: how to turn it upright, and when it was taken.

EXIF is optional metadata written by countless cameras and apps, often wrongly: every
reader here turns a missing or malformed value into "as is" / "unknown", never an error,
so bad metadata can never reject a good photo.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from PIL import Image

_ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})
_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_EXIF_DATE_RE = re.compile(r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")


def read_exif(img: Image.Image) -> Image.Exif | None:
    """EXIF is optional metadata: a malformed block must not reject a good photo."""
    try:
        return img.getexif()
    except Exception:
        return None


def orientation_of(exif: Image.Exif | None) -> int:
    """EXIF orientation 1..8, defaulting to 1 (as is) for missing or garbage values."""
    if exif is None:
        return 1
    try:
        value = int(exif.get(_TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if value in _TRANSPOSE else 1


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """``img`` flipped and rotated as EXIF ``orientation`` says (1: as is)."""
    for method in _TRANSPOSE.get(orientation, ()):
        img = img.transpose(method)
    return img


def swaps_sides(orientation: int) -> bool:
    """Whether turning upright swaps width and height (a quarter turn)."""
    return orientation in _ROTATING_ORIENTATIONS


def taken_at(exif: Image.Exif | None) -> float | None:
    """DateTimeOriginal (else DateTime) as a timestamp; naive times are local time."""
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(_TAG_EXIF_IFD)
        candidates = [
            (sub.get(_TAG_DATETIME_ORIGINAL), sub.get(_TAG_OFFSET_TIME_ORIGINAL)),
            (exif.get(_TAG_DATETIME), None),
        ]
    except Exception:
        return None
    for raw, offset in candidates:
        stamp = _parse_exif_datetime(raw, offset)
        if stamp is not None:
            return stamp
    return None


def _parse_exif_datetime(raw: object, offset: object = None) -> float | None:
    """Parse "YYYY:MM:DD HH:MM:SS" (tolerating -, / separators and NUL padding)."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    match = _EXIF_DATE_RE.search(raw)
    if match is None:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()))
        tz = _parse_offset(offset)
        if tz is not None:
            moment = moment.replace(tzinfo=tz)
        return moment.timestamp()  # naive -> interpreted as local time
    except (ValueError, OverflowError, OSError):
        return None


def _parse_offset(offset: object) -> timezone | None:
    """EXIF 2.31 OffsetTimeOriginal ("+02:00") makes the capture time unambiguous."""
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if not isinstance(offset, str):
        return None
    match = _EXIF_OFFSET_RE.fullmatch(offset.strip("\x00 "))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)
