"""A damaged search index (index.hnsw) or manifest (index.json) is rebuilt, never trusted.

hnswlib trusts its file: an entry point, neighbour id or level out of range makes
the next search segfault or raise "cand error". The index is a cache of the
catalog's vectors, so every damage below must end the same way: no crash, the
same hits as an undamaged index, one warning with the reason, the rebuild saved
(the next session loads it cleanly, without a second warning).

The damage is generated from the file's own layout (hnswlib's saveIndex, read
here independently of photoclip.core.search.index_files): header fields, level-0 link
lists and labels, upper-level link lists, vectors, and seeded random flips.
Cases that could crash hnswlib run in a child process, so a regression fails the
test instead of killing pytest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.search.index_files import IndexUnusable
from photoclip.core.search.vector_index import VectorIndex
from photoclip.core.settings import Settings
from tests.cli.conftest import Cli
from tests.synthetic import make_library

REPO = Path(__file__).resolve().parents[2]
QUERY = "red circle"
HEADER = struct.Struct("<6QiI3QdQ")  # hnswlib 0.8.0 saveIndex, see index_files
# Byte offsets of header fields.
COUNT_AT, MAX_LEVEL_AT, ENTRY_AT, M_AT, MULT_AT = 16, 48, 52, 72, 80


# -- the layout of an index file, read independently ---------------------------------------
@dataclass
class Layout:
    count: int
    record: int  # size_data_per_element
    label_at: int  # label offset inside a record
    data_at: int  # vector offset inside a record
    max_m: int
    max_m0: int
    max_level: int
    entry: int
    levels: list[int]
    upper_at: list[int]  # byte offset of each element's upper-level lists (after its size)

    def record_at(self, i: int) -> int:
        return HEADER.size + i * self.record

    def level0_element(self) -> int:
        return self.levels.index(0)

    def upper_element(self) -> int:
        return next(i for i, level in enumerate(self.levels) if level > 0)


def layout(data: bytes) -> Layout:
    (_, _, count, record, label_at, data_at, max_level, entry, max_m, max_m0,
     *_rest) = HEADER.unpack_from(data)
    levels, upper_at = [], []
    pos = HEADER.size + count * record
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, pos)
        levels.append(size // (max_m * 4 + 4))
        upper_at.append(pos + 4)
        pos += 4 + size
    assert pos == len(data)
    return Layout(count, record, label_at, data_at, max_m, max_m0, max_level, entry, levels, upper_at)


def _put(data: bytearray, at: int, fmt: str, value: int) -> None:
    struct.pack_into(fmt, data, at, value)


# -- damage: bytes -> same-size (or shorter) bytes -----------------------------------------
def _entry_out_of_range(d: bytearray, lay: Layout) -> None:
    _put(d, ENTRY_AT, "<I", lay.count + 7)


def _entry_not_on_top(d: bytearray, lay: Layout) -> None:
    if lay.max_level == 0:
        _put(d, MAX_LEVEL_AT, "<i", 1)  # then no element is on the claimed top level
    else:
        _put(d, ENTRY_AT, "<I", lay.level0_element())


def _huge_max_level(d: bytearray, lay: Layout) -> None:
    _put(d, MAX_LEVEL_AT, "<i", 1 << 30)


def _huge_count(d: bytearray, lay: Layout) -> None:
    _put(d, COUNT_AT, "<Q", 1 << 40)


def _header_field(at: int, fmt: str, value: float) -> Callable[[bytearray, Layout], None]:
    def damage(d: bytearray, lay: Layout) -> None:
        struct.pack_into(fmt, d, at, value)
    return damage


def _level0_neighbour_out_of_range(d: bytearray, lay: Layout) -> None:
    at = lay.record_at(lay.entry)
    _put(d, at, "<H", max(1, struct.unpack_from("<H", d, at)[0]))
    _put(d, at + 4, "<I", lay.count + 1000)


def _level0_list_too_long(d: bytearray, lay: Layout) -> None:
    _put(d, lay.record_at(0), "<H", 0xFFFF)


def _label_duplicated(d: bytearray, lay: Layout) -> None:
    label = struct.unpack_from("<Q", d, lay.record_at(0) + lay.label_at)[0]
    _put(d, lay.record_at(1) + lay.label_at, "<Q", label)


def _deleted_mark(d: bytearray, lay: Layout) -> None:
    d[lay.record_at(2) + 2] ^= 0x01


def _vector_flipped(d: bytearray, lay: Layout) -> None:
    at = lay.record_at(3) + lay.data_at
    d[at:at + 8] = bytes(b ^ 0xFF for b in d[at:at + 8])


def _upper_neighbour_out_of_range(d: bytearray, lay: Layout) -> None:
    at = lay.upper_at[lay.upper_element()]
    _put(d, at, "<H", max(1, struct.unpack_from("<H", d, at)[0]))
    _put(d, at + 4, "<I", lay.count + 5)


def _upper_neighbour_below_its_level(d: bytearray, lay: Layout) -> None:
    # A valid id whose element has no level-1 list: hnswlib would read a null pointer.
    at = lay.upper_at[lay.upper_element()]
    _put(d, at, "<H", max(1, struct.unpack_from("<H", d, at)[0]))
    _put(d, at + 4, "<I", lay.level0_element())


def _level_size_wrong(d: bytearray, lay: Layout) -> None:
    at = lay.upper_at[lay.level0_element()] - 4  # a level-0 element now claims a level
    _put(d, at, "<I", lay.max_m * 4 + 4)


def _random_flips(seed: int) -> Callable[[bytearray, Layout], None]:
    def flip(d: bytearray, lay: Layout) -> None:
        rng = random.Random(seed)
        for _ in range(6):
            at = rng.randrange(len(d) - 8)
            for i in range(at, at + 8):
                d[i] ^= rng.randrange(1, 256)
    return flip


SAME_SIZE: dict[str, Callable[[bytearray, Layout], None]] = {
    "entry-point-out-of-range": _entry_out_of_range,
    "entry-point-not-on-top-level": _entry_not_on_top,
    "huge-max-level": _huge_max_level,
    "huge-element-count": _huge_count,
    "m-zero": _header_field(M_AT, "<Q", 0),  # 1/ln(M): a math domain error
    "m-one": _header_field(M_AT, "<Q", 1),  # 1/ln(M): a division by zero
    "mult-nan": _header_field(MULT_AT, "<d", float("nan")),
    "mult-huge": _header_field(MULT_AT, "<d", 1e308),
    "level0-neighbour-out-of-range": _level0_neighbour_out_of_range,
    "level0-list-too-long": _level0_list_too_long,
    "label-duplicated": _label_duplicated,
    "deleted-mark-flipped": _deleted_mark,
    "upper-neighbour-out-of-range": _upper_neighbour_out_of_range,
    "upper-neighbour-below-its-level": _upper_neighbour_below_its_level,
    "level-size-wrong": _level_size_wrong,
    "vector-bytes-flipped": _vector_flipped,  # only the checksum can tell
    **{f"random-flips-{seed}": _random_flips(seed) for seed in (1, 2, 3)},
}
SHORTER: dict[str, Callable[[bytes], bytes]] = {
    "zero-length": lambda data: b"",
    "truncated-half": lambda data: data[: len(data) // 2],
    "header-only": lambda data: data[: HEADER.size],
    "last-byte-missing": lambda data: data[:-1],
}
# Damage a status line sees: it checks the manifest, the file's size and header, no more.
HEADER_CASES = {"entry-point-out-of-range", "huge-max-level", "huge-element-count",
                "m-zero", "m-one", "mult-nan", "mult-huge"}
# Structurally fine: with a recomputed checksum, hnswlib may load them (and must not crash).
CHECKSUM_ONLY = {"vector-bytes-flipped", "random-flips-1", "random-flips-2", "random-flips-3"}


def damaged_index(data: bytes, case: str) -> bytes:
    if case in SHORTER:
        return SHORTER[case](data)
    damaged = bytearray(data)
    SAME_SIZE[case](damaged, layout(data))
    assert len(damaged) == len(data) and damaged != data
    return bytes(damaged)


# -- manifests -----------------------------------------------------------------------------
def digest(meta: dict[str, Any]) -> str:
    rest = {k: v for k, v in meta.items() if k != "manifest_checksum"}
    return "sha256:" + hashlib.sha256(
        json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def reseal(index_path: Path) -> None:
    """Make the manifest agree with the (damaged) files, so only deeper checks can object."""
    manifest = index_path.with_suffix(".json")
    meta = json.loads(manifest.read_text())
    data = index_path.read_bytes()
    meta.update(index_bytes=len(data), index_checksum="sha256:" + hashlib.sha256(data).hexdigest())
    meta["manifest_checksum"] = digest(meta)
    manifest.write_text(json.dumps(meta))


MANIFEST_BYTES: dict[str, bytes] = {
    "zero-length": b"",
    "truncated": b'{"dim": 64, "count": 2',
    "binary-garbage": random.Random(5).randbytes(300),
    "deeply-nested": b"[" * 100_000,
    "not-an-object": b"[1, 2, 3]",
    "null": b"null",
}
MANIFEST_VALUES: dict[str, dict[str, Any]] = {
    "dim-missing": {"dim": None},
    "dim-negative": {"dim": -64},
    "dim-zero": {"dim": 0},
    "dim-string": {"dim": "64"},
    "dim-list": {"dim": [64]},
    "dim-bool": {"dim": True},
    "dim-huge": {"dim": 10**12},
    "dim-float": {"dim": 64.0},
    "count-string": {"count": "24"},
    "count-negative": {"count": -1},
    "count-off-by-one": {"count": 23},
    "count-null": {"count": None},
    "deleted-not-a-list": {"deleted_ids": "1,2"},
    "deleted-negative": {"deleted_ids": [-3]},
    "deleted-floats": {"deleted_ids": [1.5]},
    "index-bytes-string": {"index_bytes": "big"},
    "index-bytes-negative": {"index_bytes": -5},
    "checksum-not-hex": {"index_checksum": "sha256:zz"},
    "checksum-a-number": {"index_checksum": 7},
    "format-string": {"format_version": "1"},
    "format-future": {"format_version": 99},
    "hnsw-not-an-object": {"hnsw": "M=16"},
    "capacity-missing": {"capacity": None},
    "epoch-string": {"vector_epoch": "1"},
    "model-a-list": {"model_id": ["x"]},
}


def edit_manifest(index_path: Path, changes: dict[str, Any], *, sealed: bool) -> None:
    manifest = index_path.with_suffix(".json")
    meta = json.loads(manifest.read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    if sealed:  # the manifest's own checksum agrees: the field checks must catch it
        meta["manifest_checksum"] = digest(meta)
    manifest.write_text(json.dumps(meta))


# -- a small library with the tiny model, indexed once -------------------------------------
@dataclass
class Pristine:
    root: Path
    home: Path
    settings: Settings
    encoder: Any
    hits: list[tuple[Path, float]]
    index_bytes: bytes


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, tiny_model_spec: str) -> Iterator[Pristine]:
    root = tmp_path_factory.mktemp("index-damage")
    make_library(root / "photos", per_class=2, seed=3, formats=("PNG",))
    settings = Settings(model=tiny_model_spec, label_sets=[], batch_size=32, decode_workers=1)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(root / "home")}), settings)
    library.add_folder(root / "photos")
    library.index_photos()
    hits = _hits(library)
    data = library.paths.index.read_bytes()
    library.close()
    yield Pristine(root, root / "home", settings, library.encoder, hits, data)


def _hits(library: Library) -> list[tuple[Path, float]]:
    return [(h.path, round(h.score, 5)) for h in library.search(QUERY, top=10)]


@dataclass
class Copy:
    """A fresh copy of the pristine library's data dir."""

    home: Path
    pristine: Pristine

    @property
    def index(self) -> Path:
        return app_paths({"PHOTOCLIP_HOME": str(self.home)}).index

    def open(self) -> Library:
        return Library(app_paths({"PHOTOCLIP_HOME": str(self.home)}), self.pristine.settings,
                       encoder=self.pristine.encoder)


@pytest.fixture
def copy(pristine: Pristine, tmp_path: Path) -> Copy:
    shutil.copytree(pristine.home, tmp_path / "home")
    return Copy(tmp_path / "home", pristine)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("photoclip")]


def _recovers(copy: Copy, caplog: pytest.LogCaptureFixture, *, via_index: bool = False,
              status_sees_it: bool = True) -> list[str]:
    """Search (or index, then search) the damaged library; returns the warnings it gave.

    ``status_sees_it``: the damage is in the manifest, the file's size or header,
    which status checks (it does not hash the whole file).
    """
    pristine = copy.pristine
    caplog.set_level(logging.INFO, logger="photoclip")
    with copy.open() as library:
        status = library.status()  # never a crash
        if status_sees_it:
            assert status.index_size is None  # never reported as fine while damaged
        if via_index:
            library.index_photos()
        assert _hits(library) == pristine.hits
        assert library.index.rebuilt
        first = _warnings(caplog)
    caplog.clear()
    with copy.open() as library:  # the rebuild was saved: loads cleanly, no second warning
        assert (VectorIndex.read_manifest(library.paths.index) or {}).get("count") == 24
        assert library.status().index_size == 24
        assert _hits(library) == pristine.hits
        assert not library.index.rebuilt
        assert _warnings(caplog) == []
    return first


# -- the index file, through the real Library ----------------------------------------------
DAMAGE_CASES = sorted(set(SAME_SIZE) | set(SHORTER))


@pytest.mark.parametrize("case", DAMAGE_CASES)
def test_damaged_index_file_is_rebuilt_once(case: str, pristine: Pristine, copy: Copy,
                                            caplog: pytest.LogCaptureFixture) -> None:
    copy.index.write_bytes(damaged_index(pristine.index_bytes, case))
    (warning,) = _recovers(copy, caplog, status_sees_it=case in SHORTER or case in HEADER_CASES)
    assert "search index" in warning and "rebuilding" in warning


@pytest.mark.parametrize("case", ["entry-point-out-of-range", "level0-neighbour-out-of-range", "m-one"])
def test_damaged_index_is_rebuilt_by_index_and_reindex(
        case: str, pristine: Pristine, copy: Copy,
        caplog: pytest.LogCaptureFixture) -> None:
    copy.index.write_bytes(damaged_index(pristine.index_bytes, case))
    (warning,) = _recovers(copy, caplog, via_index=True, status_sees_it=case in HEADER_CASES)
    assert "unusable" in warning
    copy.index.write_bytes(damaged_index(pristine.index_bytes, case))
    reseal(copy.index)  # now only the structural checks stand between hnswlib and the damage
    with copy.open() as library:
        report = library.index_photos(full=True)
        assert report.index_rebuilt and _hits(library) == pristine.hits


# -- the manifest, through the real Library ------------------------------------------------
@pytest.mark.parametrize("case", sorted(MANIFEST_BYTES))
def test_unreadable_manifest_is_rebuilt(case: str, pristine: Pristine, copy: Copy,
                                        caplog: pytest.LogCaptureFixture) -> None:
    copy.index.with_suffix(".json").write_bytes(MANIFEST_BYTES[case])
    (warning,) = _recovers(copy, caplog, via_index=True)
    assert "manifest" in warning


@pytest.mark.parametrize("sealed", [False, True], ids=["edited", "edited-and-resealed"])
@pytest.mark.parametrize("case", sorted(MANIFEST_VALUES))
def test_wrong_manifest_values_are_rebuilt(case: str, sealed: bool, pristine: Pristine,
                                           copy: Copy,
                                           caplog: pytest.LogCaptureFixture) -> None:
    edit_manifest(copy.index, MANIFEST_VALUES[case], sealed=sealed)
    warnings = _recovers(copy, caplog, via_index=True)
    # A wrong epoch or model reads as "stale" (rebuilt, logged at info level).
    assert len(warnings) == (0 if sealed and case in ("epoch-string", "model-a-list") else 1)


def test_manifest_from_before_checksums_is_rebuilt_once(
        pristine: Pristine, copy: Copy, caplog: pytest.LogCaptureFixture) -> None:
    edit_manifest(copy.index, {"index_checksum": None, "manifest_checksum": None}, sealed=False)
    (warning,) = _recovers(copy, caplog)
    assert "without checksums" in warning and "not trusted" in warning


# -- half-written saves ----------------------------------------------------------------------
def test_index_saved_without_its_manifest_is_rebuilt(
        pristine: Pristine, copy: Copy, caplog: pytest.LogCaptureFixture) -> None:
    copy.index.with_suffix(".json").unlink()
    (warning,) = _recovers(copy, caplog)
    assert "no manifest" in warning


def test_manifest_without_its_index_is_rebuilt(
        pristine: Pristine, copy: Copy, caplog: pytest.LogCaptureFixture) -> None:
    copy.index.unlink()
    (warning,) = _recovers(copy, caplog)
    assert "missing" in warning


def test_leftover_temp_files_are_ignored_then_removed(
        pristine: Pristine, copy: Copy, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="photoclip")
    index = copy.index
    leftovers = [index.parent / f".{index.name}.k1ll3d.tmp", index.parent / ".index.json.k1ll3d.tmp"]
    leftovers[0].write_bytes(pristine.index_bytes[:1000])
    leftovers[1].write_text('{"dim": ')
    with copy.open() as library:
        assert library.status().index_size == 24
        assert _hits(library) == pristine.hits and not library.index.rebuilt
        library.index_photos()  # a writer's save clears what a killed save left
    assert not any(p.exists() for p in leftovers)
    assert _warnings(caplog) == []


# -- the command line: one line, no traceback -----------------------------------------------
@pytest.mark.parametrize("case", ["entry-point-out-of-range", "m-zero"])
def test_cli_search_and_status_on_a_damaged_index(case: str, pristine: Pristine, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", pristine.settings.model)
    shutil.copytree(pristine.home, cli.home)
    index = app_paths({"PHOTOCLIP_HOME": str(cli.home)}).index
    index.write_bytes(damaged_index(pristine.index_bytes, case))
    status = cli.run("status")
    assert "search index: none yet" in status.stdout and "Traceback" not in status.stderr
    done = cli.run("search", QUERY)
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert "WARNING" in line and "rebuilding it from the catalog" in line
    printed = [Path(line.split("  ", 1)[1]) for line in done.stdout.splitlines()]
    assert printed[:10] == [p for p, _ in pristine.hits]
    assert cli.run("search", QUERY).stderr == ""  # saved: the next run is quiet
    assert "search index: 24 vectors" in cli.run("status").stdout


# -- hnswlib itself never sees a damaged file (child process: a crash fails the test) ------
CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np
from photoclip.core.search.index_files import IndexUnusable
from photoclip.core.search.vector_index import VectorIndex
queries = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
for case, path in json.loads(sys.argv[1]).items():
    print(json.dumps({"case": case, "outcome": "crashed"}), flush=True)  # unless a line follows
    try:
        index, _ = VectorIndex.open(Path(path), 8)
    except IndexUnusable as exc:
        print(json.dumps({"case": case, "outcome": "refused", "reason": str(exc)}), flush=True)
        continue
    index.search_many(queries, 10)  # a file that loads must at least be searchable
    print(json.dumps({"case": case, "outcome": "loaded"}), flush=True)
"""


@pytest.fixture(scope="module")
def structural(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Every damage case with a recomputed checksum, opened in one child process: case -> outcome.

    The index is big enough to have upper levels. A case whose outcome stays
    "crashed" took the child down (a segfault: hnswlib was handed the damage).
    """
    root = tmp_path_factory.mktemp("layered")
    vectors = np.random.default_rng(1).standard_normal((600, 8)).astype(np.float32)
    index = VectorIndex.build(8, np.arange(1, 601), vectors)
    index.remove([5, 6, 7])
    index.save(root / "good.hnsw", {"model_id": "test"})
    data = (root / "good.hnsw").read_bytes()
    assert layout(data).max_level >= 1
    paths = {}
    for case in DAMAGE_CASES:
        path = root / f"{case}.hnsw"
        path.write_bytes(damaged_index(data, case))
        shutil.copy(root / "good.json", path.with_suffix(".json"))
        with pytest.raises(IndexUnusable, match=r"checksum|bytes|header"):  # the cheap checks
            VectorIndex.open(path, 8)
        reseal(path)  # now only the structural checks stand between hnswlib and the damage
        paths[case] = str(path)
    outcomes: dict[str, dict[str, str]] = {}
    while len(outcomes) < len(paths):  # a crash ends a child: the next one goes on after it
        todo = {case: path for case, path in paths.items() if case not in outcomes}
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(todo)], capture_output=True,
                              text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        for line in done.stdout.splitlines():
            record = json.loads(line)
            outcomes[record["case"]] = record | {"rc": str(done.returncode), "stderr": done.stderr[-1500:]}
        if not done.stdout:
            pytest.fail(f"the child did not start: {done.stderr}")
    return outcomes


@pytest.mark.parametrize("case", DAMAGE_CASES)
def test_structural_checks_stop_what_hnswlib_would_trip_on(
        case: str, structural: dict[str, dict[str, str]]) -> None:
    outcome = structural.get(case, {"outcome": "never reached"})
    assert outcome["outcome"] != "crashed", f"hnswlib crashed: {outcome}"
    if case in CHECKSUM_ONLY:
        assert outcome["outcome"] in ("refused", "loaded")
    else:
        assert outcome["outcome"] == "refused", outcome


# -- a reader racing a save is not "damage" --------------------------------------------------
def test_a_save_landing_mid_load_is_read_again_not_reported_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoclip.core.search import index_persistence

    path = tmp_path / "v.hnsw"
    rng = np.random.default_rng(2)
    VectorIndex.build(8, np.arange(1, 51), rng.standard_normal((50, 8))).save(path, {"n": 50})
    newer = VectorIndex.build(8, np.arange(1, 61), rng.standard_normal((60, 8)))
    real, calls = index_persistence.read_checked_manifest, []

    def manifest_then_a_save(p: Path) -> dict[str, Any]:
        meta = real(p)
        calls.append(p)
        if len(calls) == 1:  # the writer replaces both files after the reader read the manifest
            newer.save(path, {"n": 60})
        return meta

    monkeypatch.setattr(index_persistence, "read_checked_manifest", manifest_then_a_save)
    loaded, meta = VectorIndex.open(path, 8)
    assert len(calls) == 2 and meta["n"] == 60 and len(loaded) == 60


# -- the checks themselves ------------------------------------------------------------------
def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "v.hnsw"
    VectorIndex.build(8, np.arange(1, 51), np.random.default_rng(4).standard_normal((50, 8))).save(path, {})
    return path


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_a_damaged_header_is_refused_not_a_crash(case: str, tmp_path: Path) -> None:
    path = _saved(tmp_path)
    path.write_bytes(damaged_index(path.read_bytes(), case))
    reseal(path)
    with pytest.raises(IndexUnusable, match="index header"):
        VectorIndex.inspect(path, thorough=False)


def test_any_error_while_checking_reads_as_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoclip.core.search import index_files

    path = _saved(tmp_path)

    def tripped(f: Any) -> None:  # a check that has not foreseen some damage
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(index_files, "read_header", tripped)
    assert VectorIndex.read_manifest(path) is None
    with pytest.raises(IndexUnusable, match="ZeroDivisionError"):
        VectorIndex.inspect(path, thorough=False)


def test_the_index_file_is_hashed_once_per_process(copy: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoclip.core.search import index_files

    real, hashed = index_files._problem_in, []

    def counted(*args: Any) -> str | None:
        hashed.append(args[2])
        return real(*args)

    monkeypatch.setattr(index_files, "_problem_in", counted)
    with copy.open() as library:
        assert library.status().index_size == 24 and hashed == []  # manifest, size, header only
        library.load_index_for_writing()  # the dimension from the manifest, then one full check
        assert len(hashed) == 1 and not library.index.rebuilt
    with copy.open() as library:
        assert _hits(library) == copy.pristine.hits
        assert len(hashed) == 1  # the same file, already checked in this process


def test_a_file_changed_in_place_after_its_check_is_checked_again(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    VectorIndex.open(path, 8)  # checked, and remembered as checked
    before = path.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    damaged = damaged_index(path.read_bytes(), "vector-bytes-flipped")
    with open(path, "r+b") as f:  # the same inode and size
        f.write(damaged)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # even the same mtime
    with pytest.raises(IndexUnusable, match="checksum"):
        VectorIndex.open(path, 8)
