"""Sidecars of photos on a drive that is away: tag changes go to the catalog, no sidecar is written.

An unplugged drive leaves its mount point behind as an empty folder; a renamed or
removed folder leaves nothing. Either way the photo's path holds no file, and a
sidecar written there would be a stray file on the mount point (hidden under the
drive once it is back), or an error on every tag change.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import draw_picture

COLOURS = 'name = "colours"\ntemplates = ["a {} thing"]\nlabels = ["red", "green", "blue", "yellow"]\n'


def _sidecars(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*.xmp")}


@pytest.mark.parametrize("away", ["unmounted", "renamed"])
def test_tag_changes_while_the_drive_is_away_write_no_sidecar(tmp_path: Path, away: str) -> None:
    from photoclip.core.files.xmp import read_keywords

    folder = tmp_path / "drive"
    folder.mkdir()
    photos = []
    for n, colour in enumerate(("blue", "red")):
        photos.append(folder / f"{colour}.jpg")
        draw_picture(colour, "circle", random.Random(n), (64, 64)).save(photos[-1], "JPEG")
    folder = folder.resolve()
    sea, rose = (p.resolve() for p in photos)
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    settings = Settings(batch_size=8, decode_workers=1, label_sets=[], xmp_sidecars=True)
    library = Library(paths, settings, encoder=FakeEncoder())  # type: ignore[arg-type]
    try:
        library.add_folder(folder)
        library.index_photos()
        library.organizer.add_tags(sea, ["holiday"])  # online: its sidecar is written
        assert read_keywords(sea) == ["holiday"]
        before = _sidecars(tmp_path)
        assert list(before) == [sea.with_name("blue.jpg.xmp")]

        elsewhere = tmp_path / "drive-elsewhere"
        folder.rename(elsewhere)
        if away == "unmounted":
            folder.mkdir()  # the empty mount point the drive leaves behind
        source = tmp_path / "colours.toml"
        source.write_text(COLOURS, encoding="utf-8")
        sidecars = library.organizer.sidecars

        library.organizer.add_tags(sea, ["beach"])
        assert sidecars.failures == []
        library.organizer.add_tags(rose, ["garden"])  # no sidecar yet: none may be made
        assert sidecars.failures == []
        library.organizer.remove_tags(sea, ["holiday"])
        assert sidecars.failures == []
        library.organizer.tag_library(library.organizer.resolve_label_set(str(source)))
        assert sidecars.failures == []

        # The catalog took every change...
        assert sorted(t.name for t in library.tags(sea)) == ["beach", "blue"]
        assert sorted(t.name for t in library.tags(rose)) == ["garden", "red"]
        # ...and no sidecar was written anywhere: none on the mount point, no folder made
        # where the drive was, the one on the drive untouched.
        if away == "unmounted":
            assert list(folder.iterdir()) == []
        else:
            assert not folder.exists()
        assert _sidecars(tmp_path) == {elsewhere / p.name: data for p, data in before.items()}
    finally:
        library.close()
