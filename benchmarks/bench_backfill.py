"""How long the metadata backfill takes: headers only, no decode, no re-encode.

Writes N camera-like JPEGs (EXIF date, offset, camera, GPS), indexes nothing: the
catalog rows are inserted directly (as a library indexed before the change has them),
then times `backfill_metadata` end to end, and its parts: header reads in the reader
pool, batched place lookups, and the catalog's upserts. Extrapolated to 100k photos.

    python benchmarks/bench_backfill.py [--photos 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.files.photo_meta import read_photo_meta, with_places
from photoclip.core.metadata_backfill import backfill_metadata
from tests.synthetic import camera_exif, save_camera_photo

RESULTS = Path(__file__).parent / "results" / "bench_backfill.json"
CITIES = [(38.7223, -9.1393), (41.1496, -8.6110), (-23.5505, -46.6333), (48.8566, 2.3522),
          (35.6762, 139.6503), (40.7128, -74.0060), (-33.8688, 151.2093), (52.52, 13.405)]


def make_photos(folder: Path, count: int) -> None:
    rng = random.Random(1)
    for i in range(count):
        lat, lon = CITIES[i % len(CITIES)]
        exif = camera_exif(f"20{10 + i % 14:02d}:{1 + i % 12:02d}:{1 + i % 28:02d} 12:00:00",
                           offset="+01:00", make="Google", model="Pixel 7",
                           gps=(lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)))
        save_camera_photo(folder / f"{i // 500:03d}" / f"p{i:05d}.jpg", "red", "circle", exif,
                          seed=i, size=(1600, 1200))


def catalog_of(folder: Path, db: Path) -> Catalog:
    """A catalog that knows every photo as indexed, with no metadata: as before the change."""
    catalog = Catalog(db)
    added = catalog.add_folder(folder)
    files = [(p, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.jpg"))]
    catalog.mark_pending(added.id, files)
    pending = catalog.pending_photos({added.id}, None)
    vector = np.ones(8, np.float32) / np.sqrt(8)
    catalog.record_results([EncodedPhoto(p.id, f"h{p.id}", 1600, 1200, None, vector, "fake")
                            for p in pending], [], [])
    return catalog


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=2000)
    count = parser.parse_args().photos
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        make_photos(folder, count)
        paths = sorted(folder.rglob("*.jpg"))
        started = time.perf_counter()
        metas = [read_photo_meta(p, place=False) for p in paths]
        reads_s = time.perf_counter() - started
        with_places(metas[:10])  # the places table loads once per process: not per photo
        started = time.perf_counter()
        with_places(metas)
        places_s = time.perf_counter() - started
        catalog = catalog_of(folder, Path(tmp) / "catalog.sqlite3")
        missing = catalog.count_missing_meta()
        started = time.perf_counter()
        done = backfill_metadata(catalog)
        total_s = time.perf_counter() - started
        catalog.close()
    per_100k = total_s / max(done, 1) * 100_000
    result = {
        "photos": count, "backfilled": done, "missing_before": missing,
        "header_reads_per_s_one_thread": round(count / reads_s, 1),
        "places_us_per_photo_batched": round(places_s / count * 1e6, 1),
        "backfill_s": round(total_s, 2), "backfill_per_s": round(done / total_s, 1),
        "extrapolated_100k_min": round(per_100k / 60, 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
