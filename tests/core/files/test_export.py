"""Copies for elsewhere: originals copied with their dates, resized JPEGs upright and
over white, and never a file overwritten in the target folder."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from photoclip.core.files.export import copy_originals, export_resized, free_name


def test_originals_are_copied_with_their_dates_and_no_name_is_overwritten(tmp_path: Path) -> None:
    source = tmp_path / "IMG_1.jpg"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(source)
    os.utime(source, (1_600_000_000, 1_600_000_000))
    target = tmp_path / "out"
    first = copy_originals([source], target)
    second = copy_originals([source], target)
    assert [p.name for p in first + second] == ["IMG_1.jpg", "IMG_1 (2).jpg"]
    assert first[0].read_bytes() == second[0].read_bytes() == source.read_bytes()
    assert first[0].stat().st_mtime == 1_600_000_000
    assert free_name(target, "IMG_1.jpg").name == "IMG_1 (3).jpg"


def test_resized_jpegs_are_bounded_upright_and_transparency_is_white(tmp_path: Path) -> None:
    wide = tmp_path / "wide.png"
    Image.new("RGBA", (3000, 1000), (0, 0, 0, 0)).save(wide)
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees: 1200 x 1600 upright
    Image.new("RGB", (1600, 1200), (10, 200, 10)).save(turned, exif=exif.tobytes())
    out = export_resized([wide, turned], tmp_path / "export", long_side=800)
    images = [Image.open(p) for p in out]
    assert [p.name for p in out] == ["wide.jpg", "turned.jpg"]
    assert [im.size for im in images] == [(800, 267), (600, 800)]
    assert images[0].getpixel((5, 5)) == (255, 255, 255)
    assert wide.stat().st_size and turned.exists()  # the photos themselves untouched
