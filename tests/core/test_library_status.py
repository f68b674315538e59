"""What a run records for status and the model picker: the rate reached on this computer."""

from __future__ import annotations

import random
from pathlib import Path

from photoclip.core.clip.known_models import rate_key
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import draw_picture


def library_with(tmp_path: Path, count: int) -> Library:
    photos = tmp_path / "photos"
    photos.mkdir(parents=True)
    for n in range(count):
        draw_picture("red", "circle", random.Random(n), (48, 48)).save(photos / f"p{n}.png")
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), Settings(decode_workers=1),
                  encoder=FakeEncoder())
    lib.add_folder(photos)
    return lib


def test_a_run_of_enough_photos_records_its_rate_and_a_short_one_does_not(tmp_path: Path) -> None:
    short = library_with(tmp_path / "short", 5)
    short.index_photos()
    assert short.catalog.get_meta(rate_key(short.encoder.model_id)) is None  # too few to measure
    long = library_with(tmp_path / "long", 40)
    long.index_photos()
    assert float(long.catalog.get_meta(rate_key(long.encoder.model_id))) > 0
    short.close()
    long.close()
