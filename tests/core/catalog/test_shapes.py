"""Each photo's shape as the grid shows it: upright size turned by the user's rotation,
in the library view's order, every photo at once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.shapes import NO_DAY, UNKNOWN_ASPECT
from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.models import PhotoFilter

TAKEN = 1_600_000_000.0
SIZES = {"wide.jpg": (300, 200), "tall.jpg": (200, 400), "square.jpg": (50, 50), "unsized.jpg": (0, 0)}


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    db = Catalog(tmp_path / "catalog.sqlite3")
    folder = db.add_folder(tmp_path)
    db.mark_pending(folder.id, [(tmp_path / name, 5, 7) for name in SIZES])
    by_name = {p.path.name: p for p in db.pending_photos()}
    for taken, (name, (width, height)) in enumerate(SIZES.items()):
        when = None if name == "unsized.jpg" else TAKEN + taken * 86_400.0  # a day apart
        db.record_results([EncodedPhoto(by_name[name].id, f"h{name}", width or None, height or None,
                                        when, np.ones(4, np.float32), "m1")])
    yield db
    db.close()


def _ids(catalog: Catalog) -> dict[str, int]:
    return {p.path.name: p.id for p in catalog.newest_photos(10)}


def test_aspects_are_upright_sizes_turned_by_the_rotation(catalog: Catalog) -> None:
    ids = _ids(catalog)
    names = ["tall.jpg", "wide.jpg", "square.jpg", "unsized.jpg"]
    aspects = catalog.aspects_of([ids[n] for n in names]).tolist()
    assert aspects == pytest.approx([0.5, 1.5, 1.0, UNKNOWN_ASPECT])
    catalog.set_rotation(ids["wide.jpg"], 1)  # a quarter turn: 300x200 shows 200x300
    catalog.set_rotation(ids["tall.jpg"], 2)  # half a turn keeps the shape
    assert catalog.aspects_of([ids["wide.jpg"], ids["tall.jpg"]]).tolist() == pytest.approx([2 / 3, 0.5])
    assert catalog.aspects_of([999_999]).tolist() == [UNKNOWN_ASPECT]  # not a photo
    assert catalog.aspects_of([]).tolist() == []


def test_the_listing_is_in_the_library_views_order(catalog: Catalog) -> None:
    newest = catalog.newest_photos(10)
    expected = [SIZES[p.path.name] for p in newest]
    aspects = catalog.listing_shapes(PhotoFilter())[0]
    assert len(aspects) == len(newest) == 4
    assert aspects.tolist() == pytest.approx([w / h if h else UNKNOWN_ASPECT for w, h in expected])
    # A filter keeps its photos' shapes, in the same order.
    ids = _ids(catalog)
    kept = np.asarray(sorted([ids["wide.jpg"], ids["square.jpg"]]))
    only = catalog.listing_shapes(PhotoFilter(ids=tuple(kept.tolist())), kept=kept)[0]
    assert only.tolist() == pytest.approx([1.0, 1.5])  # square.jpg was taken after wide.jpg


def test_days_are_the_local_calendar_days_in_the_listings_order(catalog: Catalog) -> None:
    ids = _ids(catalog)
    day = lambda offset: int(datetime.fromtimestamp(TAKEN + offset * 86_400).strftime("%Y%m%d"))  # noqa: E731
    names = ["wide.jpg", "tall.jpg", "square.jpg", "unsized.jpg"]
    assert catalog.days_of([ids[n] for n in names]).tolist() == [day(0), day(1), day(2), NO_DAY]
    newest = [p.path.name for p in catalog.newest_photos(10)]
    by_name = dict(zip(names, [day(0), day(1), day(2), NO_DAY], strict=True))
    assert catalog.listing_shapes(PhotoFilter())[1].tolist() == [by_name[n] for n in newest]
