"""TextReader with the real RapidOCR models (the `ocr` extra): what it reads, where, and when not."""

from __future__ import annotations

import importlib.util
import random

import pytest
from PIL import Image, ImageDraw

from photoclip.core.files import ocr
from tests.ocr_corpus import font, receipt
from tests.synthetic import draw_picture

needs_ocr = pytest.mark.skipif(not ocr.ocr_available(), reason=f"OCR engine missing: {ocr.OCR_MISSING}")


@pytest.fixture(scope="module")
def reader() -> ocr.TextReader:
    return ocr.TextReader()


def _screen() -> Image.Image:
    image = Image.new("RGB", (800, 400), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.text((30, 30), "Network settings", font=font(32), fill=(20, 20, 20))
    draw.text((30, 120), "Wi-Fi password: hunter2", font=font(26), fill=(20, 20, 20))
    draw.text((30, 200), "Rua Augusta 42, São Paulo", font=font(26), fill=(20, 20, 20))
    draw.text((30, 280), "Größe Straße café élève", font=font(22), fill=(20, 20, 20))
    return image


@needs_ocr
def test_clean_screenshot_is_read_word_for_word(reader: ocr.TextReader) -> None:
    result = reader.read(_screen())
    assert [line.text for line in result.lines] == [
        "Network settings", "Wi-Fi password: hunter2", "Rua Augusta 42, São Paulo", "Größe Straße café élève",
    ]
    assert all(line.confidence >= ocr.MIN_CONFIDENCE for line in result.lines)
    assert result.engine.startswith("rapidocr 3.")


@needs_ocr
def test_receipt_total_is_read(reader: ocr.TextReader) -> None:
    sample = receipt(random.Random(5))
    total = sample.words[sample.words.index("TOTAL") + 1]
    lines = {line.text: line for line in reader.read(sample.image).lines}
    # The label and the amount, far apart on the till roll, are read as two lines of one row.
    assert "TOTAL" in lines and total in lines
    assert abs(_centre_y(lines["TOTAL"]) - _centre_y(lines[total])) < 10


def _centre_y(line: ocr.TextLine) -> float:
    return sum(y for _, y in line.box) / len(line.box)


@needs_ocr
def test_picture_without_text_gives_no_lines(reader: ocr.TextReader) -> None:
    image = draw_picture("red", "circle", random.Random(3), size=(640, 480))
    assert reader.read(image).lines == ()


@needs_ocr
def test_boxes_are_in_the_original_images_pixels(reader: ocr.TextReader) -> None:
    # Wider than MAX_SIDE, so the reader scales the photo down and the boxes back up.
    image = Image.new("RGB", (3600, 900), (255, 255, 255))
    ImageDraw.Draw(image).text((2400, 500), "Bahnhof", font=font(90), fill=(0, 0, 0))
    left, top, right, bottom = ImageDraw.Draw(image).textbbox((2400, 500), "Bahnhof", font=font(90))
    (line,) = reader.read(image).lines
    xs, ys = [x for x, _ in line.box], [y for _, y in line.box]
    assert line.text == "Bahnhof"
    assert min(xs) <= left and max(xs) >= right and min(ys) <= top and max(ys) >= bottom
    assert max(xs) - min(xs) < 1.3 * (right - left) and max(ys) - min(ys) < 2 * (bottom - top)


@needs_ocr
def test_the_probe_skips_recognition_when_it_finds_no_text(
    reader: ocr.TextReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapidocr import RapidOCR

    calls: list[tuple[bool, int]] = []  # (recognises?, long side handed to the engine)
    run = RapidOCR.__call__

    def counting(self: RapidOCR, image: Image.Image, *args: object, **kwargs: object) -> object:
        calls.append((bool(self.use_rec), max(image.size)))
        return run(self, image, *args, **kwargs)

    monkeypatch.setattr(RapidOCR, "__call__", counting)
    assert reader.read(Image.new("RGB", (3000, 2000), (90, 140, 200))).lines == ()
    assert calls == [(False, ocr.PROBE_SIDE)]
    calls.clear()
    reader.read(_screen())
    assert calls == [(False, ocr.PROBE_SIDE), (True, 800)]


def test_without_the_extra_ocr_is_unavailable_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "rapidocr" else real_find_spec(name, *a))
    assert ocr.ocr_available() is False
    assert ocr.OCR_MISSING == 'Reading text in photos needs the "ocr" extra: pip install "photoclip[ocr]"'
    with pytest.raises(ocr.OcrUnavailable, match='"ocr" extra'):
        ocr.TextReader().read(Image.new("RGB", (10, 10)))
