"""`photoclip index` reads the text in photos; `photoclip text PHOTO` prints it (real OCR)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from photoclip.core.files.ocr import ocr_available
from tests.cli.conftest import Cli
from tests.ocr_corpus import font

pytestmark = pytest.mark.skipif(not ocr_available(), reason='needs the "ocr" extra')


def screenshot(path: Path) -> None:
    image = Image.new("RGB", (640, 360), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.text((30, 60), "WIFI PASSWORD hunter2", fill=(20, 20, 20), font=font(34))
    draw.text((30, 160), "Rua Augusta Lisboa", fill=(20, 20, 20), font=font(30))
    image.save(path)


def test_index_reads_text_and_text_prints_it(cli: Cli, tmp_path: Path, real_ocr: None) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    screenshot(photos / "screen.png")
    Image.new("RGB", (320, 240), (90, 140, 200)).save(photos / "sky.png")
    cli.run("add", str(photos))
    report = cli.json("index", "--json")
    assert report["text_read"] == 2
    printed = cli.run("text", str(photos / "screen.png")).stdout.split()
    assert {"WIFI", "PASSWORD", "hunter2", "Augusta", "Lisboa"} <= set(printed)
    assert cli.run("text", str(photos / "sky.png")).stdout.strip() == "no text found"
    record = cli.json("text", str(photos / "screen.png"), "--json")
    assert record["read"] is True and record["engine"].startswith("rapidocr ")
    first = record["lines"][0]
    assert first["text"] == "WIFI PASSWORD hunter2" and first["confidence"] > 0.75
    # Boxes are fractions of the picture: the line starts 30 px into the 640 px width.
    assert len(first["box"]) == 4 and 20 / 640 <= first["box"][0][0] <= 40 / 640
    assert cli.json("index", "--json")["text_read"] == 0  # nothing read twice


def test_text_says_when_ocr_is_missing(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("photoclip.core.files.ocr.ocr_available", lambda: False)
    photos = tmp_path / "photos"
    photos.mkdir()
    screenshot(photos / "screen.png")
    cli.run("add", str(photos))
    assert cli.json("index", "--json")["text_read"] == 0
    said = cli.run("text", str(photos / "screen.png")).stdout.strip()
    assert said == 'Reading text in photos needs the "ocr" extra: pip install "photoclip[ocr]"'
    assert cli.json("text", str(photos / "screen.png"), "--json") == {
        "path": str(photos / "screen.png"), "read": False, "engine": None, "text": None, "lines": []}
