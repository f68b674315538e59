"""Behaviour tests for photoclip.core.files.imaging: safe, reduced decoding for the model."""

from __future__ import annotations

import io
import random
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageOps

from photoclip.core.files import imaging
from photoclip.core.files.formats import ALLOWED_FORMATS, SUPPORTED_EXTENSIONS, enable_heif
from photoclip.core.files.imaging import (
    MAX_PIXELS,
    DecodedImage,
    ImageRejected,
    decode_for_model,
)
from tests.bad_inputs import (
    ACCEPTED,
    BLUE,
    DATETIME_ORIGINAL_TAG,
    EXIF_IFD_TAG,
    GREEN,
    ORIENTATION_TAG,
    RED,
    REJECTED,
    WHITE,
    encode,
    halves,
    make_bad_corpus,
)

GREY = (128, 128, 128)

# Every rejected corpus file, with a word its reason must contain.
EXPECTED_REASONS = {
    "empty.jpg": "empty file",
    "empty.heic": "empty file",
    "text.png": "not a supported image format",
    "document.jpg": "not a supported image format",
    "vector.jpg": "not a supported image format",
    "vector_dos.tif": "not a supported image format",
    "drawing.png": "not a supported image format",
    "archive.jpg": "not a supported image format",
    "random.webp": "not a supported image format",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "bomb.png": "too large",
    "bomb_moderate.png": "too large",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_bad_corpus(folder)


def load(corpus: tuple[Path, dict[str, str]], name: str) -> DecodedImage:
    folder, _ = corpus
    return decode_for_model((folder / name).read_bytes())


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 2) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def quadrant_jpeg(size: tuple[int, int], orientation: int | None = None) -> bytes:
    """A photo-sized JPEG: white with a red top-left quadrant and a little texture."""
    width, height = size
    pixels = np.full((height, width, 3), 255, np.uint8)
    pixels[: height // 2, : width // 2] = RED
    pixels[height // 2 :, :, 1] = np.linspace(0, 255, width, dtype=np.uint8)
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    return encode(Image.fromarray(pixels), "JPEG", quality=90, exif=exif)


@pytest.fixture(scope="module")
def photo_12mp() -> bytes:
    return quadrant_jpeg((4000, 3000))


# --- API surface ---------------------------------------------------------------------


def test_supported_extensions_exact() -> None:
    expected = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    assert expected | {".heic", ".heif"} == SUPPORTED_EXTENSIONS


def test_allowed_formats_whitelist_never_ghostscript() -> None:
    assert {"JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"} <= set(ALLOWED_FORMATS)
    assert not {"EPS", "PS", "PDF"} & set(ALLOWED_FORMATS)


def test_enable_heif_is_idempotent_and_registers() -> None:
    first = enable_heif()
    assert enable_heif() is first
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        assert first is False
    else:
        assert first is True
        assert "HEIF" in ALLOWED_FORMATS
        assert "HEIF" in Image.OPEN


def test_min_side_must_be_positive() -> None:
    with pytest.raises(ValueError):
        decode_for_model(b"x", min_side=0)


def test_rejection_reason_is_str_and_attribute() -> None:
    with pytest.raises(ImageRejected) as caught:
        decode_for_model(b"")
    assert caught.value.reason == str(caught.value) == "empty file"


# --- bad input ------------------------------------------------------------------------


def test_corpus_expectations_cover_every_file(corpus: tuple[Path, dict[str, str]]) -> None:
    _, expected = corpus
    rejected = {name for name, kind in expected.items() if kind == REJECTED}
    assert rejected == set(EXPECTED_REASONS)
    assert set(expected.values()) == {REJECTED, ACCEPTED}


@pytest.mark.parametrize("name", sorted(EXPECTED_REASONS))
def test_bad_file_rejected_with_meaningful_reason(corpus: tuple[Path, dict[str, str]], name: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        load(corpus, name)
    assert EXPECTED_REASONS[name] in caught.value.reason


def test_every_accepted_file_decodes_to_rgb(corpus: tuple[Path, dict[str, str]]) -> None:
    _, expected = corpus
    for name in (n for n, kind in expected.items() if kind == ACCEPTED):
        decoded = load(corpus, name)
        assert decoded.image.mode == "RGB", name
        assert min(decoded.image.size) >= 1, name
        decoded.image.tobytes()  # usable after the source file object was closed


def test_eps_is_never_handed_to_the_eps_plugin(
    corpus: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: calls.append("eps"))
    for name in ("vector.jpg", "vector_dos.tif"):
        with pytest.raises(ImageRejected, match="not a supported image format"):
            load(corpus, name)
    assert calls == []


def test_bomb_reason_names_the_limit(corpus: tuple[Path, dict[str, str]]) -> None:
    with pytest.raises(ImageRejected) as caught:
        load(corpus, "bomb.png")
    assert caught.value.reason == "image too large: 900 MP (limit 200 MP)"


def test_header_size_check_works_without_pil_limit(
    corpus: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageRejected) as caught:
        load(corpus, "bomb.png")
    assert caught.value.reason == "image too large: 30000x30000 pixels (limit 200 MP)"


def test_header_size_check_uses_max_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100 * 100 - 1)
    with pytest.raises(ImageRejected, match="too large: 100x100"):
        decode_for_model(encode(Image.new("RGB", (100, 100)), "PNG"))
    assert MAX_PIXELS == 200_000_000


def test_global_warning_filters_left_untouched(corpus: tuple[Path, dict[str, str]]) -> None:
    before = list(warnings.filters)
    for name in ("bomb.png", "bomb_moderate.png", "text.png"):
        with pytest.raises(ImageRejected):
            load(corpus, name)
    load(corpus, "tiny.png")
    assert warnings.filters == before


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    out = [data[: rng.randrange(1, len(data))] for _ in range(6)]
    for _ in range(6):
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 12)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        out.append(bytes(buf))
    return out


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
def test_mangled_files_only_ever_raise_image_rejected(fmt: str) -> None:
    rng = random.Random(fmt)
    data = encode(Image.new("RGB", (48, 32), (10, 200, 30)), fmt)
    for variant in _mutations(data, rng):
        try:
            result = decode_for_model(variant)
        except ImageRejected as exc:
            assert exc.reason
        else:
            assert result.image.mode == "RGB"


# --- awkward but valid input ----------------------------------------------------------


@pytest.mark.parametrize("name", ["gray16.png", "gray16.tif"])
def test_16bit_grey_is_scaled_not_clipped(corpus: tuple[Path, dict[str, str]], name: str) -> None:
    image = load(corpus, name).image
    assert close(image.getpixel((0, 0)), GREY, 1)  # 32896 -> 128, not 255
    assert image.getpixel((63, 0)) == (255, 255, 255)


def test_16bit_rgb_is_scaled(corpus: tuple[Path, dict[str, str]]) -> None:
    assert close(load(corpus, "rgb16.png").image.getpixel((0, 0)), (255, 128, 0), 1)


def test_mode_i_with_16bit_samples_is_divided_by_257() -> None:
    img = Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.int32))
    assert img.mode == "I"
    image = decode_for_model(encode(img, "TIFF")).image
    assert [image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_float_image_is_scaled_by_its_range() -> None:
    img = Image.fromarray(np.array([[-5.0, 0.0, 5.0]], dtype=np.float32))
    assert img.mode == "F"
    image = decode_for_model(encode(img, "TIFF")).image
    assert [image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


@pytest.mark.parametrize("name", ["rgba.png", "transparent.gif"])
def test_transparency_composited_on_white(corpus: tuple[Path, dict[str, str]], name: str) -> None:
    image = load(corpus, name).image
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((image.width - 1, 0)) == BLUE


def test_la_and_keyed_transparency_on_white() -> None:
    la = halves((8, 4), "LA", (0, 0), (0, 255))  # transparent black, then opaque black
    decoded = decode_for_model(encode(la, "PNG")).image
    assert (decoded.getpixel((0, 0)), decoded.getpixel((7, 0))) == (WHITE, (0, 0, 0))
    keyed = Image.new("RGB", (8, 4), RED)
    data = encode(keyed, "PNG", transparency=RED)
    assert decode_for_model(data).image.getpixel((0, 0)) == WHITE


def test_cmyk_colours_exactly_right(corpus: tuple[Path, dict[str, str]]) -> None:
    # Flat halves on 8x8-block boundaries keep only DC terms, which quality 75 quantizes
    # exactly (8 * (0 - 128) and 8 * (255 - 128) are multiples of its step, 8): lossless here.
    image = load(corpus, "cmyk.jpg").image
    assert image.getpixel((4, 16)) == RED
    assert image.getpixel((60, 16)) == BLUE


# LAB (136, 208, 195) is L* 53.3, a* 80, b* 67; through CIELAB D50 (the ICC PCS) and the ICC
# sRGB matrix by hand it is sRGB (250.7, -2.9 -> 0, 7.6). LittleCMS's 8-bit transform
# interpolates a precalculated table: within 4 of that (lossless TIFF: nothing else moves).
@pytest.mark.parametrize(("mode", "colour", "expected", "tolerance"), [
    ("LAB", (136, 208, 195), (251, 0, 8), 4), ("CMYK", (0, 0, 0, 0), WHITE, 0)])
def test_other_colour_spaces_converted(mode: str, colour: tuple[int, ...],
                                       expected: tuple[int, int, int], tolerance: int) -> None:
    image = decode_for_model(encode(Image.new(mode, (4, 4), colour), "TIFF")).image
    assert close(image.getpixel((0, 0)), expected, tolerance)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB"])
def test_simple_modes_become_rgb(mode: str) -> None:
    img = Image.new("RGB", (20, 10), WHITE).convert(mode)
    image = decode_for_model(encode(img, "PNG")).image
    assert (image.mode, image.size, image.getpixel((3, 3))) == ("RGB", (20, 10), WHITE)


@pytest.mark.parametrize("name", ["animated.gif", "animated.png", "animated.webp"])
def test_animated_first_frame(corpus: tuple[Path, dict[str, str]], name: str) -> None:
    assert close(load(corpus, name).image.getpixel((16, 16)), RED, 4)


def test_exif_orientation_6_rotates_and_swaps_size(corpus: tuple[Path, dict[str, str]]) -> None:
    decoded = load(corpus, "rotated.jpg")
    assert (decoded.width, decoded.height) == (300, 400)
    assert decoded.image.size == (300, 400)
    assert close(decoded.image.getpixel((225, 100)), RED, 8)  # stored top-left -> top-right
    assert close(decoded.image.getpixel((75, 100)), WHITE, 8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_match_pillow_exif_transpose(orientation: int) -> None:
    img = Image.new("RGB", (40, 30), WHITE)
    img.paste(RED, (0, 0, 20, 15))
    img.paste(BLUE, (30, 20, 40, 30))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    data = encode(img, "PNG", exif=exif)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    decoded = decode_for_model(data)
    assert decoded.image.tobytes() == expected.tobytes()
    assert (decoded.width, decoded.height) == expected.size


@pytest.mark.parametrize("fmt", ["WEBP", "TIFF"])
def test_orientation_outside_jpeg(fmt: str) -> None:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    img = Image.new("RGB", (40, 30), WHITE)
    img.paste(RED, (0, 0, 20, 15))
    decoded = decode_for_model(encode(img, fmt, exif=exif, lossless=True))
    assert (decoded.width, decoded.height, decoded.image.size) == (30, 40, (30, 40))
    assert decoded.image.getpixel((25, 5)) == RED


def test_png_bytes_with_jpg_name_accepted(corpus: tuple[Path, dict[str, str]]) -> None:
    decoded = load(corpus, "png_named.jpg")
    assert (decoded.width, decoded.height, decoded.image.getpixel((5, 5))) == (40, 30, GREEN)


def test_tiny_and_panorama_never_upscaled(corpus: tuple[Path, dict[str, str]]) -> None:
    assert load(corpus, "tiny.png").image.size == (1, 1)
    panorama = load(corpus, "panorama.jpg")
    assert panorama.image.size == (panorama.width, panorama.height) == (2000, 100)


# --- reduction ------------------------------------------------------------------------


def test_12mp_jpeg_uses_dct_scaling(photo_12mp: bytes) -> None:
    decoded = decode_for_model(photo_12mp, min_side=224)
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert decoded.image.size == (500, 375)  # exactly 1/8 DCT scale: proves draft was used
    assert close(decoded.image.getpixel((100, 80)), RED, 12)


@pytest.mark.parametrize(("min_side", "size"), [(224, (500, 375)), (400, (1000, 750))])
def test_jpeg_short_side_within_bounds(photo_12mp: bytes, min_side: int, size: tuple) -> None:
    image = decode_for_model(photo_12mp, min_side=min_side).image
    assert image.size == size
    assert min_side <= min(image.size) < 2 * min_side


def test_draft_respects_orientation() -> None:
    decoded = decode_for_model(quadrant_jpeg((4000, 3000), orientation=6))
    assert (decoded.width, decoded.height) == (3000, 4000)
    assert decoded.image.size == (375, 500)
    assert close(decoded.image.getpixel((300, 100)), RED, 12)


def test_progressive_and_mpo_jpegs_use_dct_scaling() -> None:
    progressive = encode(Image.new("RGB", (4000, 3000), GREEN), "JPEG", progressive=True)
    frames = [Image.new("RGB", (4000, 3000), colour) for colour in (RED, BLUE)]
    mpo = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    for data, colour in ((progressive, GREEN), (mpo, RED)):
        decoded = decode_for_model(data)
        assert (decoded.width, decoded.height, decoded.image.size) == (4000, 3000, (500, 375))
        assert close(decoded.image.getpixel((250, 180)), colour, 4)


def test_large_png_is_box_reduced() -> None:
    img = halves((2000, 1500), "RGB", RED, BLUE)
    decoded = decode_for_model(encode(img, "PNG", compress_level=1), min_side=224)
    assert (decoded.width, decoded.height) == (2000, 1500)
    assert 224 <= min(decoded.image.size) < 448
    assert decoded.image.getpixel((10, 10)) == RED
    assert decoded.image.getpixel((decoded.image.width - 10, 10)) == BLUE


# --- metadata -------------------------------------------------------------------------


def _jpeg_with_exif(ifd0: dict[int, str], exif_ifd: dict[int, str]) -> bytes:
    exif = Image.Exif()
    exif.update(ifd0)
    exif.get_ifd(EXIF_IFD_TAG).update(exif_ifd)
    return encode(Image.new("RGB", (8, 8)), "JPEG", exif=exif)


def test_taken_at_from_datetime_original(corpus: tuple[Path, dict[str, str]]) -> None:
    expected = datetime(2021, 6, 15, 14, 30).timestamp()  # naive -> local time
    assert load(corpus, "rotated.jpg").taken_at == expected


def test_taken_at_prefers_original_and_honours_offset() -> None:
    data = _jpeg_with_exif(
        {0x0132: "2000:01:01 00:00:00"},
        {DATETIME_ORIGINAL_TAG: "2021:06:15 14:30:00", 0x9011: "+02:00"},
    )
    expected = datetime(2021, 6, 15, 14, 30, tzinfo=timezone(timedelta(hours=2))).timestamp()
    assert decode_for_model(data).taken_at == expected


def test_taken_at_falls_back_to_datetime() -> None:
    data = _jpeg_with_exif({0x0132: "2019:12:31 23:59:58"}, {})
    assert decode_for_model(data).taken_at == datetime(2019, 12, 31, 23, 59, 58).timestamp()


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday"])
def test_taken_at_invalid_is_none(value: str) -> None:
    assert decode_for_model(_jpeg_with_exif({}, {DATETIME_ORIGINAL_TAG: value})).taken_at is None


def test_taken_at_absent_is_none(corpus: tuple[Path, dict[str, str]]) -> None:
    assert load(corpus, "png_named.jpg").taken_at is None


# --- HEIF and concurrency -------------------------------------------------------------


def test_heic_round_trip() -> None:
    if not enable_heif():
        pytest.skip("pillow-heif not available")
    try:
        data = encode(halves((640, 480), "RGB", RED, BLUE), "HEIF", quality=90)
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"pillow-heif cannot encode here: {exc}")
    decoded = decode_for_model(data, min_side=224)
    assert (decoded.width, decoded.height) == (640, 480)
    assert 224 <= min(decoded.image.size) <= 480
    # Lossy, but a flat area far from the edge only meets 8-bit YCbCr rounding (seen: 1);
    # a limited/full range mix-up would be 16-20 off.
    assert close(decoded.image.getpixel((10, 10)), RED, 3)
    assert close(decoded.image.getpixel((decoded.image.width - 10, 10)), BLUE, 3)


def test_concurrent_decoding_matches_serial(corpus: tuple[Path, dict[str, str]]) -> None:
    folder, expected = corpus
    names = sorted(expected)
    inputs = [(folder / name).read_bytes() for name in names]
    inputs += [quadrant_jpeg((1200 + 40 * i, 900)) for i in range(20)]

    def attempt(data: bytes) -> bytes | str:
        try:
            return decode_for_model(data).image.tobytes()
        except ImageRejected as exc:
            return exc.reason

    serial = [attempt(data) for data in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(attempt, inputs * 2))
    assert parallel == serial * 2
    accepted = list(expected.values()).count(ACCEPTED)
    assert sum(isinstance(result, bytes) for result in serial) == 20 + accepted


def test_accepts_memoryview_input() -> None:
    data = io.BytesIO()
    Image.new("RGB", (4, 4), GREEN).save(data, "PNG")
    assert decode_for_model(data.getbuffer()).image.getpixel((0, 0)) == GREEN
