"""The true top-k of a filtered set, and the relevance cutoff for date-sorted results.

Post-filtering an HNSW top-k runs dry as soon as the filter is selective (a top-100
of 100k photos holds one photo of a 1% filter), so ``filtered_top_k`` chooses by
the filter's selectivity (measured with benchmarks/bench_search.py, 100k 512-d
clustered vectors, 2 cores):

* a small allowed set is scored exactly: its vectors (from the index's copy,
  ``VectorIndex.vectors_of``) times the query, ~0.3 ms for 1,000 photos, ~5 ms
  for 10,000 (gathering the rows is most of it), recall 1;
* a large one goes through hnswlib's ``filter=`` with a raised ef.  It visits
  about ef / selectivity nodes: cheap while the filter keeps a good share of the
  graph, slow and lossy when it keeps little (1%: ef=400 takes ~170 ms for recall
  0.999, exact scoring 0.5 ms).  A query near stored photos (an image) reaches
  recall@20 0.999 at ef=128 (50%: 0.8 ms); a text-like query, far from every
  photo, needs far more: at 50%, ef=128 gives 0.87, 512 gives 0.988, 1024 gives
  0.998 (7 ms).  A lower share needs no higher ef (more nodes are visited per
  allowed result), so ef follows k, not the share.  If the graph runs dry (fewer
  allowed photos reachable than asked for), the answer is scored exactly instead.

Unfiltered search (``nearest_top_k``, used by Searcher.nearest) has the same problem
with text queries: CLIP text vectors sit far from every image vector (the modality gap,
best cosine ~0.3) and HNSW's greedy descent loses its way there. Text-like queries on
100k vectors (benchmarks/bench_search.py --only unfiltered-recall), recall@20 / p50:
ef=64 (the index's default) 0.47 / 0.3 ms, 128 0.86, 256 0.968, 512 0.995 / 1.3 ms,
1024 0.997 / 2.4 ms. Exact scoring of every row of the index's float32 copy (chunks of
512) gives recall 1 at ~2 ms for 10k photos, ~9 ms for 50k, ~19-25 ms for 100k (p95
21-45 ms) and ~47 ms for 200k. So: exact up to 50k photos (~10 ms, a copy of 100 MB at
512-d), HNSW at ef=512 above, the smallest ef reaching 0.99.
"""

from __future__ import annotations

import numpy as np

from .vector_index import Hit, VectorIndex
from .vector_rows import SCORE_CHUNK, IdTest, best_of

# Unfiltered search (nearest_top_k): exact up to EXACT_NEAREST_MAX photos (~10 ms, where
# 100k takes ~20 ms and a 200 MB copy), HNSW above at NEAREST_EF (recall@20 0.995 on
# text-like queries at 100k, ~1.3 ms; the index's own ef=64 gives 0.47).
EXACT_NEAREST_MAX = 50_000
NEAREST_EF = 512
# Exact scoring up to EXACT_MAX_ROWS allowed ids (~5 ms, where HNSW at 10% of 100k costs
# 2-8 ms), and below HNSW_MIN_SHARE of the index at any size (HNSW slows and loses recall
# there: 5% of 100k needed ef=100 and ~13 ms for 0.998).
EXACT_MAX_ROWS = 10_000
HNSW_MIN_SHARE = 0.05
# The filtered HNSW search's ef: at least FILTERED_EF and EF_PER_K * k, capped.
FILTERED_EF = 1024
EF_PER_K = 8
MAX_FILTERED_EF = 4096
# adaptive_cutoff: a match stands Z robust standard deviations above the query's typical
# score and within KEEP_FRACTION of the way from typical to the best score.
CUTOFF_Z = 3.0
KEEP_FRACTION = 0.5
MAD_TO_STD = 1.4826  # a normal distribution's std / its median absolute deviation


def nearest_top_k(index: VectorIndex, query: np.ndarray, k: int) -> list[Hit]:
    """(id, cosine similarity) of the best ``k`` photos of the whole index, best first:
    exact up to EXACT_NEAREST_MAX photos, HNSW searched NEAREST_EF wide above."""
    if len(index) <= EXACT_NEAREST_MAX:
        return index.search_exact(query, k)
    return index.search(query, k, ef=NEAREST_EF)


def filtered_top_k(index: VectorIndex, query: np.ndarray, allowed: np.ndarray, k: int) -> list[Hit]:
    """(id, cosine similarity) of the best ``k`` ids in ``allowed`` that the index holds,
    best first (ties by id). Ids not in the index (never added, or removed) are skipped."""
    wanted = sorted_unique(allowed)
    live = len(index)
    if k <= 0 or not len(wanted) or not live:
        return []
    if len(wanted) <= EXACT_MAX_ROWS or len(wanted) < HNSW_MIN_SHARE * live:
        return exact_top_k(index, query, wanted, k)
    ef = min(MAX_FILTERED_EF, max(FILTERED_EF, EF_PER_K * k))
    found = index.search_filtered(query, k, member_test(wanted), ef)
    if found is None or len(found) < k:  # ran dry: more may be allowed than it reached
        return exact_top_k(index, query, wanted, k)
    return found


def exact_top_k(index: VectorIndex, query: np.ndarray, allowed: np.ndarray, k: int) -> list[Hit]:
    """Brute-force scoring of the allowed ids' vectors: the reference answer."""
    q = unit_query(query, index.dim)
    wanted = np.asarray(allowed, dtype=np.int64).reshape(-1)
    id_parts, score_parts = [wanted[:0]], [np.empty(0, dtype=np.float32)]
    for start in range(0, len(wanted), SCORE_CHUNK):
        found, vectors = index.vectors_of(wanted[start:start + SCORE_CHUNK])
        id_parts.append(found)
        score_parts.append(vectors @ q)
    return best_of(np.concatenate(id_parts), np.concatenate(score_parts), k)


def sorted_unique(ids: np.ndarray) -> np.ndarray:
    """The ids as sorted unique int64 (the catalog's lists already are: no sort then)."""
    flat = np.asarray(ids, dtype=np.int64).reshape(-1)
    return flat if bool(np.all(flat[1:] > flat[:-1])) else np.unique(flat)


def unit_query(query: np.ndarray, dim: int) -> np.ndarray:
    """The query as hnswlib's cosine space sees it: float32, unit length."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if q.shape != (dim,):
        raise ValueError(f"query must have shape ({dim},), got {q.shape}")
    return q / np.float32(max(float(np.linalg.norm(q)), 1e-30))


def member_test(ids: np.ndarray) -> IdTest:
    """A fast ``id in ids`` for hnswlib's filter, which calls it once per visited node:
    a boolean mask by id (built in ~0.1 ms for 50k ids; a set takes ~3 ms)."""
    mask = np.zeros(int(ids.max()) + 1, dtype=bool)
    mask[ids] = True
    size = len(mask)
    return lambda label: label < size and mask[label]


def adaptive_cutoff(scores: np.ndarray, background: np.ndarray | None = None) -> float:
    """The score at and above which a hit counts as a match, for this query.

    ``scores``: the candidates' scores (the best of the filtered set); ``background``:
    the same query's scores on a random sample of the library (default: ``scores``),
    which says what an unrelated photo scores for this query. With ``typical`` and
    ``spread`` the sample's median and robust standard deviation (MAD: the matches in
    the sample must not inflate it), the cutoff is

        max(typical + CUTOFF_Z * spread, best - KEEP_FRACTION * (best - typical))

    The first term keeps photos that stand out from the crowd (a query matching
    nothing keeps only outliers); the second keeps, of a strong query, those close
    to its best (near-duplicates of the query must not let junk through just
    because it stands above the crowd). The best hit is always a match: a query
    shows at least one photo. Returns inf when there are no scores.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not len(values):
        return float("inf")
    crowd = values if background is None else np.asarray(background, dtype=np.float64).reshape(-1)
    if not len(crowd):
        crowd = values
    best = float(values.max())
    typical = float(np.median(crowd))
    spread = MAD_TO_STD * float(np.median(np.abs(crowd - typical))) or float(crowd.std())
    cutoff = max(typical + CUTOFF_Z * spread, best - KEEP_FRACTION * (best - typical))
    return min(cutoff, best)
