"""Decompression bombs under the pixel limit: decoding holds to a memory budget.

A bomb is a small file that decodes to a huge image (a uniform 196 MP RGBA PNG is
0.8 MB).  The files are built here without ever holding their pixels: PNG rows
are deflated chunk by chunk, and a float TIFF's strips all point at one
compressed strip.  Peak memory is measured as the ``ru_maxrss`` of a fresh child
process indexing a folder, against the same folder without the bombs.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoclip.core.files import imaging, pixels
from photoclip.core.files.decode_budget import DecodeBudget, OverBudget, default_budget_bytes
from photoclip.core.files.imaging import ImageRejected, decode_for_model
from photoclip.core.indexer import Indexer
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import make_library

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20


# -- bombs, made cheaply ------------------------------------------------------------
def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def zlib_of_repeats(unit: bytes, count: int) -> bytes:
    """``zlib.compress(unit * count)`` without building it: after a full flush deflate
    restarts, so one compressed chunk of units repeats verbatim (seconds for 784 MB)."""
    per_chunk = max(1, min(count, (4 * MB) // len(unit)))
    chunk = unit * per_chunk
    deflate = zlib.compressobj(9, wbits=-15)  # raw deflate: header and checksum added here
    deflate.compress(chunk)
    deflate.flush(zlib.Z_FULL_FLUSH)  # the first chunk differs (no history yet): discard
    repeated = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(count, per_chunk)
    tail = deflate.compress(unit * rest) + deflate.flush()
    adler = 1
    for _ in range(full):
        adler = zlib.adler32(chunk, adler)
    adler = zlib.adler32(unit * rest, adler)
    return b"\x78\xda" + repeated * full + tail + struct.pack(">I", adler)


def png_rgba_bomb(width: int, height: int, rgba: tuple[int, ...] = (200, 30, 30, 128)) -> bytes:
    """A uniform RGBA PNG (0.8 MB at 196 MP)."""
    idat = zlib_of_repeats(b"\x00" + bytes(rgba) * width, height)  # filter type 0, then pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def tiff_float_bomb(width: int, height: int, rows_per_strip: int = 64) -> bytes:
    """A 32-bit float ('F') TIFF whose deflated strips all share one compressed strip."""
    rows_per_strip = min(rows_per_strip, height)
    # A ramp makes the range scaling real; repeating every 1024 pixels keeps it compressible.
    ramp = np.resize(np.linspace(0.0, 1.0, 1024, dtype="<f4"), width).tobytes()
    strip = zlib_of_repeats(ramp, rows_per_strip)
    count = -(-height // rows_per_strip)
    offsets_at = 8 + len(strip)
    counts_at = offsets_at + 4 * count
    ifd_at = counts_at + 4 * count
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 32), (259, 3, 1, 8), (262, 3, 1, 1),
        (273, 4, count, 8 if count == 1 else offsets_at), (277, 3, 1, 1), (278, 4, 1, rows_per_strip),
        (279, 4, count, len(strip) if count == 1 else counts_at), (284, 3, 1, 1), (339, 3, 1, 3),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, n, value in entries:  # a SHORT value sits left-justified in its 4 bytes
        ifd += struct.pack("<HHIHH", tag, kind, n, value, 0) if kind == 3 else struct.pack(
            "<HHII", tag, kind, n, value)
    ifd += struct.pack("<I", 0)
    # The last strip is read short of its rows; libtiff decodes only what the image needs.
    return (b"II*\x00" + struct.pack("<I", ifd_at) + strip + struct.pack(f"<{count}I", *[8] * count)
            + struct.pack(f"<{count}I", *[len(strip)] * count) + ifd)


def reason_of(data: bytes, budget: DecodeBudget) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_for_model(data, 224, budget)
    return caught.value.reason


# -- the estimate and the refusal ---------------------------------------------------
def test_bombs_are_what_they_claim() -> None:
    png = png_rgba_bomb(3000, 2000)
    tif = tiff_float_bomb(3000, 2000)
    assert len(png) < 100_000 and len(tif) < 100_000
    with Image.open(io.BytesIO(png)) as img:
        assert (img.mode, img.size) == ("RGBA", (3000, 2000))
        img.load()
        assert img.getpixel((2999, 1999)) == (200, 30, 30, 128)
    with Image.open(io.BytesIO(tif)) as img:
        assert (img.mode, img.size) == ("F", (3000, 2000))
        img.load()
        assert img.getpixel((1023, 1999)) == pytest.approx(1.0)


def test_a_decode_over_the_whole_budget_is_refused_with_its_reason() -> None:
    budget = DecodeBudget(32 * MB)
    reason = reason_of(png_rgba_bomb(4000, 4000), budget)  # 64 MB of pixels, 16 MP
    assert reason.startswith("needs ~") and "over the 32 MB decode memory budget" in reason
    assert budget.peak == 0  # refused from the header: nothing was reserved or decoded
    assert "over the 32 MB" in reason_of(tiff_float_bomb(3000, 3000, rows_per_strip=3000), budget)


def test_the_estimate_counts_bytes_and_the_decoder_copies() -> None:
    def estimate(data: bytes) -> int:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (224, 224))
            return imaging.decode_peak_bytes(img, 224)

    assert estimate(png_rgba_bomb(4000, 4000)) >= 64 * MB  # 4 bytes a pixel
    strips = estimate(tiff_float_bomb(4000, 4000))
    one_strip = estimate(tiff_float_bomb(4000, 4000, rows_per_strip=4000))
    assert strips >= 64 * MB and one_strip >= strips + 60 * MB  # libtiff reads a whole strip
    jpeg = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 200)).save(jpeg, "JPEG")
    assert estimate(jpeg.getvalue()) < 16 * MB  # DCT scaling: decoded at 1/8


def test_a_bomb_that_fits_decodes_with_one_full_size_copy() -> None:
    budget = DecodeBudget(256 * MB)
    decoded = decode_for_model(png_rgba_bomb(6000, 4000), 224, budget)
    assert (decoded.width, decoded.height) == (6000, 4000)
    assert decoded.image.mode == "RGB" and min(decoded.image.size) >= 224
    assert decoded.image.getpixel((0, 0)) == pytest.approx((227, 142, 142), abs=1)  # on white
    # The whole reservation: 96 MB of pixels plus a few MB of tiles, not 4-5 copies.
    assert 96 * MB <= budget.peak < 130 * MB
    assert budget.in_use == 0


_SAMPLE_TYPES = {"I;16": np.uint16, "I": np.int32, "F": np.float32}


def awkward_image(mode: str) -> Image.Image:
    rng = np.random.default_rng(7)
    if mode in _SAMPLE_TYPES:
        arr = rng.integers(0, 60000, (301, 457)).astype(_SAMPLE_TYPES[mode])
        if mode == "F":
            arr[5, 7], arr[100, 200] = np.nan, np.inf
        return Image.fromarray(arr)
    base = Image.fromarray(rng.integers(0, 255, (301, 457, 4), dtype=np.uint8))
    if mode == "P":
        img = base.convert("RGB").quantize(64)
        img.info["transparency"] = 3
        return img
    return base.convert(mode)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "I;16", "I", "F", "CMYK"])
def test_tiled_conversion_equals_converting_the_whole_image(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    img = awkward_image(mode)
    assert img.mode == mode
    factor = 3
    expected = pixels._to_rgb8(img).reduce(factor)
    for tile_pixels in (1 << 18, 4000, 400):  # whole rows, a few rows, narrower than a row
        monkeypatch.setattr(pixels, "_BAND_PIXELS", tile_pixels)
        got = pixels.convert_reduced(img, min(img.size) // factor)
        assert got.size == expected.size
        assert np.array_equal(np.asarray(got), np.asarray(expected)), tile_pixels


# -- the budget across workers ------------------------------------------------------
def test_budget_lets_a_large_decode_wait_its_turn_first_come_first_served() -> None:
    budget = DecodeBudget(100)
    order: list[str] = []
    first = budget.reserve(70)
    first.__enter__()

    def take(name: str, need: int) -> None:
        with budget.reserve(need):
            order.append(name)
            time.sleep(0.01)

    def queued(count: int) -> None:  # not a sleep: under load a thread may start late
        deadline = time.monotonic() + 10
        while len(budget._waiting) < count:
            assert time.monotonic() < deadline, f"{count} reservations never queued"
            time.sleep(0.001)

    big = threading.Thread(target=take, args=("big", 60))
    big.start()
    queued(1)
    small = threading.Thread(target=take, args=("small", 10))  # would fit now, but queues
    small.start()
    queued(2)
    assert order == []
    first.__exit__(None, None, None)
    big.join(5)
    small.join(5)
    assert order == ["big", "small"] and budget.in_use == 0 and budget.peak <= 100
    with pytest.raises(OverBudget):
        budget.reserve(101).__enter__()


def test_decodes_in_many_threads_never_hold_more_than_the_budget() -> None:
    budget = DecodeBudget(100 * MB)
    files = [png_rgba_bomb(3000, 2000 + 100 * i) for i in range(4)]  # ~35 MB reserved each
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: decode_for_model(d, 224, budget), files))
    assert [r.height for r in results] == [2000, 2100, 2200, 2300]
    assert 0 < budget.peak <= budget.total and budget.in_use == 0


def test_default_budget() -> None:
    assert default_budget_bytes({"PHOTOCLIP_DECODE_BUDGET_MB": "300"}) == 300 * MB
    default = default_budget_bytes({"PHOTOCLIP_DECODE_BUDGET_MB": "lots"})
    assert 256 * MB <= default <= 1 << 30
    assert imaging.DECODE_BUDGET.total == default_budget_bytes()


def test_the_indexer_fails_a_bomb_over_budget_and_indexes_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make_library(folder, per_class=1, seed=3)
    (folder / "fits.png").write_bytes(png_rgba_bomb(4000, 3000))  # 48 MB of pixels
    (folder / "bomb.png").write_bytes(png_rgba_bomb(6000, 6000))  # 144 MB
    (folder / "bomb.tif").write_bytes(tiff_float_bomb(5000, 5000))  # 100 MB
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(batch_size=8, decode_workers=3), encoder=FakeEncoder())
    budget = DecodeBudget(80 * MB)
    with library, library.writing("index"):
        library.add_folder(folder)
        library.load_index_for_writing()
        scan = library.scan()
        pending = library.catalog.pending_photos({f.id for f in scan.online}, None)
        indexer = Indexer(library.catalog, library.encoder, library.index, workers=3,
                          decode_budget=budget)
        done = indexer.run(pending)
        failures = {f.path.name: f.reason for f in library.catalog.failures()}
    assert done.failed == 2 and done.encoded == len(pending) - 2
    assert set(failures) == {"bomb.png", "bomb.tif"}
    assert all("over the 80 MB decode memory budget" in r for r in failures.values())
    assert 48 * MB <= budget.peak <= budget.total


# -- peak memory of a real indexing run ------------------------------------------------
_CHILD = """
import json, resource, sys
from pathlib import Path
from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
library = Library(app_paths({"PHOTOCLIP_HOME": sys.argv[1]}), Settings(batch_size=8, decode_workers=2),
                  encoder=FakeEncoder())
library.add_folder(Path(sys.argv[2]))
report = library.index_photos()
failures = {f.path.name: f.reason for f in library.catalog.failures()}
library.close()
# VmHWM belongs to this process image; ru_maxrss may carry the parent's peak over exec.
status = Path("/proc/self/status")
lines = status.read_text().splitlines() if status.exists() else []
hwm = [int(line.split()[1]) * 1024 for line in lines if line.startswith("VmHWM:")]
peak = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak": peak, "encoded": report.encoded, "failures": failures}))
"""


def index_in_child(tmp_path: Path, folder: Path, budget_mb: int) -> dict:
    """Index ``folder`` in a fresh process (two decode workers); its peak RSS and outcome."""
    env = {**os.environ, "PHOTOCLIP_DECODE_BUDGET_MB": str(budget_mb)}
    home = tmp_path / f"home-{folder.name}"
    done = subprocess.run([sys.executable, "-c", _CHILD, str(home), str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def ordinary_and_bombed(tmp_path: Path, bombs: dict[str, bytes]) -> tuple[Path, Path]:
    ordinary, bombed = tmp_path / "ordinary", tmp_path / "bombed"
    make_library(ordinary, per_class=1, seed=5)
    make_library(bombed, per_class=1, seed=5)
    for name, data in bombs.items():
        (bombed / name).write_bytes(data)
    return ordinary, bombed


def test_peak_memory_of_indexing_bombs_stays_within_the_budget(tmp_path: Path) -> None:
    budget_mb = 160
    ordinary, bombed = ordinary_and_bombed(tmp_path, {
        "a.png": png_rgba_bomb(5000, 5000),  # 100 MB of pixels each: they take turns
        "b.tif": tiff_float_bomb(5000, 5000),
        "c.png": png_rgba_bomb(8000, 8000),  # 256 MB: over the budget, refused
    })
    calm = index_in_child(tmp_path, ordinary, budget_mb)
    run = index_in_child(tmp_path, bombed, budget_mb)
    # Before the budget: ~1.3 GB over the ordinary run (several full-size copies, two at once).
    assert run["peak"] - calm["peak"] < (budget_mb + 40) * MB, (calm["peak"] >> 20, run["peak"] >> 20)
    assert run["encoded"] == calm["encoded"] + 2
    assert set(run["failures"]) == {"c.png"} and "decode memory budget" in run["failures"]["c.png"]


@pytest.mark.slow
def test_peak_memory_with_realistic_196_mp_bombs(tmp_path: Path) -> None:
    """The reported case: 196 MP RGBA PNGs and float TIFFs, the default 1 GiB budget."""
    ordinary, bombed = ordinary_and_bombed(tmp_path, {
        "a.png": png_rgba_bomb(14000, 14000),  # 784 MB of pixels: fits, alone
        "b.png": png_rgba_bomb(14000, 14000),
        "c.tif": tiff_float_bomb(14000, 14000, rows_per_strip=14000),  # + a 784 MB strip: refused
    })
    calm = index_in_child(tmp_path, ordinary, 1024)
    run = index_in_child(tmp_path, bombed, 1024)
    assert run["peak"] - calm["peak"] < 1 << 30, (calm["peak"] >> 20, run["peak"] >> 20)
    assert set(run["failures"]) == {"c.tif"} and "over the 1 GB" in run["failures"]["c.tif"]


_TURNS = """
import sys, threading
from pathlib import Path
from photoclip.core.files.imaging import decode_for_model
finish = threading.Event()
def decode_then_stay(data, done):
    decode_for_model(data, 224)
    done.set()
    finish.wait()  # a live thread keeps its malloc arena to itself
workers = []
for name in sys.argv[1:]:  # one decode after another, each on a thread of its own
    done = threading.Event()
    workers.append(threading.Thread(target=decode_then_stay, args=(Path(name).read_bytes(), done)))
    workers[-1].start()
    done.wait()
finish.set()
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_decode_gives_its_memory_back_to_the_system(tmp_path: Path) -> None:
    """glibc keeps freed memory in the freeing thread's arena: without the decoder's pixels
    being mapped apart, decode threads taking turns each kept a full image's worth."""
    files = []
    for name in ("a.png", "b.png", "c.png"):
        files.append(tmp_path / name)
        files[-1].write_bytes(png_rgba_bomb(5000, 5000))  # 100 MB of pixels
    done = subprocess.run([sys.executable, "-c", _TURNS, *map(str, files)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) < 200 * MB  # one image and the interpreter, not three images


# -- the bytes of a file being read count too ------------------------------------------
def noise_png(path: Path, width: int, height: int) -> None:
    """An RGB PNG of noise in stored (uncompressed) deflate blocks: the file is as big as its
    pixels.  Written a few MB at a time, in several IDAT chunks."""
    rng = np.random.default_rng(11)
    deflate = zlib.compressobj(0)
    rows_at_once = max(1, (8 * MB) // (3 * width))
    with path.open("wb") as out:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        out.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))
        for top in range(0, height, rows_at_once):
            rows = rng.integers(0, 256, (min(rows_at_once, height - top), 1 + 3 * width), dtype=np.uint8)
            rows[:, 0] = 0  # filter type 0
            out.write(_chunk(b"IDAT", deflate.compress(rows.tobytes())))
        out.write(_chunk(b"IDAT", deflate.flush()) + _chunk(b"IEND", b""))


def noise_tiff(path: Path, width: int, height: int) -> None:
    """A one-strip RGB TIFF of noise in stored deflate blocks (a poorly compressed scan)."""
    rng = np.random.default_rng(12)
    deflate = zlib.compressobj(0)
    with path.open("wb") as out:
        out.write(b"II*\x00\x00\x00\x00\x00")  # the IFD's offset is filled in at the end
        rows_at_once = max(1, (8 * MB) // (3 * width))
        for top in range(0, height, rows_at_once):
            out.write(deflate.compress(rng.integers(0, 256, (min(rows_at_once, height - top), 3 * width),
                                                    dtype=np.uint8).tobytes()))
        out.write(deflate.flush())
        strip_bytes = out.tell() - 8
        out.write(b"\x00" * (out.tell() & 1))
        ifd_at = out.tell()
        entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 2),
                   (273, 4, 1, 8), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, strip_bytes),
                   (284, 3, 1, 1)]
        out.write(struct.pack("<H", len(entries)))
        for tag, kind, n, value in entries:
            out.write(struct.pack("<HHIHH", tag, kind, n, value, 0) if kind == 3
                      else struct.pack("<HHII", tag, kind, n, value))
        out.write(struct.pack("<I", 0))
        out.seek(4)
        out.write(struct.pack("<I", ifd_at))


def test_noise_files_are_what_they_claim(tmp_path: Path) -> None:
    png, tif = tmp_path / "n.png", tmp_path / "n.tif"
    noise_png(png, 700, 500)
    noise_tiff(tif, 700, 500)
    for path in (png, tif):
        assert path.stat().st_size > 700 * 500 * 3
        with Image.open(path) as img:
            img.load()
            assert (img.mode, img.size) == ("RGB", (700, 500)) and len(np.unique(np.asarray(img))) > 200


def test_a_file_decoded_from_disk_counts_the_bytes_its_decoder_holds(tmp_path: Path) -> None:
    """libtiff holds a whole raw strip (a one-strip file: all of it), WebP the whole file."""
    tif = tmp_path / "n.tif"
    noise_tiff(tif, 3000, 2000)  # an 18 MB strip
    from_file, from_bytes = DecodeBudget(256 * MB), DecodeBudget(256 * MB)
    with tif.open("rb") as file:
        decode_for_model(file, 224, from_file)
        assert not file.closed  # the caller's to close
    decode_for_model(tif.read_bytes(), 224, from_bytes)  # from bytes, the caller holds them
    assert from_file.peak >= from_bytes.peak + tif.stat().st_size - MB


def test_a_file_that_changes_while_it_is_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its hash must be of the content decoded: a write mid-decode means a second read."""
    from photoclip.core import indexer as indexer_module
    from photoclip.core.files.scanner import content_hash

    folder = tmp_path / "photos"
    make_library(folder, per_class=1, seed=4)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(batch_size=8, decode_workers=1), encoder=FakeEncoder())
    decode = indexer_module.decode_for_model
    calls: list[Path] = []

    def decode_then_touch(file, *args):  # the first decode sees its file rewritten
        result = decode(file, *args)
        if not calls:
            path = Path(file.name)
            path.write_bytes(path.read_bytes() + b"\x00")
        calls.append(Path(file.name))
        return result

    monkeypatch.setattr(indexer_module, "decode_for_model", decode_then_touch)
    with library, library.writing("index"):
        library.add_folder(folder)
        library.load_index_for_writing()
        scan = library.scan()
        pending = library.catalog.pending_photos({f.id for f in scan.online}, None)
        done = Indexer(library.catalog, library.encoder, library.index, workers=1).run(pending)
        touched = next(p for p in pending if p.path == calls[0])
        stored = library.catalog.photo(touched.id)
    assert calls[0] == calls[1] and len(calls) == len(pending) + 1  # read again, once
    assert done.encoded == len(pending) and stored is not None
    assert stored.content_hash == content_hash(calls[0].read_bytes())  # the content decoded


def test_peak_memory_counts_the_bytes_of_files_being_read(tmp_path: Path) -> None:
    """A large, poorly compressed file read whole (its bytes outside the budget) beside a
    large decode went over the budget by the file's size (674 MB TIFF + 784 MB decode:
    1.45 GB against 1 GiB)."""
    budget_mb = 200
    ordinary, bombed = ordinary_and_bombed(tmp_path, {"a.png": png_rgba_bomb(5000, 5000)})  # 100 MB
    noise_png(bombed / "noise.png", 8000, 5000)  # a 120 MB file, 160 MB of pixels
    noise_tiff(bombed / "noise.tif", 4000, 3000)  # 36 MB, one strip
    calm = index_in_child(tmp_path, ordinary, budget_mb)
    run = index_in_child(tmp_path, bombed, budget_mb)
    assert run["encoded"] == calm["encoded"] + 3 and not run["failures"]
    assert run["peak"] - calm["peak"] < (budget_mb + 40) * MB, (calm["peak"] >> 20, run["peak"] >> 20)
