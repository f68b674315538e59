"""Tests for photoclip.core.search.vector_index (small sizes: fast, self-contained)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
import pytest

from photoclip.core.search.vector_index import ReadWriteLock, VectorIndex

DIM = 32
N = 2000
REPO_ROOT = Path(__file__).resolve().parents[3]


def unit(rows: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return np.arange(1, N + 1, dtype=np.int64), unit(N)


@pytest.fixture()
def index(data: tuple[np.ndarray, np.ndarray]) -> VectorIndex:
    ids, vecs = data
    return VectorIndex.build(DIM, ids, vecs)


def hit_ids(hits: list[tuple[int, float]]) -> list[int]:
    return [i for i, _ in hits]


# ------------------------------------------------------------------- search


def test_stored_vector_is_its_own_nearest_neighbour(index: VectorIndex, data: Any) -> None:
    ids, vecs = data
    for row in range(0, N, 40):
        (top_id, score), *_ = index.search(vecs[row], 5)
        assert top_id == ids[row]
        assert score == pytest.approx(1.0, abs=1e-5)


def test_scores_are_cosine_similarities_best_first(index: VectorIndex, data: Any) -> None:
    ids, vecs = data
    query = unit(1, seed=99)[0]
    # hnswlib's cosine space normalises, so scale must not change the scores.
    hits = index.search(query * 3.0, 10)
    got = dict(hits)
    for i, score in got.items():
        assert score == pytest.approx(float(vecs[i - 1] @ query), abs=1e-5)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    exact = ids[np.argsort(-(vecs @ query))[:10]]
    assert len(set(got) & set(exact.tolist())) >= 9


def test_ids_and_scores_are_python_scalars() -> None:
    big = 2**62 + 7  # near the int64 limit: must survive the uint64 labels
    index = VectorIndex(DIM)
    index.add(np.array([big, 3]), unit(2))
    hits = index.search(unit(2)[0], 2)
    assert hits[0][0] == big
    assert all(type(i) is int and type(s) is float for i, s in hits)
    assert big in index
    assert index.ids().dtype == np.int64
    assert index.ids().tolist() == [3, big]


def test_search_many_matches_search(index: VectorIndex) -> None:
    queries = unit(7, seed=5)
    batched = index.search_many(queries, 4)
    assert batched == [index.search(q, 4) for q in queries]


def test_empty_index() -> None:
    index = VectorIndex(DIM)
    assert len(index) == 0
    assert index.search(unit(1)[0], 5) == []
    assert index.search_many(unit(2), 5) == [[], []]
    assert index.ids().tolist() == []
    assert 1 not in index
    empty = VectorIndex.build(DIM, np.array([], dtype=np.int64), np.zeros((0, DIM)))
    assert len(empty) == 0 and empty.search(unit(1)[0], 1) == []


def test_k_is_clipped_to_live_count() -> None:
    index = VectorIndex.build(DIM, np.arange(1, 6), unit(5))
    assert sorted(hit_ids(index.search(unit(1, seed=3)[0], 50))) == [1, 2, 3, 4, 5]
    index.remove([2, 4])
    assert sorted(hit_ids(index.search(unit(1, seed=3)[0], 50))) == [1, 3, 5]
    assert index.search(unit(1)[0], 0) == []


# ------------------------------------------------------ upsert / remove


def test_upsert_replaces_vector(index: VectorIndex, data: Any) -> None:
    _, vecs = data
    old, new = vecs[4], unit(1, seed=42)[0]
    index.add([5], new)
    assert len(index) == N
    assert index.search(new, 1) == [(5, pytest.approx(1.0, abs=1e-5))]
    top_id, _ = index.search(old, 1)[0]
    assert top_id != 5
    assert dict(index.search(old, N)).get(5) == pytest.approx(float(old @ new), abs=1e-5)


def test_duplicate_ids_in_one_batch_last_wins() -> None:
    index = VectorIndex(DIM)
    vecs = unit(3, seed=8)
    index.add([7, 7, 8], vecs)
    assert len(index) == 2
    assert index.search(vecs[1], 1)[0][0] == 7
    assert dict(index.search(vecs[1], 2))[7] == pytest.approx(1.0, abs=1e-5)


def test_remove_hides_from_search_and_len(index: VectorIndex, data: Any) -> None:
    _, vecs = data
    gone = list(range(1, 201))
    index.remove([*gone, 10**9])  # unknown ids are ignored
    index.remove(gone[:10])  # removing twice is ignored too
    assert len(index) == N - 200
    assert 1 not in index and 201 in index
    assert set(index.ids().tolist()) == set(range(201, N + 1))
    assert index.tombstones == 200
    for row in range(0, 200, 10):
        assert not set(hit_ids(index.search(vecs[row], 20))) & set(gone)


def test_readd_after_remove(index: VectorIndex) -> None:
    index.remove([10, 11])
    fresh = unit(2, seed=77)
    index.add([10, 11], fresh)
    assert len(index) == N and 10 in index and index.tombstones == 0
    assert index.search(fresh[0], 1)[0][0] == 10
    assert index.search(fresh[1], 1)[0][0] == 11


def test_capacity_grows_geometrically(monkeypatch: pytest.MonkeyPatch) -> None:
    resizes: list[int] = []
    real_resize = hnswlib.Index.resize_index

    def spy(self: hnswlib.Index, n: int) -> None:
        resizes.append(n)
        real_resize(self, n)

    monkeypatch.setattr(hnswlib.Index, "resize_index", spy)
    index = VectorIndex(DIM, capacity=4)
    vecs = unit(3000, seed=2)
    for i in range(3000):
        index.add([i + 1], vecs[i])
    assert len(index) == 3000
    assert 1 <= len(resizes) <= 5  # 4 -> 1024 -> 1536 -> 2304 -> 3456
    assert all(b >= a * 1.5 for a, b in itertools.pairwise(resizes))
    assert index.search(vecs[2999], 1)[0][0] == 3000


def test_invalid_input_is_rejected() -> None:
    index = VectorIndex(DIM)
    with pytest.raises(ValueError):
        index.add([1, 2], unit(3))
    with pytest.raises(ValueError):
        index.add([1], unit(1, dim=DIM + 1))
    with pytest.raises(ValueError):
        index.add([-1], unit(1))
    with pytest.raises(ValueError):
        index.add([1], np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(np.zeros(DIM + 1, dtype=np.float32), 1)
    assert len(index) == 0


# ------------------------------------- hnswlib "contiguous 2D array" fallback


class _ShortGraph:
    """Proxy that makes knn_query fail like hnswlib does when k is unreachable."""

    def __init__(self, inner: hnswlib.Index, reachable: int) -> None:
        self._inner, self._reachable = inner, reachable

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def knn_query(self, data: np.ndarray, k: int = 1) -> Any:
        if k > self._reachable:
            raise RuntimeError("Cannot return the results in a contiguous 2D array. Probably ef")
        return self._inner.knn_query(data, k=k)


def test_unreachable_k_returns_largest_answerable(index: VectorIndex) -> None:
    query = unit(1, seed=4)[0]
    expected = index.search(query, 3)
    index._index = _ShortGraph(index._index, reachable=3)  # type: ignore[assignment]
    assert index.search(query, 10) == expected
    assert index.search_many(np.stack([query, query]), 10) == [expected, expected]


def test_other_hnswlib_errors_are_not_swallowed(index: VectorIndex) -> None:
    class Broken(_ShortGraph):
        def knn_query(self, data: np.ndarray, k: int = 1) -> Any:
            raise RuntimeError("something else")

    index._index = Broken(index._index, reachable=0)  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="something else"):
        index.search(unit(1)[0], 3)


def _raw_failures(index: VectorIndex, queries: np.ndarray, k: int) -> int:
    failures = 0
    for q in queries:
        try:
            index._index.knn_query(q, k=k)
        except RuntimeError:
            failures += 1
    return failures


def _heavily_deleted_tiny_index(seed: int) -> VectorIndex:
    # Tiny M and 99.5% deleted: some live points become unreachable, and raw
    # hnswlib 0.8.0 raises for k == live count.  Adding 4 rows at a time keeps
    # hnswlib single-threaded, so the graph is deterministic for a seed.
    tiny = type("TinyIndex", (VectorIndex,), {"M": 2, "EF_CONSTRUCTION": 20})
    index = tiny(DIM, capacity=N)
    vecs = unit(N, seed=seed)
    for start in range(0, N, 4):
        index.add(np.arange(start + 1, start + 5), vecs[start : start + 4])
    index.remove(np.arange(1, N - 9))
    return index


def test_disconnected_graph_after_heavy_deletion_does_not_raise() -> None:
    queries = unit(20, seed=101)
    for seed in range(10):  # find a graph where raw hnswlib really fails
        index = _heavily_deleted_tiny_index(seed)
        if _raw_failures(index, queries, k=10):
            break
    else:
        pytest.fail("precondition: raw hnswlib should fail for some seed")
    for hits in index.search_many(queries, 10):
        assert 0 < len(hits) < 10
        assert set(hit_ids(hits)) <= set(range(N - 9, N + 1))


# ------------------------------------------------------------- persistence


def test_save_load_round_trip(index: VectorIndex, tmp_path: Path) -> None:
    index.remove(range(1, 51))
    path = tmp_path / "vectors.hnsw"
    index.save(path, {"model": "ViT-B-32", "generation": 7})
    loaded, manifest = VectorIndex.load(path, DIM)
    queries = unit(30, seed=21)
    assert loaded.search_many(queries, 10) == index.search_many(queries, 10)
    assert len(loaded) == N - 50 and 1 not in loaded and 51 in loaded
    assert loaded.ef == VectorIndex.EF_SEARCH  # hnswlib does not persist ef
    assert manifest["model"] == "ViT-B-32" and manifest["generation"] == 7
    assert manifest["dim"] == DIM and manifest["count"] == N - 50
    assert manifest["index_bytes"] == path.stat().st_size
    assert manifest["hnsw"]["M"] == VectorIndex.M
    assert manifest["hnsw"]["ef_construction"] == VectorIndex.EF_CONSTRUCTION
    assert VectorIndex.read_manifest(path) == manifest
    # Tombstones survive the round trip, so re-adding still works after load.
    loaded.add([1, N + 1], unit(2, seed=22))
    assert len(loaded) == N - 48 and loaded.tombstones == 49


def test_manifest_from_load_can_be_saved_again(index: VectorIndex, tmp_path: Path) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {"generation": 1})
    index.remove([1])
    _, manifest = VectorIndex.load(path, DIM)
    index.save(path, manifest)
    loaded, again = VectorIndex.load(path, DIM)
    assert again["count"] == N - 1 and again["generation"] == 1 and len(loaded) == N - 1


def test_save_leaves_no_temp_files(index: VectorIndex, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "v.hnsw"
    index.save(path, {})
    index.save(path, {})  # overwriting goes through the same path
    assert sorted(p.name for p in path.parent.iterdir()) == ["v.hnsw", "v.json"]


def test_failed_save_keeps_previous_good_file(
    index: VectorIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {"generation": 1})
    before = path.read_bytes()
    index.add([N + 1], unit(1, seed=5))

    def half_write_then_fail(self: hnswlib.Index, target: str) -> None:
        Path(target).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(hnswlib.Index, "save_index", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        index.save(path, {"generation": 2})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.hnsw", "v.json"]
    assert path.read_bytes() == before
    loaded, manifest = VectorIndex.load(path, DIM)
    assert manifest["generation"] == 1 and len(loaded) == N


def test_crash_between_renames_never_pairs_new_index_with_old_manifest(
    index: VectorIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {"generation": 1})
    index.add([N + 1], unit(1, seed=5))
    real_replace, calls = os.replace, []

    def crash_on_manifest(src: Any, dst: Any) -> None:
        calls.append(dst)
        if str(dst).endswith(".json"):
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="power cut"):
        index.save(path, {"generation": 2})
    monkeypatch.undo()
    assert calls == [path, path.with_suffix(".json")]  # the index was swapped in
    # The old manifest was withdrawn first, so this reads as "rebuild", not as
    # generation 1 describing generation 2's index.
    assert VectorIndex.load(path, DIM) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.hnsw"]


def _truncate(path: Path, keep_manifest_size: bool) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    if not keep_manifest_size:  # make the size check pass so deeper checks are hit
        manifest_path = path.with_suffix(".json")
        meta = json.loads(manifest_path.read_text())
        meta["index_bytes"] = path.stat().st_size
        manifest_path.write_text(json.dumps(meta))


def _edit_manifest(path: Path, **changes: Any) -> None:
    manifest_path = path.with_suffix(".json")
    meta = json.loads(manifest_path.read_text())
    meta.update(changes)
    manifest_path.write_text(json.dumps(meta))


CORRUPTIONS = {
    "missing_index": lambda p: p.unlink(),
    "missing_manifest": lambda p: p.with_suffix(".json").unlink(),
    "truncated_index": lambda p: _truncate(p, keep_manifest_size=True),
    "truncated_index_size_fixed": lambda p: _truncate(p, keep_manifest_size=False),
    "garbage_index": lambda p: p.write_bytes(os.urandom(p.stat().st_size)),
    "garbage_manifest": lambda p: p.with_suffix(".json").write_bytes(b"\x00{not json"),
    "manifest_not_a_dict": lambda p: p.with_suffix(".json").write_text("[1, 2]"),
    "manifest_count_wrong": lambda p: _edit_manifest(p, count=N + 5),
    "manifest_dim_lies": lambda p: _edit_manifest(p, dim=DIM * 2),
    "manifest_unknown_format": lambda p: _edit_manifest(p, format_version=999),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_load_returns_none_when_broken(index: VectorIndex, tmp_path: Path, corruption: str) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {})
    assert VectorIndex.load(path, DIM) is not None  # the good file does load
    CORRUPTIONS[corruption](path)
    # "manifest_dim_lies" must be caught by the header check with dim=2*DIM.
    assert VectorIndex.load(path, DIM) is None
    assert VectorIndex.load(path, DIM * 2) is None


def test_load_returns_none_for_wrong_dim(index: VectorIndex, tmp_path: Path) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {})
    assert VectorIndex.load(path, DIM + 1) is None
    assert VectorIndex.load(path, DIM) is not None


def test_read_manifest_does_not_import_hnswlib(index: VectorIndex, tmp_path: Path) -> None:
    path = tmp_path / "v.hnsw"
    index.save(path, {"generation": 3})
    assert VectorIndex.read_manifest(tmp_path / "missing.hnsw") is None
    code = (
        "import sys; from pathlib import Path\n"
        "from photoclip.core.search.vector_index import VectorIndex\n"
        f"m = VectorIndex.read_manifest(Path({str(path)!r}))\n"
        "assert m['generation'] == 3 and m['count'] > 0, m\n"
        "assert 'hnswlib' not in sys.modules, 'hnswlib imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------- concurrency


def _reader(index: VectorIndex, vecs: np.ndarray, stop: threading.Event, out: dict) -> None:
    rng = np.random.default_rng(threading.get_ident() % 2**32)
    try:
        while not stop.is_set():
            row = int(rng.integers(len(vecs)))
            hits = index.search(vecs[row], 5)
            assert hits[0][0] == row + 1 and hits[0][1] == pytest.approx(1.0, abs=1e-4)
            assert len(hits) == 5
            assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
            out["searches"] = out.get("searches", 0) + 1
    except BaseException as exc:  # surfaced by the main thread
        out["error"] = exc


def _writer(index: VectorIndex, extra: np.ndarray, out: dict) -> None:
    deadline = time.monotonic() + 1.0
    next_id = 1001
    try:
        # At least 500 new ids so capacity grows while readers are searching.
        while next_id < 1001 + len(extra) and (time.monotonic() < deadline or next_id < 1501):
            vec = extra[next_id - 1001][None, :]
            index.add([next_id], vec)
            index.add([next_id], -vec)  # upsert
            if next_id % 3 == 0:
                index.remove([next_id])
            next_id += 1
    except BaseException as exc:
        out["error"] = exc
    out["next_id"] = next_id


def test_concurrent_searches_during_adds() -> None:
    base = unit(1000, seed=30)  # never modified: always their own best match
    index = VectorIndex.build(DIM, np.arange(1, 1001), base)
    stop, results, written = threading.Event(), [{}, {}], {}
    threads = [
        threading.Thread(target=_reader, args=(index, base, stop, out), daemon=True) for out in results
    ]
    threads.append(threading.Thread(target=_writer, args=(index, unit(1500, seed=31), written), daemon=True))
    for t in threads:
        t.start()
    threads[-1].join(timeout=15)  # a starved writer fails here instead of hanging
    writer_finished = not threads[-1].is_alive()
    stop.set()
    for t in threads:
        t.join(timeout=5)
    assert writer_finished, "writer starved by searches"
    for out in (*results, written):
        assert "error" not in out, out.get("error")
    assert all(out.get("searches", 0) > 10 for out in results), "searches starved"
    live_new = sum(1 for i in range(1001, written["next_id"]) if i % 3)
    assert len(index) == 1000 + live_new


def test_lock_excludes_writers_from_readers_and_each_other() -> None:
    lock = ReadWriteLock()
    guard = threading.Lock()
    inside = {"readers": 0, "writers": 0}
    violations: list[dict] = []
    stop = threading.Event()

    def enter(kind: str, delta: int) -> None:
        with guard:
            inside[kind] += delta
            if inside["writers"] > 1 or (inside["writers"] and inside["readers"]):
                violations.append(dict(inside))

    def worker(kind: str) -> None:
        ctx = lock.write if kind == "writers" else lock.read
        while not stop.is_set():
            with ctx():
                enter(kind, 1)
                time.sleep(0.0002)
                enter(kind, -1)

    kinds = ["readers"] * 3 + ["writers"] * 2
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in kinds]
    for t in threads:
        t.start()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads), "deadlock or starvation"
    assert not violations, violations[:3]


def test_lock_allows_concurrent_readers() -> None:
    lock = ReadWriteLock()
    both_inside = threading.Barrier(2, timeout=2)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with lock.read():
                both_inside.wait()  # only passes if two readers hold it at once
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_lock_prefers_waiting_writer_over_new_readers() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    first_reader_in, release_first = threading.Event(), threading.Event()

    def first_reader() -> None:
        with lock.read():
            first_reader_in.set()
            release_first.wait(2)
        events.append("reader1 out")

    def writer() -> None:
        with lock.write():
            events.append("writer in")

    def late_reader() -> None:
        with lock.read():
            events.append("reader2 in")

    t1 = threading.Thread(target=first_reader)
    t1.start()
    first_reader_in.wait(2)
    tw = threading.Thread(target=writer)
    tw.start()
    give_up = time.monotonic() + 2
    while not lock._writers_waiting and time.monotonic() < give_up:
        time.sleep(0.001)  # wait until the writer is queued
    t2 = threading.Thread(target=late_reader)
    t2.start()
    time.sleep(0.05)
    assert events == []  # late reader must queue behind the writer
    release_first.set()
    for t in (t1, tw, t2):
        t.join(2)
    assert events.index("writer in") < events.index("reader2 in")


def test_lock_does_not_starve_readers_under_a_stream_of_writes() -> None:
    lock = ReadWriteLock()
    stop = threading.Event()
    reads: list[int] = []

    def busy_writer() -> None:
        while not stop.is_set():
            with lock.write():
                time.sleep(0.0005)

    def reader() -> None:
        for _ in range(50):
            with lock.read():
                reads.append(1)

    writers = [threading.Thread(target=busy_writer, daemon=True) for _ in range(2)]
    for t in writers:
        t.start()
    r = threading.Thread(target=reader, daemon=True)
    r.start()
    r.join(timeout=2)  # a starved reader fails here instead of hanging
    reads_in_time = len(reads)
    stop.set()
    for t in writers:
        t.join(timeout=2)
    r.join(timeout=2)
    assert reads_in_time == 50
