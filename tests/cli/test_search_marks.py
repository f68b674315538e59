"""`photoclip search` by the user's marks (tiny real model): --favourite, --no-favourite
and --rating, and the same as favourite: and rating: in the query, alone and beside text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.synthetic import draw_picture

pytestmark = pytest.mark.model


@pytest.fixture
def marked(cli: Cli, tmp_path: Path) -> Cli:
    folder = tmp_path / "photos"
    folder.mkdir()
    for n, (colour, shape) in enumerate((("red", "circle"), ("blue", "square"), ("green", "triangle"),
                                         ("red", "square"))):
        draw_picture(colour, shape, random.Random(n), (160, 120)).save(folder / f"p{n}.jpg", quality=90)
    cli.run("add", str(folder))
    cli.run("index")
    cli.run("rate", str(folder / "p0.jpg"), "4")
    cli.run("rate", str(folder / "p1.jpg"), "2")
    cli.run("favourite", str(folder / "p2.jpg"))
    cli.run("favourite", str(folder / "p0.jpg"))
    return cli


def names(cli: Cli, *args: str) -> set[str]:
    return {Path(hit["path"]).stem for hit in cli.json("search", *args)}


def test_options_and_query_keys_find_the_marked_photos(marked: Cli) -> None:
    assert names(marked, "--rating", "3") == names(marked, "rating:3") == {"p0"}
    assert names(marked, "--rating", "1") == {"p0", "p1"}
    assert names(marked, "--rating", "=0") == names(marked, "rating:=0") == {"p2", "p3"}
    assert names(marked, "--favourite") == names(marked, "fav:yes") == {"p0", "p2"}
    assert names(marked, "--no-favourite", "--rating", "=2") == {"p1"}
    assert names(marked, "a red shape", "--no-favourite") == {"p1", "p3"}
    assert names(marked, "a red shape -favourite:yes rating:=0") == {"p3"}


def test_a_bad_rating_is_one_line(cli: Cli) -> None:
    for args in (("--rating", "7"), ("rating:7",)):
        bad = cli.run("search", *args, check=False)
        assert bad.returncode == 1
        assert bad.stderr.strip().splitlines() == [
            f"photoclip: error: {' '.join(args)}: a rating is 1 to 5 (that many stars or more) or "
            "=0 to =5 (exactly; =0 is unrated), e.g. rating:4"]
    both = cli.run("search", "--favourite", "--no-favourite", check=False)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
