"""Filtered search: the true top-k of an allow-list, and the sort:date relevance cutoff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.search import filtered_knn
from photoclip.core.search.filtered_knn import adaptive_cutoff, filtered_top_k
from photoclip.core.search.index_store import IndexStore
from photoclip.core.search.searcher import Searcher
from photoclip.core.search.vector_index import VectorIndex

DIM = 32
N = 2000
IDS = 10 + 3 * np.arange(N, dtype=np.int64)  # gaps: 11, 12, ... are ids the index never had


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, clusters: int, dim: int, seed: int, cos: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around random centres, cos(vector, centre) ~ ``cos``; (vectors, cluster of each)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, dim)))
    label = rng.integers(0, clusters, n)
    sigma = np.sqrt(1 / cos**2 - 1) / np.sqrt(dim)
    return unit(centres[label] + rng.standard_normal((n, dim)) * sigma), label


VECTORS, _ = clustered(N, 40, DIM, seed=1)
ALL = dict(zip(IDS.tolist(), VECTORS, strict=True))
QUERIES = unit(VECTORS[::97] + np.random.default_rng(2).standard_normal((len(VECTORS[::97]), DIM)) * 0.1)


def brute(vectors: dict[int, np.ndarray], query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    """The reference: every allowed vector the index holds scored, best first, ties by id."""
    scored = [(float(unit(vectors[i]) @ unit(query)), i) for i in set(allowed.tolist()) if i in vectors]
    return [i for _, i in sorted(scored, key=lambda si: (-si[0], si[1]))[:k]]


@pytest.fixture
def index() -> VectorIndex:
    return VectorIndex.build(DIM, IDS, VECTORS)


@pytest.fixture
def hnsw_only(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Forces the HNSW branch; returns the list of its calls' k, to show it ran."""
    monkeypatch.setattr(filtered_knn, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(filtered_knn, "HNSW_MIN_SHARE", 0.0)
    calls: list[int] = []
    real = VectorIndex.search_filtered

    def spy(self: VectorIndex, query: np.ndarray, k: int, allowed: object, ef: int) -> object:
        calls.append(k)
        return real(self, query, k, allowed, ef)  # type: ignore[arg-type]

    monkeypatch.setattr(VectorIndex, "search_filtered", spy)
    return calls


def allow_list(share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(IDS, max(1, int(share * N)), replace=False))


def check_against_brute(index: VectorIndex, vectors: dict[int, np.ndarray], allowed: np.ndarray,
                        k: int) -> None:
    for query in QUERIES:
        got = filtered_top_k(index, query, allowed, k)
        assert [i for i, _ in got] == brute(vectors, query, allowed, k)
        want_scores = [float(unit(vectors[i]) @ unit(query)) for i, _ in got]
        assert [s for _, s in got] == pytest.approx(want_scores, abs=1e-5)


@pytest.mark.parametrize("share", [0.001, 0.01, 0.1, 0.5, 1.0])
def test_exact_top_k_matches_brute_force(index: VectorIndex, share: float) -> None:
    check_against_brute(index, dict(zip(IDS.tolist(), VECTORS, strict=True)), allow_list(share, 3), 10)


@pytest.mark.parametrize("share", [0.1, 0.5, 1.0])
def test_hnsw_branch_gives_the_same_answer(index: VectorIndex, hnsw_only: list[int], share: float) -> None:
    check_against_brute(index, dict(zip(IDS.tolist(), VECTORS, strict=True)), allow_list(share, 4), 10)
    assert hnsw_only  # the graph was searched


def test_ids_missing_from_the_index_and_removed_ids_are_skipped(index: VectorIndex) -> None:
    removed = IDS[::5]
    index.remove(removed)
    live = {int(i): v for i, v in zip(IDS, VECTORS, strict=True) if i not in set(removed.tolist())}
    allowed = np.concatenate([IDS[:300], IDS[:300] + 1, [10**9]])  # +1: never in the index
    check_against_brute(index, live, allowed, 20)
    assert not {i for q in QUERIES for i, _ in filtered_top_k(index, q, allowed, 50)} - set(live)


def test_empty_allowed_set_and_k_larger_than_it(index: VectorIndex) -> None:
    assert filtered_top_k(index, QUERIES[0], np.array([], dtype=np.int64), 10) == []
    assert filtered_top_k(index, QUERIES[0], IDS[:5], 0) == []
    allowed = np.array([IDS[7], IDS[3], IDS[3], 11, IDS[900]])  # a duplicate, and 11 not in it
    got = filtered_top_k(index, QUERIES[0], allowed, 10)
    assert [i for i, _ in got] == brute(ALL, QUERIES[0], allowed, 10)
    assert len(got) == 3


def test_hnsw_running_dry_falls_back_to_exact(index: VectorIndex, hnsw_only: list[int]) -> None:
    # 6 allowed photos, 10 asked for: hnswlib cannot fill k and says so; exact scoring answers.
    allowed = IDS[[5, 50, 500, 1000, 1500, 1999]]
    got = filtered_top_k(index, QUERIES[1], allowed, 10)
    assert hnsw_only == [10]
    assert [i for i, _ in got] == brute(ALL, QUERIES[1], allowed, 10)


def test_vector_copy_follows_adds_and_removes(index: VectorIndex) -> None:
    vectors = dict(zip(IDS.tolist(), VECTORS, strict=True))
    allowed = np.concatenate([IDS[:200], [7]])
    filtered_top_k(index, QUERIES[0], allowed, 5)  # makes the copy before the changes below
    best = brute(vectors, QUERIES[0], allowed, 1)[0]
    index.remove([best])  # the best goes ...
    vectors.pop(best)
    index.add([IDS[150], 7], np.stack([QUERIES[0] * 3, -QUERIES[0]]))  # an upsert, and a new id
    vectors[int(IDS[150])], vectors[7] = QUERIES[0] * 3, -QUERIES[0]
    got = filtered_top_k(index, QUERIES[0], allowed, 10)
    assert got[0] == (int(IDS[150]), pytest.approx(1.0, abs=1e-5))
    assert [i for i, _ in got] == brute(vectors, QUERIES[0], allowed, 10)
    assert filtered_top_k(index, -QUERIES[0], np.array([7, best]), 2) == [(7, pytest.approx(1.0, abs=1e-5))]
    index.add([best], VECTORS[IDS.tolist().index(best)][None])  # ... and comes back
    assert filtered_top_k(index, QUERIES[0], allowed, 2)[1][0] == best


# -- adaptive_cutoff -------------------------------------------------------------------------


def test_cutoff_keeps_exactly_the_cluster_the_query_falls_in() -> None:
    vectors, label = clustered(1200, 30, 128, seed=5)
    query = unit(vectors[label == 3].mean(axis=0))
    scores = vectors @ query
    sample = np.random.default_rng(6).choice(len(vectors), 300, replace=False)
    cutoff = adaptive_cutoff(np.sort(scores)[-50:], scores[sample])
    assert set(np.flatnonzero(scores >= cutoff)) == set(np.flatnonzero(label == 3))


def test_one_querys_best_is_another_querys_junk() -> None:
    rng = np.random.default_rng(7)
    # Query A: unrelated photos score 0.15 +- 0.02; ten real matches at 0.26-0.28.
    a_crowd, a_matches = rng.normal(0.15, 0.02, 1000), np.linspace(0.26, 0.28, 10)
    # Query B: its unrelated photos already score 0.26 +- 0.02 and nothing matches.
    b_crowd = rng.normal(0.26, 0.02, 1000)
    a_cut = adaptive_cutoff(np.concatenate([a_crowd, a_matches]), a_crowd)
    b_cut = adaptive_cutoff(b_crowd, b_crowd)
    assert a_cut <= 0.26 < b_cut  # 0.26 is a match for A and junk for B
    assert (a_crowd >= a_cut).sum() <= 3
    assert 1 <= (b_crowd >= b_cut).sum() <= 5  # a few outliers; the best always shows


def test_near_duplicate_best_does_not_let_the_crowd_through() -> None:
    crowd = np.random.default_rng(8).normal(0.5, 0.05, 1000)
    scores = np.concatenate([crowd, [0.99, 0.97, 0.9, 0.88]])
    cutoff = adaptive_cutoff(scores)  # the scores are their own background
    assert 0.7 < cutoff < 0.88  # within half the way from typical (0.5) to the best (0.99)
    assert (scores >= cutoff).sum() == 4


def test_cutoff_of_nothing_and_of_identical_scores() -> None:
    assert adaptive_cutoff(np.array([])) == float("inf")
    assert adaptive_cutoff(np.full(20, 0.3)) == pytest.approx(0.3)
    assert adaptive_cutoff(np.array([0.3]), np.array([])) == pytest.approx(0.3)


# -- the searcher, with a real catalog --------------------------------------------------------

MODEL = "hand:v1"
QUERY = np.eye(8, dtype=np.float32)[0]


class NoEncoder:
    model_id = MODEL


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Searcher, Catalog, dict[str, int]]]:
    """20 photos: m0..m5 match QUERY (cos 0.99 down to 0.94), j0..j13 do not (|cos| <= 0.1).
    Taken: m_i at 1000 * (i + 1) s, except m3 with no date (its file time is 3500 s)."""
    folder = (tmp_path / "photos").resolve()
    folder.mkdir()
    rng = np.random.default_rng(9)
    vectors: dict[str, np.ndarray] = {}
    for i in range(6):  # scores exactly 0.99 - 0.01 * i
        cos = 0.99 - 0.01 * i
        vectors[f"m{i}.jpg"] = (cos * QUERY + np.sqrt(1 - cos**2) * np.eye(8)[1 + i]).astype(np.float32)
    for i in range(14):
        rest = unit(rng.standard_normal(7)) * np.sqrt(1 - 0.01)
        vectors[f"j{i}.jpg"] = unit(np.array([0.1 * np.sin(i), *rest]))
    for name in vectors:
        (folder / name).write_bytes(b"")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    added = catalog.add_folder(folder)
    catalog.mark_pending(added.id, [(folder / n, 1, 3500 * 10**9 if n == "m3.jpg" else 1) for n in vectors])
    pending = catalog.pending_photos()

    def taken(name: str) -> float | None:
        return None if name == "m3.jpg" or name[0] == "j" else 1000.0 * (int(name[1]) + 1)

    catalog.record_results([EncodedPhoto(p.id, f"h{p.id}", 4, 4, taken(p.path.name),
                                         vectors[p.path.name], MODEL) for p in pending])
    ids = {p.path.name: p.id for p in pending}
    searcher = Searcher(catalog, NoEncoder(), IndexStore(catalog, tmp_path / "index.bin", MODEL))  # type: ignore[arg-type]
    yield searcher, catalog, ids
    catalog.close()


def names(hits: list) -> list[str]:
    return [h.path.name for h in hits]


def test_nearest_filtered_returns_only_allowed_photos_best_first(library: tuple) -> None:
    searcher, catalog, ids = library
    allowed = np.array([ids[n] for n in ("m1.jpg", "m4.jpg", "j0.jpg", "j5.jpg", "j9.jpg")])
    by_score = sorted(("m1.jpg", "m4.jpg", "j0.jpg", "j5.jpg", "j9.jpg"),
                      key=lambda n: -float(catalog.vector(ids[n], MODEL) @ QUERY))
    hits = searcher.nearest_filtered(QUERY, allowed, 3)
    assert names(hits) == by_score[:3]
    assert [h.score for h in hits] == pytest.approx(
        [float(catalog.vector(ids[n], MODEL) @ QUERY) for n in by_score[:3]], abs=1e-5)
    hits = searcher.nearest_filtered(QUERY, allowed, 10, exclude={ids["m1.jpg"]})
    assert sorted(names(hits)) == sorted(["m4.jpg", "j0.jpg", "j5.jpg", "j9.jpg"])
    assert names(searcher.nearest_filtered(QUERY, allowed, 10, min_score=0.5)) == ["m1.jpg", "m4.jpg"]
    assert searcher.nearest_filtered(QUERY, np.array([], dtype=np.int64), 10) == []


def test_nearest_filtered_drops_gone_files_and_asks_for_more(library: tuple) -> None:
    searcher, catalog, ids = library
    allowed = np.array([ids[f"m{i}.jpg"] for i in range(6)])
    (catalog.photos_by_ids([ids["m0.jpg"]])[ids["m0.jpg"]].path).unlink()
    catalog.trash([ids["m1.jpg"]])
    assert names(searcher.nearest_filtered(QUERY, allowed, 2)) == ["m2.jpg", "m3.jpg"]


def test_by_date_shows_the_matches_newest_first_and_counts_the_hidden(library: tuple) -> None:
    searcher, _, ids = library
    hits, hidden = searcher.by_date(QUERY, None, 10)
    # m3 has no capture date: its file time (3500 s) puts it between m4 (5000) and m2 (3000).
    assert names(hits) == ["m5.jpg", "m4.jpg", "m3.jpg", "m2.jpg", "m1.jpg", "m0.jpg"]
    assert hidden == 4  # the best 10 by relevance: 6 matches and 4 weaker ones
    allowed = np.array([ids[n] for n in ("m0.jpg", "m4.jpg", "j1.jpg", "j2.jpg")])
    hits, hidden = searcher.by_date(QUERY, allowed, 3)
    assert (names(hits), hidden) == (["m4.jpg", "m0.jpg"], 1)
    assert searcher.by_date(QUERY, np.array([], dtype=np.int64), 5) == ([], 0)
