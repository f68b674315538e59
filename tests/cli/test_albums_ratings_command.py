"""`photoclip album`, `rate` and `favourite` (tiny real model): albums of one's own in
their order, ratings and hearts carried by search --json, the Favourites album, and a
rating written to an XMP sidecar when sidecars are on and read back from one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from photoclip.core.files.xmp import read_rating
from tests.cli.conftest import Cli
from tests.synthetic import draw_picture

pytestmark = pytest.mark.model


@pytest.fixture
def photos(cli: Cli, tmp_path: Path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for n, (colour, shape) in enumerate((("red", "circle"), ("blue", "square"), ("green", "triangle"))):
        path = folder / f"p{n}.jpg"
        draw_picture(colour, shape, random.Random(n), (160, 120)).save(path, quality=90)
        paths.append(path)
    cli.run("add", str(folder))
    cli.run("index")
    return paths


def test_albums_keep_their_order_and_a_photo_may_be_in_several(cli: Cli, photos: list[Path]) -> None:
    cli.run("album", "create", "Trip")
    cli.run("album", "create", "Best")
    assert cli.run("album", "add", "trip", str(photos[2]), str(photos[0])).stdout.startswith("2 photos added")
    cli.run("album", "add", "Trip", str(photos[2]), str(photos[1]))  # the one already in stays put
    cli.run("album", "add", "Best", str(photos[2]))
    assert cli.json("album", "list") == [
        {"name": "Best", "paths": [str(photos[2])]},
        {"name": "Trip", "paths": [str(photos[2]), str(photos[0]), str(photos[1])]}]
    cli.run("album", "remove", "Trip", str(photos[0]))
    assert cli.json("album", "list")[1]["paths"] == [str(photos[2]), str(photos[1])]
    assert {h["path"] for h in cli.json("search", "--album", "Trip")} == {str(photos[2]), str(photos[1])}
    taken = cli.run("album", "create", "TRIP", check=False)
    assert taken.returncode == 1 and "already an album named 'TRIP'" in taken.stderr
    missing = cli.run("album", "add", "Nowhere", str(photos[0]), check=False)
    assert missing.returncode == 1 and "no album named 'Nowhere'" in missing.stderr
    cli.run("album", "delete", "Trip")
    assert [a["name"] for a in cli.json("album", "list")] == ["Best"]
    assert all(p.exists() for p in photos)


def test_ratings_and_favourites_travel_with_search_hits(cli: Cli, photos: list[Path]) -> None:
    cli.run("rate", str(photos[0]), "4")
    cli.run("favourite", str(photos[1]))
    marks = {Path(h["path"]).name: (h["favourite"], h["rating"]) for h in cli.json("search", "a photo")}
    assert marks == {"p0.jpg": (False, 4), "p1.jpg": (True, 0), "p2.jpg": (False, 0)}
    assert [h["path"] for h in cli.json("search", "--album", "Favourites")] == [str(photos[1])]
    cli.run("favourite", str(photos[1]), "--unset")
    assert cli.run("search", "--album", "Favourites", check=False).returncode == 1  # no such album now
    similar = cli.json("similar", str(photos[1]))  # itself left out
    assert {(Path(h["path"]).name, h["rating"]) for h in similar} >= {("p0.jpg", 4)}
    assert cli.run("rate", str(photos[0]), "6", check=False).returncode == 2  # argparse: 0-5


def test_a_rating_goes_into_the_sidecar_when_sidecars_are_on_and_comes_back(
        cli: Cli, photos: list[Path], tmp_path: Path) -> None:
    (cli.home / "config" / "settings.toml").write_text('version = 1\nxmp_sidecars = true\nocr = "off"\n')
    cli.run("rate", str(photos[2]), "5")
    assert read_rating(photos[2]) == 5 and Path(f"{photos[2]}.xmp").exists()
    # Another library reading these photos takes the rating from the sidecar.
    other = Cli(home=tmp_path / "other", model=cli.model, hub_offline=cli.hub_offline)
    other.run("add", str(photos[0].parent))
    other.run("index")
    assert {Path(h["path"]).name: h["rating"] for h in other.json("search", "a photo")}["p2.jpg"] == 5
