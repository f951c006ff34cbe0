"""Dense retrieval: cosine similarity of the query with the passage embeddings.

Why exact search by default: unit vectors in one float32 matrix scored with a single
matrix-vector product are exact and take well under a millisecond up to ~10^5 passages.
From 200k passages (``vecindex.ANN_MIN_ROWS``) a scan per query costs more than the whole
walk (a 300 MB matrix read at 8.8M edges), so the walk's truncated prior takes its top
passages from the vector index instead (:func:`indexed_scores`).
"""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first (stable for ties)."""
    k = min(k, scores.shape[-1])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < scores.shape[-1]:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(scores.shape[-1])
    return part[np.lexsort((part, -scores[part]))]


def dense_scores(query_vecs: np.ndarray, passage_mat: np.ndarray) -> np.ndarray:
    """Cosine scores (rows: queries, columns: passages) for unit vectors."""
    if passage_mat.shape[0] == 0:
        return np.zeros((query_vecs.shape[0], 0), dtype=np.float32)
    return query_vecs @ passage_mat.T


def indexed_scores(rows, queries: np.ndarray, n: int) -> np.ndarray:
    """Cosines of each query's ``n`` nearest rows of ``rows`` (a snapshot table) by its
    approximate index (exact, re-ranked scores), -inf elsewhere: all a truncated prior
    needs."""
    idx, scores = rows.nearest(queries, n)
    out = np.full((queries.shape[0], len(rows)), -np.inf, dtype=np.float32)
    np.put_along_axis(out, idx, scores.astype(np.float32), axis=1)
    return out


def score_of(dense: np.ndarray, mat: np.ndarray, queries: np.ndarray, i: int, j: int) -> float:
    """Query ``i``'s cosine with row ``j``, computed now when ``dense`` left it out (a
    passage the walk found beyond the index's candidates)."""
    v = float(dense[i, j])
    return v if np.isfinite(v) else float(mat[j] @ queries[i])
