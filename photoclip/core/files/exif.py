"""What a photo's EXIF block says about it: how to turn it upright, and when it was taken.

EXIF is optional metadata written by countless cameras and apps, often wrongly: every
reader here turns a missing or malformed value into "as is" / "unknown", never an error,
so bad metadata can never reject a good photo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_TAG_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_TAG_LENS_MODEL = 0xA434
_TAG_GPS_IFD = 0x8825
_GPS_LATITUDE_REF, _GPS_LATITUDE, _GPS_LONGITUDE_REF, _GPS_LONGITUDE = 1, 2, 3, 4
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


@dataclass(frozen=True)
class CaptureTime:
    """When a photo was taken, as its camera wrote it: the wall clock, and its UTC offset if known."""

    local: datetime  # naive: the wall-clock time the photographer saw
    offset_min: int | None  # minutes east of UTC; None when the wall clock's zone is unknown

    @classmethod
    def of(cls, local: datetime, offset_min: int | None = None) -> CaptureTime | None:
        """A CaptureTime, or None when the moment cannot be a POSIX timestamp (year 1, 99999...)."""
        found = cls(local.replace(tzinfo=None, microsecond=0), offset_min)
        try:
            found.timestamp  # noqa: B018 - checked once here so that reading it later cannot fail
        except (ValueError, OverflowError, OSError):
            return None
        return found

    @property
    def timestamp(self) -> float:
        """POSIX seconds; a wall clock of unknown zone is taken as this machine's local time."""
        if self.offset_min is None:
            return self.local.timestamp()  # naive -> interpreted as local time
        return self.local.replace(tzinfo=timezone(timedelta(minutes=self.offset_min))).timestamp()

    @property
    def local_text(self) -> str:
        """"YYYY-MM-DDTHH:MM:SS", the form date filters compare."""
        return self.local.isoformat(timespec="seconds")


def taken_at(exif: Image.Exif | None) -> float | None:
    """DateTimeOriginal (else DateTime) as a timestamp; naive times are local time."""
    found = capture_time(exif)
    return None if found is None else found.timestamp


def capture_time(exif: Image.Exif | None) -> CaptureTime | None:
    """DateTimeOriginal with OffsetTimeOriginal, else DateTime; None when neither is a real date."""
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
        found = parse_exif_datetime(raw, offset)
        if found is not None:
            return found
    return None


def parse_exif_datetime(raw: object, offset: object = None) -> CaptureTime | None:
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
    except (ValueError, OverflowError):  # "0000:00:00 00:00:00", month 13...
        return None
    return CaptureTime.of(moment, parse_offset_minutes(offset))


def parse_offset_minutes(offset: object) -> int | None:
    """EXIF 2.31 OffsetTimeOriginal ("+02:00") in minutes east of UTC; None unless well formed."""
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if not isinstance(offset, str):
        return None
    match = _EXIF_OFFSET_RE.fullmatch(offset.strip("\x00 "))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes)
    if total >= 24 * 60:
        return None
    return -total if sign == "-" else total


def text_of(value: object) -> str | None:
    """An EXIF text as a clean string: NUL padding and surrounding blanks gone; None when empty."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip() or None


def camera_of(exif: Image.Exif | None) -> tuple[str | None, str | None, str | None]:
    """(make, model, lens model) as the camera wrote them; None for each one missing."""
    if exif is None:
        return None, None, None
    try:
        make, model = exif.get(_TAG_MAKE), exif.get(_TAG_MODEL)
        lens = exif.get_ifd(_TAG_EXIF_IFD).get(_TAG_LENS_MODEL)
    except Exception:
        return None, None, None
    return text_of(make), text_of(model), text_of(lens)


def gps_position(exif: Image.Exif | None) -> tuple[float, float] | None:
    """(latitude, longitude) in signed degrees from the GPS IFD; None for missing or impossible ones.

    (0, 0) is what phones write when they had no fix, not a photo taken in the Gulf of Guinea.
    """
    if exif is None:
        return None
    try:
        gps = exif.get_ifd(_TAG_GPS_IFD)
        lat = _gps_degrees(gps.get(_GPS_LATITUDE), gps.get(_GPS_LATITUDE_REF), "NS", 90.0)
        lon = _gps_degrees(gps.get(_GPS_LONGITUDE), gps.get(_GPS_LONGITUDE_REF), "EW", 180.0)
    except Exception:
        return None
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None
    return lat, lon


def _gps_degrees(value: object, ref: object, refs: str, limit: float) -> float | None:
    """Degrees, minutes, seconds rationals (or fewer of them) and a ref letter -> signed degrees."""
    parts = value if isinstance(value, (tuple, list)) else (value,)
    try:
        numbers = [float(part) for part in parts]  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not 1 <= len(numbers) <= 3 or not all(n >= 0 for n in numbers):
        return None  # a zero denominator reads as NaN, and NaN >= 0 is False
    degrees = sum(n / 60**i for i, n in enumerate(numbers))
    letter = (text_of(ref) or refs[0]).upper()[:1]  # no ref: north / east, as most readers assume
    if degrees > limit or letter not in refs:
        return None
    return round(-degrees if letter == refs[1] else degrees, 6)  # 6 decimals: 0.1 m
