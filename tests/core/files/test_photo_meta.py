"""Behaviour tests for photoclip.core.files.photo_meta: a photo's headers, read without decoding."""

from __future__ import annotations

import io
import math
import os
import struct
import sys
import time
import types
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageFile, PngImagePlugin, WebPImagePlugin
from PIL.TiffImagePlugin import IFDRational

from photoclip.core.files import exif
from photoclip.core.files.formats import enable_heif
from photoclip.core.files.photo_meta import parse_date_text, read_photo_meta
from photoclip.core.models import PhotoMeta

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, LENS_MODEL = 0x9003, 0x9011, 0xA434
# Lisbon 38.7223 N 9.1393 W and Sydney 33.8688 S 151.2093 E as cameras write them: D/M/S rationals.
LISBON_GPS = {1: "N", 2: (38, 43, (2028, 100)), 3: "W", 4: (9, 8, (2148, 100))}
SYDNEY_GPS = {1: "S", 2: (33, 52, (768, 100)), 3: "E", 4: (151, 12, (3348, 100))}
MTIME_NS = 1_700_000_000_000_000_000  # 2023-11-14 22:13:20 UTC = 17:13:20 in New York


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


@pytest.fixture(autouse=True)
def new_york_clock() -> Iterator[None]:
    """Naive times are this machine's local time: pin it, so expected timestamps are exact."""
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset to pin the local time zone")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture(autouse=True)
def no_places(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the places module (a None entry makes importing it fail) unless a test fakes one."""
    monkeypatch.setitem(sys.modules, "photoclip.core.files.places", None)


def rational(value: int | tuple[int, int]) -> IFDRational:
    return IFDRational(*value) if isinstance(value, tuple) else IFDRational(value)


def make_exif(
    *,
    base: dict[int, object] | None = None,
    sub: dict[int, object] | None = None,
    gps: dict[int, object] | None = None,
) -> Image.Exif:
    made = Image.Exif()
    made.update(base or {})
    made.get_ifd(EXIF_IFD).update(sub or {})
    if gps:
        made.get_ifd(GPS_IFD).update(
            {k: tuple(rational(p) for p in v) if isinstance(v, tuple) else v for k, v in gps.items()}
        )
    return made


def save(path: Path, fmt: str, size: tuple[int, int] = (64, 48), **params: object) -> Path:
    if fmt == "HEIF" and not enable_heif():
        pytest.skip("pillow-heif is not usable here")
    Image.new("RGB", size, (200, 40, 40)).save(path, format=fmt, **params)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return path


def canon_lisbon(tmp_path: Path, fmt: str = "JPEG", name: str = "lisbon.jpg") -> Path:
    metadata = make_exif(
        base={MAKE: "Canon\x00\x00", MODEL: " Canon EOS R5 ", ORIENTATION: 6,
              DATETIME: "2024:08:01 09:00:00"},  # edited later: DateTimeOriginal wins
        sub={
            DATETIME_ORIGINAL: "2024:07:14 15:30:05",
            OFFSET_TIME_ORIGINAL: "+01:00",
            LENS_MODEL: "RF24-105mm F4 L IS USM\x00",
        },
        gps=LISBON_GPS,
    )
    return save(tmp_path / name, fmt, exif=metadata.tobytes())


def test_jpeg_exif_date_with_offset_camera_lens_orientation_size_and_gps(tmp_path: Path) -> None:
    assert read_photo_meta(canon_lisbon(tmp_path)) == PhotoMeta(
        taken_at=utc(2024, 7, 14, 14, 30, 5),  # 15:30:05 at +01:00
        taken_local="2024-07-14T15:30:05",
        taken_offset_min=60,
        taken_source="exif",
        camera_make="Canon",
        camera_model="Canon EOS R5",
        lens="RF24-105mm F4 L IS USM",
        orientation=6,
        width=64,
        height=48,
        file_type="jpeg",
        lat=38.7223,
        lon=-9.1393,
    )


def test_png_exif_naive_date_is_local_time_and_southern_eastern_gps_signs(tmp_path: Path) -> None:
    metadata = make_exif(sub={DATETIME_ORIGINAL: "2023:01:02 03:04:05"}, gps=SYDNEY_GPS)
    meta = read_photo_meta(save(tmp_path / "sydney.png", "PNG", exif=metadata.tobytes()))
    assert (meta.taken_at, meta.taken_local, meta.taken_offset_min, meta.taken_source) == (
        utc(2023, 1, 2, 8, 4, 5),  # naive: this machine's local time (New York, EST = -5 h)
        "2023-01-02T03:04:05",
        None,
        "exif",
    )
    assert (meta.lat, meta.lon, meta.file_type, meta.camera_make, meta.lens) == (
        -33.8688, 151.2093, "png", None, None
    )


def test_exif_datetime_stands_in_when_there_is_no_original(tmp_path: Path) -> None:
    metadata = make_exif(base={DATETIME: "2019:12:31 23:59:58"})
    meta = read_photo_meta(save(tmp_path / "edited.jpg", "JPEG", exif=metadata.tobytes()))
    assert (meta.taken_local, meta.taken_source, meta.taken_at) == (
        "2019-12-31T23:59:58", "exif", utc(2020, 1, 1, 4, 59, 58)
    )


def test_xmp_date_in_a_jpeg(tmp_path: Path) -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmp:CreateDate="2018-01-01T00:00:00" exif:DateTimeOriginal="2021-03-05T08:09:10.25+05:30"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    meta = read_photo_meta(save(tmp_path / "xmp.jpg", "JPEG", xmp=packet))
    assert (meta.taken_at, meta.taken_local, meta.taken_offset_min, meta.taken_source) == (
        utc(2021, 3, 5, 2, 39, 10), "2021-03-05T08:09:10", 330, "xmp"
    )


def test_xmp_date_in_a_png_itxt_chunk_element_form(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(
        "XML:com.adobe.xmp",
        "<x:xmpmeta><rdf:Description><xmp:CreateDate>2020-01-02T03:04:05Z</xmp:CreateDate>"
        "</rdf:Description></x:xmpmeta>",
    )
    meta = read_photo_meta(save(tmp_path / "xmp.png", "PNG", pnginfo=info))
    assert (meta.taken_at, meta.taken_local, meta.taken_offset_min, meta.taken_source) == (
        utc(2020, 1, 2, 3, 4, 5), "2020-01-02T03:04:05", 0, "xmp"
    )


def test_png_creation_time_text(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Creation Time", "Sun, 14 Jul 2024 15:30:00 +0200")
    meta = read_photo_meta(save(tmp_path / "made.png", "PNG", pnginfo=info))
    assert (meta.taken_at, meta.taken_local, meta.taken_offset_min, meta.taken_source) == (
        utc(2024, 7, 14, 13, 30, 0), "2024-07-14T15:30:00", 120, "png"
    )


def test_png_creation_time_after_the_pixels_is_found_without_decoding(tmp_path: Path) -> None:
    path = save(tmp_path / "late.png", "PNG")
    data = path.read_bytes()
    body = b"Creation Time\x00" + b"2022:05:06 07:08:09"
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])
    meta = read_photo_meta(path)
    assert (meta.taken_local, meta.taken_source) == ("2022-05-06T07:08:09", "png")


def test_heic_exif_date(tmp_path: Path) -> None:
    metadata = make_exif(base={MAKE: "Apple", MODEL: "iPhone 15"}, sub={
        DATETIME_ORIGINAL: "2024:02:29 12:00:00", OFFSET_TIME_ORIGINAL: "-03:00"})
    meta = read_photo_meta(save(tmp_path / "phone.heic", "HEIF", exif=metadata.tobytes()))
    assert meta == PhotoMeta(
        taken_at=utc(2024, 2, 29, 15, 0, 0), taken_local="2024-02-29T12:00:00", taken_offset_min=-180,
        taken_source="heif", camera_make="Apple", camera_model="iPhone 15", width=64, height=48,
        file_type="heic",
    )


def test_tiff_size_is_as_stored_even_when_orientation_turns_it(tmp_path: Path) -> None:
    turned = make_exif(base={ORIENTATION: 6}).tobytes()
    meta = read_photo_meta(save(tmp_path / "scan.tif", "TIFF", exif=turned))
    assert (meta.width, meta.height, meta.orientation, meta.file_type) == (64, 48, 6, "tiff")


def test_no_metadata_falls_back_to_the_file_time_in_local_time(tmp_path: Path) -> None:
    path = save(tmp_path / "bare.jpg", "JPEG")
    expected = PhotoMeta(taken_at=MTIME_NS / 1e9, taken_local="2023-11-14T17:13:20", taken_source="file",
                         width=64, height=48, file_type="jpeg")
    assert read_photo_meta(path) == expected
    given = 1_600_000_000_000_000_000  # 2020-09-13 12:26:40 UTC, as the catalog knows it
    assert read_photo_meta(path, mtime_ns=given) == PhotoMeta(
        taken_at=1_600_000_000.0, taken_local="2020-09-13T08:26:40", taken_source="file",
        width=64, height=48, file_type="jpeg",
    )


def test_garbage_metadata_gives_none_fields_and_no_exception(tmp_path: Path) -> None:
    metadata = make_exif(
        base={MAKE: "\x00\x00\x00", MODEL: "   ", ORIENTATION: 99, DATETIME: "    :  :     :  :  "},
        sub={DATETIME_ORIGINAL: "0000:00:00 00:00:00", OFFSET_TIME_ORIGINAL: "+99:99", LENS_MODEL: b"\x00"},
        gps={1: "N", 2: (38, (43, 0), 0), 3: "W", 4: ((0, 0), 0, 0)},
    )
    meta = read_photo_meta(save(tmp_path / "junk.jpg", "JPEG", exif=metadata.tobytes()))
    assert meta == PhotoMeta(taken_at=MTIME_NS / 1e9, taken_local="2023-11-14T17:13:20", taken_source="file",
                             width=64, height=48, file_type="jpeg")


def test_unreadable_files_never_raise(tmp_path: Path) -> None:
    fake = tmp_path / "letter.jpg"
    fake.write_bytes(b"%PDF-1.4 not a photo at all")
    os.utime(fake, ns=(MTIME_NS, MTIME_NS))
    assert read_photo_meta(fake) == PhotoMeta(taken_at=MTIME_NS / 1e9, taken_local="2023-11-14T17:13:20")
    gone = tmp_path / "gone.jpg"
    assert read_photo_meta(gone) == PhotoMeta()
    assert read_photo_meta(gone, mtime_ns=MTIME_NS).taken_local == "2023-11-14T17:13:20"


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        (SYDNEY_GPS, (-33.8688, 151.2093)),
        ({1: "N", 2: ((387223, 10000),), 3: "W", 4: ((91393, 10000),)}, (38.7223, -9.1393)),  # degrees only
        ({1: "N", 2: (0, 0, 0), 3: "E", 4: (0, 0, 0)}, None),  # (0, 0): a phone with no fix
        ({1: "N", 2: (91, 0, 0), 3: "E", 4: (10, 0, 0)}, None),  # beyond the pole
        ({1: "N", 2: (10, 0, 0), 3: "E", 4: (180, 30, 0)}, None),  # beyond the antimeridian
        ({1: "N", 2: (10, (1, 0), 0), 3: "E", 4: (10, 0, 0)}, None),  # zero denominator: NaN
        ({1: "Q", 2: (10, 0, 0), 3: "E", 4: (10, 0, 0)}, None),  # no such hemisphere
        ({1: "N", 2: (10, 0, 0)}, None),  # latitude only
        ({}, None),
    ],
)
def test_gps_position(gps: dict[int, object], expected: tuple[float, float] | None) -> None:
    assert exif.gps_position(make_exif(gps=gps)) == expected


def test_nan_coordinates_are_refused() -> None:
    made = Image.Exif()
    made.get_ifd(GPS_IFD).update({1: "N", 2: (math.nan,), 3: "E", 4: (1.0,)})
    assert exif.gps_position(made) is None


@pytest.mark.parametrize(
    ("text", "local", "offset"),
    [
        ("2019-07-14", "2019-07-14T00:00:00", None),
        ("2019-07-14T15:30", "2019-07-14T15:30:00", None),
        ("2019-07-14T15:30:00-0700", "2019-07-14T15:30:00", -420),
        ("2019:07:14 15:30:00\x00", "2019-07-14T15:30:00", None),
        ("Sun, 14 Jul 2019 15:30:00 GMT", "2019-07-14T15:30:00", 0),
        ("Sun, 14 Jul 2019 15:30:00 -0000", "2019-07-14T15:30:00", None),  # RFC 5322: zone unknown
        ("2019-02-30T10:00:00", None, None),
        ("yesterday", None, None),
        ("", None, None),
    ],
)
def test_parse_date_text(text: str, local: str | None, offset: int | None) -> None:
    found = parse_date_text(text)
    read = None if found is None else (found.local_text, found.offset_min)
    assert read == (None if local is None else (local, offset))


def test_places_fill_from_the_gps_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[float, float]] = []

    def place_of(lat: float, lon: float) -> types.SimpleNamespace:
        asked.append((lat, lon))
        return types.SimpleNamespace(city="Lisbon", region="Lisbon", country="Portugal", country_code="PT")

    monkeypatch.setitem(sys.modules, "photoclip.core.files.places", types.SimpleNamespace(place_of=place_of))
    meta = read_photo_meta(canon_lisbon(tmp_path))
    assert (meta.city, meta.region, meta.country, meta.country_code) == ("Lisbon", "Lisbon", "Portugal", "PT")
    assert asked == [(38.7223, -9.1393)]
    assert read_photo_meta(save(tmp_path / "bare.jpg", "JPEG")).city is None
    assert asked == [(38.7223, -9.1393)]  # no GPS: not asked


def test_headers_are_read_without_decoding_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [
        canon_lisbon(tmp_path),
        canon_lisbon(tmp_path, "PNG", "lisbon.png"),
        canon_lisbon(tmp_path, "WEBP", "lisbon.webp"),
        canon_lisbon(tmp_path, "TIFF", "lisbon.tif"),
        save(tmp_path / "plain.png", "PNG"),  # no eXIf chunk: PngImageFile.getexif would decode
    ]
    if enable_heif():
        photos.append(canon_lisbon(tmp_path, "HEIF", "lisbon.heic"))
    decoded: list[str] = []

    def refuse(self: Image.Image, *args: object, **kwargs: object) -> None:
        decoded.append(type(self).__name__)
        raise AssertionError("pixels decoded")

    for cls in (Image.Image, ImageFile.ImageFile, WebPImagePlugin.WebPImageFile):
        monkeypatch.setattr(cls, "load", refuse)
    if enable_heif():
        from pillow_heif.as_plugin import HeifImageFile

        monkeypatch.setattr(HeifImageFile, "load", refuse)
    metas = [read_photo_meta(p) for p in photos]
    assert decoded == []
    dates = [m.taken_local for m in metas]
    lisbon, file_time = "2024-07-14T15:30:05", "2023-11-14T17:13:20"
    assert dates == [lisbon] * 4 + [file_time] + [lisbon] * (len(photos) - 5)
    assert {(m.lat, m.lon) for m in metas if m.taken_source != "file"} == {(38.7223, -9.1393)}


def test_exif_taken_at_keeps_its_meaning() -> None:
    with_offset = make_exif(sub={DATETIME_ORIGINAL: "2024:07:14 15:30:05", OFFSET_TIME_ORIGINAL: "-02:30"})
    assert exif.taken_at(with_offset) == utc(2024, 7, 14, 18, 0, 5)
    naive = make_exif(sub={DATETIME_ORIGINAL: "0000:00:00 00:00:00"}, base={DATETIME: "2024:01:01 00:00:00"})
    assert exif.taken_at(naive) == utc(2024, 1, 1, 5, 0, 0)
    assert exif.taken_at(make_exif(sub={DATETIME_ORIGINAL: "garbage"})) is None
    day_long = {DATETIME_ORIGINAL: "2024:07:14 15:30:05", OFFSET_TIME_ORIGINAL: "+24:00"}
    impossible_offset = make_exif(sub=day_long)
    assert exif.taken_at(impossible_offset) == utc(2024, 7, 14, 19, 30, 5)  # ignored: local time
    assert exif.taken_at(None) is None
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=with_offset.tobytes())
    assert exif.taken_at(Image.open(buffer).getexif()) == utc(2024, 7, 14, 18, 0, 5)
