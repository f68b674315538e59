"""The text pass: resumable, cancellable, crash-safe, each photo read once (fake reader)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core import text_pass
from photoclip.core.files.ocr import PhotoText, TextLine
from photoclip.core.library import Library, LibraryError
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings, SettingsError, load_settings
from tests.fakes import FakeEncoder
from tests.synthetic import draw_picture

ENGINE = "fake-ocr 1"


class FakeReader:
    """Reads one line, "seen WxH", from each photo; raises after ``fail_after`` reads."""

    engine = ENGINE

    def __init__(self, fail_after: int | None = None, empty: bool = False) -> None:
        self.reads: list[tuple[int, int]] = []
        self.fail_after = fail_after
        self.empty = empty

    def read(self, image: Image.Image, full: Callable[[], Image.Image] | None = None) -> PhotoText:
        image = image if full is None or self.empty else full()  # as TextReader: full once text is seen
        if self.fail_after is not None and len(self.reads) >= self.fail_after:
            raise RuntimeError("killed")
        self.reads.append(image.size)
        box = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
        lines = () if self.empty else (TextLine(f"seen {image.width}", box, 0.9),)
        return PhotoText(lines=lines, engine=ENGINE, size=image.size)


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Library:
    monkeypatch.setattr(text_pass, "BATCH", 2)
    photos = tmp_path / "photos"
    photos.mkdir()
    for index, colour in enumerate(("red", "green", "red", "green", "red")):
        draw_picture(colour, "circle", random.Random(index), (300, 200)).save(
            photos / f"{colour}{index}.png")
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                  Settings(decode_workers=1), encoder=FakeEncoder(), text_reader=FakeReader())
    lib.add_folder(photos)
    lib.index_photos()
    return lib


def reader_of(library: Library) -> FakeReader:
    assert isinstance(library.text_reader, FakeReader)
    return library.text_reader


def test_reads_every_photo_once_and_resumes_after_a_batch(library: Library) -> None:
    assert library.read_text(batches=1) == 2
    assert library.catalog.count_missing_text(ENGINE) == 3
    seen: list[tuple[int, int]] = []
    assert library.read_text(progress=lambda done, total: seen.append((done, total))) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert library.read_text() == 0  # nothing read twice
    assert len(reader_of(library).reads) == 5
    stored = library.text_of([p.id for p in library.newest()])
    assert sorted(s.lines[0][0] for s in stored.values()) == ["seen 300"] * 5
    assert next(iter(stored.values())).engine == ENGINE


def test_a_photo_without_text_is_not_read_again(library: Library) -> None:
    library.text_reader = FakeReader(empty=True)
    assert library.read_text() == 5
    assert library.read_text() == 0
    assert len(reader_of(library).reads) == 5
    assert all(s.lines == [] for s in library.text_of([p.id for p in library.newest()]).values())


def test_boxes_are_stored_as_fractions_of_the_picture(library: Library) -> None:
    library.read_text()
    stored = library.text_of([library.newest()[0].id])
    (_, box, _), = next(iter(stored.values())).lines
    assert box == ((0.0, 0.0), (10 / 300, 0.0), (10 / 300, 5 / 200), (0.0, 5 / 200))  # 300 x 200 photos


class SizeNotingReader:
    """Notes the size it probes and the size it reads text from (text only in "sign")."""

    engine = ENGINE

    def __init__(self) -> None:
        self.sizes: list[tuple[str, tuple[int, int]]] = []

    def read(self, image: Image.Image, full: Callable[[], Image.Image] | None = None) -> PhotoText:
        self.sizes.append(("probe", image.size))
        if image.getpixel((0, 0)) != (255, 255, 255) or full is None:  # only the white one has text
            return PhotoText((), ENGINE, image.size)
        image = full()
        self.sizes.append(("read", image.size))
        return PhotoText((TextLine("EXIT", ((0.0, 0.0), (8.0, 0.0), (8.0, 4.0), (0.0, 4.0)), 0.9),),
                         ENGINE, image.size)


def test_the_probe_gets_a_small_decode_and_only_text_is_decoded_at_reading_size(
        tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (4800, 3200), (20, 120, 40)).save(photos / "field.jpg", quality=90)
    Image.new("RGB", (4800, 3200), (255, 255, 255)).save(photos / "sign.jpg", quality=90)
    reader = SizeNotingReader()
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                  Settings(decode_workers=1), encoder=FakeEncoder(), text_reader=reader)
    lib.add_folder(photos)
    lib.index_photos()
    assert lib.read_text() == 2
    probes = [size for kind, size in reader.sizes if kind == "probe"]
    reads = [size for kind, size in reader.sizes if kind == "read"]
    # JPEG's reduced decode: the probe sees a quarter-size picture, never the full 4800 px;
    # only the photo with text is decoded again, at the reader's working size or above.
    assert len(probes) == 2 and all(640 <= max(size) <= 1200 for size in probes)
    assert len(reads) == 1 and max(reads[0]) >= 2048
    sign = lib.photo_at(photos / "sign.jpg")
    (_, box, _), = lib.text_of([sign.id])[sign.id].lines
    assert box[2] == pytest.approx((8 / reads[0][0], 4 / reads[0][1]))
    lib.close()


def test_cancel_stops_between_photos_and_keeps_what_was_read(library: Library) -> None:
    cancel = threading.Event()
    assert library.read_text(progress=lambda done, total: cancel.set(), cancel=cancel) == 1
    assert library.catalog.count_missing_text(ENGINE) == 4


def test_an_unreadable_file_is_skipped_this_run_and_read_next_run(library: Library) -> None:
    newest = library.newest()[0]
    newest.path.rename(newest.path.with_suffix(".gone"))
    assert library.read_text() == 4
    assert library.text_of([newest.id]) == {}
    newest.path.with_suffix(".gone").rename(newest.path)
    assert library.read_text() == 1
    assert newest.id in library.text_of([newest.id])


def test_a_crash_loses_only_the_batch_in_flight(library: Library) -> None:
    library.text_reader = FakeReader(fail_after=3)  # dies on the 2nd photo of the 2nd batch
    with pytest.raises(RuntimeError, match="killed"):
        library.read_text()
    assert library.catalog.count_missing_text(ENGINE) == 3  # the first batch was saved
    library.text_reader = FakeReader()
    assert library.read_text() == 3


def test_ocr_all_without_the_extra_is_an_error_and_off_reads_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_pass, "ocr_available", lambda: False)
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    with Library(paths, Settings(ocr="all"), encoder=FakeEncoder()) as lib, \
            pytest.raises(LibraryError, match='"ocr" extra'):
        lib.read_text()
    with Library(paths, Settings(ocr="off"), encoder=FakeEncoder()) as lib:
        assert lib.text_reader is None and lib.read_text() == 0




def test_the_ocr_setting_is_checked(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ocr must be one of auto, all, off, not 'sometimes'"):
        Settings(ocr="sometimes").validate()
    file = tmp_path / "settings.toml"
    file.write_text('ocr = "off"\n')
    assert load_settings(file).ocr == "off"
