"""Catalog filters at 100,000 photos: ``filtered_ids``, ``newest_first`` and the facet counts.

Builds a catalog of N indexed photos straight through SQL (rows, a 512-float vector
each so photo rows are as big as real ones, meta rows, tags), then times each query
(median of repeats, warm page cache, as a search typing in the app would run them):

* ``filtered_ids`` for a date range keeping 10%, a place keeping 1%, a tag keeping
  0.1%, a folder keeping 2%, those combined, and orientation/camera scans;
* ``newest_first``, first page of 100, for the same filters and for none;
* the facet counts over the whole library and over a year;
* the metadata backfill's work list at its start (``photos_missing_meta``).

Targets: ``filtered_ids`` <= 10 ms for selective filters, ``newest_first`` first page
<= 50 ms.

Usage: python benchmarks/bench_filters.py [--photos 100000] [--repeats 15]
About 30 s on 2 cores (most of it building the catalog).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import environment, loadavg, markdown_table, median, write_results

from photoclip.core.catalog.meta import META_VERSION
from photoclip.core.catalog.store import Catalog
from photoclip.core.models import PhotoFilter

TARGET_IDS_MS = 10.0
TARGET_PAGE_MS = 50.0
CITIES = [(f"City {n}", f"Region {n % 20}", f"Country {n % 10}", f"C{n % 10}") for n in range(100)]
CAMERAS = [("Google", "Pixel 7"), ("Apple", "iPhone 13"), ("Canon", "EOS R6"), ("Sony", "ILCE-7M3")]
YEARS = range(2015, 2025)  # ten years: one keeps 10%
DIM = 512


def build(path: Path, photos: int) -> None:
    """A catalog of ``photos`` indexed photos, one in ten (at random) without meta, as
    before the backfill; one in a thousand tagged "rare", one in twenty a screenshot."""
    Catalog(path).close()
    rng = random.Random(16)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.execute("INSERT INTO folders(path, added_at) VALUES (?, 0)", (b"/photos",))
    vector = bytes(DIM * 4)
    photo_rows, meta_rows, tag_rows = [], [], []
    no_meta = set(rng.sample(range(1, photos + 1), photos // 10))
    for pid in range(1, photos + 1):
        year, month, day = rng.choice(YEARS), rng.randint(1, 12), rng.randint(1, 28)
        taken = time.mktime((year, month, day, 12, 0, 0, 0, 0, -1))
        folder = f"/photos/Trips/Folder {pid % 50}/p{pid}.jpg".encode()
        photo_rows.append((pid, folder, taken, vector, taken + 1))
        city, region, country, code = CITIES[pid % 100]
        make, model = CAMERAS[pid % len(CAMERAS)]
        meta_rows.append((pid, META_VERSION, taken, f"{year:04d}-{month:02d}-{day:02d}T12:00:00", "exif",
                          make, model, 1 + 5 * (pid % 3 == 0), 4000, 3000, city, region, country, code,
                          city.lower(), f"{make} {model}".lower(), region.lower(), country.lower()))
        tag_rows += [(pid, f"tag{rng.randrange(30)}", "auto", "scenes") for _ in range(3)]
        if pid % 1000 == 3:
            tag_rows.append((pid, "rare", "user", None))
        if pid % 20 == 0:
            tag_rows.append((pid, "screenshot", "auto", "kinds"))
    db.executemany("INSERT INTO photos(id, folder_id, path, size, mtime_ns, taken_at, state, embedding, "
                   "model_id, indexed_at) VALUES (?, 1, ?, 1, 1, ?, 'indexed', ?, 'm', ?)", photo_rows)
    db.executemany(
        "INSERT INTO photo_meta(photo_id, meta_version, taken_at, taken_local, taken_source, camera_make, "
        "camera_model, orientation, width, height, city, region, country, country_code, place_key, "
        "camera_key, region_key, country_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [row for row in meta_rows if row[0] not in no_meta])
    db.executemany("INSERT OR IGNORE INTO tags(photo_id, name, source, label_set) VALUES (?, ?, ?, ?)",
                   tag_rows)
    db.execute("COMMIT")
    db.close()


def timed_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return median(times), result


FILTERS = {
    "none": PhotoFilter(),
    "date, 10%": PhotoFilter(after="2020-01-01", before="2021-01-01"),
    "place, 1%": PhotoFilter(places=("city 7",)),
    "country, 10%": PhotoFilter(places=("country 3",)),
    "tag, 0.1%": PhotoFilter(tags=("rare",)),
    "kind, 5%": PhotoFilter(kinds=("screenshot",)),
    "folder, 2%": PhotoFilter(folders=("folder 7",)),
    "camera, 25%": PhotoFilter(cameras=("pixel",)),
    "orientation, 33%": PhotoFilter(orientation="portrait"),
    "date + place": PhotoFilter(after="2020-01-01", before="2021-01-01", places=("city 7",)),
    "date + place + tag": PhotoFilter(after="2018-01-01", places=("country 3",), tags=("rare",)),
    "date - tag": PhotoFilter(after="2020-01-01", before="2021-01-01", exclude_tags=("tag1",)),
}
SELECTIVE = {"place, 1%", "tag, 0.1%", "folder, 2%", "date + place", "date + place + tag"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    env = environment()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.sqlite3"
        start = time.perf_counter()
        build(path, args.photos)
        build_s = time.perf_counter() - start
        catalog = Catalog(path)
        try:
            results = measure(catalog, args.repeats)
        finally:
            catalog.close()
        size_mib = os.path.getsize(path) / 2**20
    rows = [[name, r["kept"], f"{r['filtered_ids_ms']:.2f}", f"{r['newest_first_ms']:.2f}"]
            for name, r in results["filters"].items()]
    print(f"{args.photos:,} photos, catalog {size_mib:.0f} MiB, built in {build_s:.1f} s\n")
    print(markdown_table(["filter", "kept", "filtered_ids ms", "newest_first page ms"], rows))
    print()
    print(markdown_table(["other", "ms"], [[k, f"{v:.2f}"] for k, v in results["other_ms"].items()]))
    write_results("bench_filters", {
        "environment": env, "loadavg_at_end": loadavg(), "photos": args.photos, "repeats": args.repeats,
        "catalog_mib": round(size_mib, 1), "targets_ms": {"filtered_ids_selective": TARGET_IDS_MS,
                                                          "newest_first_page": TARGET_PAGE_MS},
        **results,
    })


def measure(catalog: Catalog, repeats: int) -> dict[str, Any]:
    first_fill, _ = timed_ms(lambda: catalog.filtered_ids(PhotoFilter(folders=("nothing",))), 1)
    filters: dict[str, dict[str, Any]] = {}
    for name, f in FILTERS.items():
        ids_ms, ids = timed_ms(lambda f=f: catalog.filtered_ids(f), repeats)
        page_ms, page = timed_ms(lambda f=f: catalog.newest_first(f, 100), repeats)
        assert len(page) == min(100, len(ids)) and {p.id for p in page} <= set(ids.tolist()), name
        filters[name] = {"kept": len(ids), "filtered_ids_ms": round(ids_ms, 2),
                         "newest_first_ms": round(page_ms, 2), "selective": name in SELECTIVE}
    year = PhotoFilter(after="2020-01-01", before="2021-01-01")
    other = {
        "first folder filter (fills every folder key)": first_fill,
        "month_counts, all": timed_ms(lambda: catalog.month_counts(PhotoFilter()), repeats)[0],
        "place_counts, all": timed_ms(lambda: catalog.place_counts(PhotoFilter()), repeats)[0],
        "camera_counts, all": timed_ms(lambda: catalog.camera_counts(PhotoFilter()), repeats)[0],
        "folder_name_counts, all": timed_ms(lambda: catalog.folder_name_counts(PhotoFilter()), repeats)[0],
        "tag_name_counts, all": timed_ms(lambda: catalog.tag_name_counts(PhotoFilter()), repeats)[0],
        "place_counts, a year": timed_ms(lambda: catalog.place_counts(year), repeats)[0],
        "newest_first, page 200 deep in none": timed_ms(
            lambda: catalog.newest_first(PhotoFilter(), 100, 20_000), repeats)[0],
        "photos_missing_meta(500)": timed_ms(lambda: catalog.photos_missing_meta(500), repeats)[0],
        "count_missing_meta": timed_ms(catalog.count_missing_meta, repeats)[0],
    }
    return {"filters": filters, "other_ms": {k: round(v, 2) for k, v in other.items()}}


if __name__ == "__main__":
    main()
