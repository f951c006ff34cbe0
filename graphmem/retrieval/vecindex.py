"""Nearest neighbours in a snapshot's vectors: exact for small memories, approximate for
large ones.

Why: at a million entities and two million facts the vectors, not the graph, are the
wall: 4.6 GB of float32, and an exact scan per query costs more than the whole latency
budget. Above ``ANN_MIN_ROWS`` rows, a faiss IVF-PQ index (48 bytes per vector, trained
on a sample) proposes candidates and the exact vectors (memory-mapped; only the
candidates' pages are read) re-rank them, so scores are exact and only recall is
approximate (``benchmarks/scale.py`` reports recall@10 against an exact scan). Rows added
after the index was built are scanned exactly until they are a fifth of the index, then
the index is rebuilt. Below the threshold everything is an exact matrix product, as it
always was (MuSiQue-100 and LoCoMo never touch the index).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ANN_MIN_ROWS = 200_000
NPROBE = 96
"""Lists searched per query: on real MiniLM vectors (MuSiQue-100 entities and facts,
`benchmarks/ann_recall.py`) recall@10 was 0.936 at 48, 0.957 at 96, 0.978 at 192."""
RERANK = 8
"""Candidates fetched per wanted neighbour, re-ranked exactly."""


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, scores.shape[1])
    if k <= 0:
        return np.zeros((scores.shape[0], 0), np.int64), np.zeros((scores.shape[0], 0),
                                                                   np.float32)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    return idx.astype(np.int64), np.take_along_axis(scores, idx, axis=1)


class Ann:
    """An IVF-PQ index over the first ``n`` rows of a matrix (immutable once built)."""

    def __init__(self, index: Any, n: int) -> None:
        self.index = index
        self.n = n

    @classmethod
    def build(cls, matrix: np.ndarray, seed: int = 0) -> Ann:
        import faiss

        n, d = matrix.shape
        nlist = int(min(4096, max(64, 4 * np.sqrt(n))))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFPQ(quantizer, d, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = np.ascontiguousarray(matrix[np.sort(rng.choice(n, min(n, 60_000),
                                                                replace=False))])
        index.train(sample)
        for start in range(0, n, 200_000):  # stream from the memory map
            index.add(np.ascontiguousarray(matrix[start:start + 200_000], dtype=np.float32))
        index.nprobe = NPROBE
        log.info("built an IVF-PQ index of %d vectors (%d lists)", n, nlist)
        return cls(index, n)

    def save(self, path: str) -> None:
        import faiss

        faiss.write_index(self.index, path)

    @classmethod
    def load(cls, path: str, n: int) -> Ann:
        import faiss

        index = faiss.read_index(path)
        index.nprobe = NPROBE
        return cls(index, n)


class Nearest:
    """The nearest-neighbour side of a :class:`~graphmem.retrieval.snapshot.Rows`."""

    def __init__(self, ann: Ann | None = None) -> None:
        self.ann = ann
        self._lock = threading.Lock()

    def search(self, matrix: np.ndarray, queries: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosine scores of the ``k`` nearest rows to each query."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n = matrix.shape[0]
        if n < ANN_MIN_ROWS:
            return _top(q @ np.asarray(matrix).T, k)
        ann = self._index(matrix)
        want = min(n, k * RERANK)
        _, cand = ann.index.search(q, min(want, ann.n))
        tail = np.arange(ann.n, n)
        idx = np.empty((q.shape[0], k), np.int64)
        sc = np.empty((q.shape[0], k), np.float32)
        for i in range(q.shape[0]):
            rows = np.concatenate([cand[i][cand[i] >= 0], tail])
            exact = np.asarray(matrix[np.sort(rows)]) @ q[i]
            top, s = _top(exact[None, :], k)
            idx[i], sc[i] = np.sort(rows)[top[0]], s[0]
        return idx, sc

    def _index(self, matrix: np.ndarray) -> Ann:
        with self._lock:
            n = matrix.shape[0]
            if self.ann is None or (n - self.ann.n) > self.ann.n // 5:
                self.ann = Ann.build(matrix)
            return self.ann
