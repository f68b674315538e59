"""XMP sidecars under faults: photos sharing a stem, a stem that becomes shared, damaged sidecars.

Each case runs through the Library with the tiny CLIP model, and what lands on disk is read back
with exiv2 itself (pyexiv2), not with the code under test. The promise: a sidecar belongs to one
photo (its keywords never become another photo's tags), and a sidecar PhotoClip cannot parse is
never rewritten (the user's other data in it survives), while indexing and tagging go on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import pyexiv2
import pytest

from photoclip.core.files.xmp import FolderPhotos, existing_sidecar, read_keywords, write_sidecar_tags
from photoclip.core.library import Library
from photoclip.core.models import PhotoState
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.synthetic import draw_picture

STYLES = ("photo.jpg.xmp", "photo.xmp")

# A sidecar another tool wrote, with data besides keywords (a rating, a title, an edit history).
OTHER_TOOL = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="4"
   darktable:history_end="1">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Eiffel</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>{keyword}</rdf:li></rdf:Bag></dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="00000000"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _picture(path: Path, colour: str, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    draw_picture(colour, "circle", random.Random(seed), (64, 64)).save(path, fmt)
    return path.resolve()


def _subjects(sidecar: Path) -> list[str]:
    """dc:subject as exiv2 reads it (the independent reader)."""
    with pyexiv2.ImageData(sidecar.read_bytes()) as img:
        value = img.read_xmp().get("Xmp.dc.subject", [])
    return [value] if isinstance(value, str) else list(value)


def _names(library: Library, photo: Path) -> list[str]:
    return sorted(t.name for t in library.tags(photo))


@pytest.fixture
def open_library(tmp_path: Path, tiny_model_spec: str) -> Iterator:
    opened: list[Library] = []

    def open_(style: str = "photo.jpg.xmp") -> Library:
        settings = Settings(model=tiny_model_spec, label_sets=[], batch_size=8, decode_workers=2,
                            xmp_sidecars=True, xmp_sidecar_style=style)
        library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), settings)
        library.add_folder(tmp_path / "photos")
        opened.append(library)
        return library

    yield open_
    for library in opened:
        library.close()


# --- photos with the same stem ---------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_photos_sharing_a_stem_never_share_a_sidecar(tmp_path: Path, open_library, style: str) -> None:
    folder = tmp_path / "photos"
    jpg = _picture(folder / "IMG_0001.jpg", "red", 1)
    png = _picture(folder / "IMG_0001.png", "blue", 2)
    lightroom = folder / "IMG_0001.xmp"  # whose? Lightroom's for one of them, no telling which
    lightroom.write_text(OTHER_TOOL.format(keyword="lightroom"), encoding="utf-8")
    before = lightroom.read_bytes()
    library = open_library(style)
    library.index_photos()
    assert _names(library, jpg) == [] and _names(library, png) == []

    library.organizer.add_tags(jpg, ["alice"])
    _picture(png, "green", 3)  # the PNG is edited: indexed again, its keywords read again
    library.index_photos()
    library.organizer.add_tags(png, ["bob"])

    assert _names(library, jpg) == ["alice"] and _names(library, png) == ["bob"]
    assert _subjects(folder / "IMG_0001.jpg.xmp") == ["alice"]
    assert _subjects(folder / "IMG_0001.png.xmp") == ["bob"]
    assert lightroom.read_bytes() == before  # never written: it may be the other photo's


def test_stems_are_compared_in_any_case_and_with_names_that_hold_a_dot(tmp_path: Path) -> None:
    upper = _picture(tmp_path / "IMG_0002.JPG", "red", 1)
    lower = _picture(tmp_path / "img_0002.png", "blue", 2)
    plain = _picture(tmp_path / "a.jpg", "red", 3)
    dotted = _picture(tmp_path / "a.jpg.png", "blue", 4)  # its photo.xmp is a.jpg's photo.jpg.xmp
    alone = _picture(tmp_path / "solo.jpg", "red", 5)
    folder = FolderPhotos(tmp_path)
    assert folder.shares_stem(upper) and folder.shares_stem(lower) and folder.shares_stem(dotted)
    assert not folder.shares_stem(plain) and not folder.shares_stem(alone)

    write_sidecar_tags(plain, ["plain"], style="photo.xmp")
    assert write_sidecar_tags(dotted, ["dotted"], style="photo.xmp") == tmp_path / "a.jpg.png.xmp"
    assert read_keywords(plain) == ["plain"] and read_keywords(dotted) == ["dotted"]
    assert write_sidecar_tags(alone, ["solo"], style="photo.xmp") == tmp_path / "solo.xmp"


def test_a_stem_that_becomes_shared_later(tmp_path: Path, open_library) -> None:
    folder = tmp_path / "photos"
    jpg = _picture(folder / "IMG_0001.jpg", "red", 1)
    library = open_library("photo.xmp")
    library.index_photos()
    library.organizer.add_tags(jpg, ["alice"])
    lightroom = folder / "IMG_0001.xmp"
    assert _subjects(lightroom) == ["alice"]  # one photo of that stem: Lightroom's naming holds
    written = lightroom.read_bytes()

    png = _picture(folder / "IMG_0001.png", "blue", 2)  # a second photo takes the stem
    library.index_photos()
    assert _names(library, png) == []  # the shared sidecar is not read into the newcomer
    library.organizer.add_tags(jpg, ["bob"])  # the old photo moves to its own sidecar
    library.organizer.add_tags(png, ["carol"])
    assert _subjects(folder / "IMG_0001.jpg.xmp") == ["alice", "bob"]
    assert _subjects(folder / "IMG_0001.png.xmp") == ["carol"]
    assert lightroom.read_bytes() == written  # left as it was: never deleted, never written again

    _picture(jpg, "yellow", 3)  # both edited: their keywords are read again from their own sidecars
    _picture(png, "green", 4)
    library.index_photos()
    assert _names(library, jpg) == ["alice", "bob"] and _names(library, png) == ["carol"]
    assert existing_sidecar(jpg) == folder / "IMG_0001.jpg.xmp"


# --- damaged sidecars --------------------------------------------------------------------------


def _damaged(kind: str) -> bytes:
    whole = OTHER_TOOL.format(keyword="theirs").encode()
    if kind == "zero-length":
        return b""
    if kind.startswith("truncated"):
        return whole[: int(len(whole) * float(kind.split("-")[1]))]
    flipped = bytearray(whole)  # same size, one byte flipped (not UTF-8 any more)
    flipped[int(len(whole) * float(kind.split("-")[1]))] ^= 0xFF
    return bytes(flipped)


DAMAGE = ("zero-length", "truncated-0.05", "truncated-0.5", "truncated-0.99",
          "flipped-0.02", "flipped-0.3", "flipped-0.6", "flipped-0.97")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_sidecar_is_skipped_and_never_rewritten(
    tmp_path: Path, open_library, caplog: pytest.LogCaptureFixture, kind: str, style: str
) -> None:
    photo = _picture(tmp_path / "photos" / "IMG_0003.jpg", "red", 1)
    sidecar = photo.parent / ("IMG_0003.jpg.xmp" if style == "photo.jpg.xmp" else "IMG_0003.xmp")
    damaged = _damaged(kind)
    sidecar.write_bytes(damaged)
    library = open_library(style)

    def lines() -> list[str]:  # what was said about the sidecar since the last call
        said = [r.getMessage() for r in caplog.records if str(sidecar) in r.getMessage()]
        caplog.clear()
        assert all("\n" not in line for line in said)
        return said

    with caplog.at_level(logging.WARNING, logger="photoclip"):
        library.index_photos()  # its keywords are read (skipped), its owner's tags written (refused)
        assert library.photo_at(photo).state == PhotoState.INDEXED and _names(library, photo) == []
        indexing = lines()
        library.organizer.add_tags(photo, ["holiday"])  # tagging goes on: the catalog has it
        tagging = lines()
    assert _names(library, photo) == ["holiday"]
    assert indexing and all(line.startswith("Cannot read keywords") for line in indexing[:1])
    if kind == "zero-length":  # nothing in it to lose: it becomes a sidecar of the photo's tags
        assert len(indexing) == 1 and tagging == [] and _subjects(sidecar) == ["holiday"]
        assert library.organizer.sidecars.failures == []
    else:  # what the user's tool keeps there stays, byte for byte
        assert len(indexing) == 2 and len(tagging) == 1 and sidecar.read_bytes() == damaged
        assert [str(sidecar) in f for f in library.organizer.sidecars.failures] == [True]
    assert sorted(p.name for p in photo.parent.iterdir()) == sorted([photo.name, sidecar.name])
