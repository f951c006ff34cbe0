"""Personalized PageRank as a pure function over CSR arrays, compiled with numba (the
kernels live in ``kernels.py``, imported only when a walk needs them).

Why not scipy or igraph: both are fine for one query, but a plain numba re-write of a
sparse matrix-vector product gains nothing on two cores (measured). What wins, each
measured in ``benchmarks/ppr.py``:

1. one fused pass per iteration — gather, teleport, dangling mass and the L1 residual —
   instead of separate vector operations;
2. float32 values and pre-normalised float32 transition weights (the residual is summed
   in float64; results match float64 references to ~1e-8);
3. rows split into blocks of equal edge count, run in parallel;
4. nodes renumbered once per graph (reverse Cuthill-McKee) so the neighbours a row
   gathers from sit close in memory;
5. many queries in one sweep: each edge is loaded once for a whole batch, which is what
   makes ``search_many`` several times cheaper per query than single searches.

Conventions: row ``v`` of the CSR lists the nodes ``u`` with an edge ``u -> v`` and its
weight (for an undirected graph that is simply the adjacency). ``out_degree[u]`` is the
total weight leaving ``u``. Mass reaching a node with no out-weight (dangling) returns
to the reset distribution, as in igraph and networkx. Reset vectors need not be
normalised but must have positive mass.

>>> import numpy as np
>>> indptr = np.array([0, 1, 3, 4]); indices = np.array([1, 0, 2, 1])
>>> w = np.ones(4, dtype=np.float32)
>>> p = personalized_pagerank(indptr, indices, w, None, np.array([1.0, 0, 0]), damping=0.5)
>>> [round(float(x), 4) for x in p]
[0.6, 0.3, 0.1]
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from graphmem.config import PPR_DAMPING, PPR_MAX_ITER, PPR_TOL

N_BLOCKS = 16
BATCH = 32


class PPRError(ValueError):
    """The walk cannot be run as asked (bad reset vector or graph arrays)."""


def _check_csr(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    n = indptr.shape[0] - 1
    if not (n >= 1 and indptr[0] == 0 and indptr[-1] == indices.shape[0] == weights.shape[0]):
        raise PPRError("CSR arrays disagree: indptr[0] must be 0 and indptr[-1] must equal "
                       "len(indices) and len(weights)")
    if np.any(np.diff(indptr) < 0):
        raise PPRError("indptr must be non-decreasing")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise PPRError("CSR indices point outside the graph")
    if weights.size and (not np.all(np.isfinite(weights)) or weights.min() < 0):
        raise PPRError("edge weights must be finite and non-negative")
    return indptr, indices, weights


def out_degree_of(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted out-degree when CSR rows hold incoming edges (sums weights by source)."""
    return np.bincount(indices, weights=np.asarray(weights, dtype=np.float64),
                       minlength=len(indptr) - 1)


def _rcm_order(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    import scipy.sparse as sp
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    pattern = sp.csr_matrix((np.ones(len(indices), dtype=np.int8), indices, indptr),
                            shape=(n, n))
    return np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=False), dtype=np.int64)


class TransitionCSR:
    """A graph prepared once for many walks.

    Holds normalised float32 weights, the dangling nodes, an edge-balanced split of the
    rows and (with ``reorder``; by default from ``PARALLEL_MIN_EDGES`` CSR entries up) a
    locality-improving renumbering of the nodes that
    :func:`ppr_many` undoes on the way out, so callers never see it.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                 out_degree: np.ndarray | None = None, reorder: bool | None = None,
                 n_blocks: int = N_BLOCKS) -> None:
        indptr, indices, w = _check_csr(indptr, indices, weights)
        self.n = indptr.shape[0] - 1
        if out_degree is None:
            out_degree = out_degree_of(indptr, indices, w)
        out_degree = np.ascontiguousarray(out_degree, dtype=np.float64)
        if out_degree.shape[0] != self.n:
            raise PPRError("out_degree must have one entry per node")
        self.order: np.ndarray | None = None
        self._rows: np.ndarray | None = None
        # renumbering pays on big graphs only (MuSiQue-100: 2.2 ms a walk with, 2.1
        # without) and costs scipy's import and the ordering in every new process
        if reorder is None:
            reorder = indices.size >= PARALLEL_MIN_EDGES
        if reorder and self.n > 1 and indices.size:
            order = _rcm_order(indptr, indices, self.n)
            rank = np.empty_like(order)
            rank[order] = np.arange(self.n)
            counts = np.diff(indptr)[order]
            new_ptr = np.zeros(self.n + 1, dtype=np.int64)
            np.cumsum(counts, out=new_ptr[1:])
            take = _gather_rows(indptr, order, new_ptr)
            indices = np.ascontiguousarray(rank[indices[take]], dtype=np.int32)
            w = np.ascontiguousarray(w[take])
            indptr = new_ptr
            out_degree = out_degree[order]
            self.order = order
        self.indptr, self.indices = indptr, indices
        od = out_degree[indices]
        self.norm_weights = np.divide(w, od, out=np.zeros_like(w), where=od > 0,
                                      dtype=np.float32)
        self.dangling = np.flatnonzero(out_degree <= 0).astype(np.int64)
        cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], n_blocks + 1))
        cuts[0], cuts[-1] = 0, self.n
        self.bounds = np.unique(cuts).astype(np.int64)  # strictly increasing, 0 ... n

    @property
    def row_of_entry(self) -> np.ndarray:
        """The row of every CSR entry (what numpy's matrix-vector product needs)."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))
        return self._rows

    def to_internal(self, r: np.ndarray) -> np.ndarray:
        return r if self.order is None else r[self.order]

    def to_external(self, p: np.ndarray) -> np.ndarray:
        if self.order is None:
            return p
        out = np.empty_like(p)
        out[self.order] = p
        return out


def _gather_rows(indptr: np.ndarray, order: np.ndarray, new_ptr: np.ndarray) -> np.ndarray:
    """Edge positions of the rows in ``order``, concatenated (vectorised)."""
    counts = np.diff(new_ptr)
    starts = np.repeat(indptr[order] - new_ptr[:-1], counts)
    return starts + np.arange(new_ptr[-1], dtype=np.int64)


def _reset_matrix(reset: np.ndarray, n: int) -> np.ndarray:
    r = np.asarray(reset, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] != n:
        raise PPRError(f"reset vector has {r.shape[0]} entries for a graph of {n} nodes")
    if not np.all(np.isfinite(r)) or (r.size and r.min() < 0):
        raise PPRError("reset vector must be finite and non-negative")
    mass = r.sum(axis=0)
    if np.any(mass <= 0):
        bad = int(np.flatnonzero(mass <= 0)[0])
        raise PPRError(f"reset vector {bad} is all zeros: nothing to personalise the walk on")
    return np.ascontiguousarray(r / mass, dtype=np.float32)


_WORKQUEUE_LOCK = threading.Lock()


def _kernel_guard() -> Any:
    """numba's ``workqueue`` threading layer (used when neither TBB nor OpenMP is present)
    aborts when two threads run parallel kernels at once; serialise them only then."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: be safe for this first one
        return _WORKQUEUE_LOCK
    return _WORKQUEUE_LOCK if layer == "workqueue" else contextlib.nullcontext()


PARALLEL_MIN_EDGES = 500_000
"""Below this many CSR entries a walk runs on one thread. An iteration over a small graph
takes tens of microseconds, less than waking the other threads; and when the cores are
busy with other work (a server, an LLM beside it) every iteration's join waits for a
descheduled thread: a LoCoMo search (600 passages) took 540 ms with two threads on two
busy cores and 10 ms with one."""


NUMPY_MAX_ENTRIES = 300_000
"""Single walks on graphs below this many CSR entries may run on numpy (see
:func:`use_numba`)."""


KERNELS = "auto"
"""``auto`` (the rule of :func:`use_numba`), ``numba`` or ``numpy`` (tests pin one)."""


def use_numba(entries: int, queries: int = 1) -> bool:
    """Run a walk (or an explanation) in the numba kernels, or in their numpy twins?

    numba, whenever its kernels are already loaded in this process, for batches, and for
    graphs of ``NUMPY_MAX_ENTRIES`` CSR entries or more. Otherwise numpy: loading numba
    costs a new process ~0.5 s, while a whole search on MuSiQue-100 (106k entries) takes
    ~42 ms with numpy and ~20 ms with numba, so a one-shot CLI search starts in half the
    time. A process that keeps searching loads the kernels after ``NUMPY_WALKS`` numpy
    walks; servers load them when they start (:func:`load_kernels`). Both converge to
    the same tolerance (MuSiQue-100 recall is identical).
    """
    if KERNELS != "auto":
        return KERNELS == "numba" or queries > 1
    return queries > 1 or entries >= NUMPY_MAX_ENTRIES or \
        "graphmem.retrieval.kernels" in sys.modules


NUMPY_WALKS = 3
_numpy_walks = 0


def load_kernels() -> None:
    """Import (and load from numba's disk cache) every kernel, for long-lived processes."""
    from graphmem.retrieval import kernels  # noqa: F401


@contextlib.contextmanager
def kernel_scope(parallel: bool) -> Iterator[None]:
    """Run a numba kernel: serialised where the threading layer needs it, and on one
    thread (``numba.set_num_threads`` is per calling thread) unless ``parallel`` says
    there is enough work to share (see ``PARALLEL_MIN_EDGES``)."""
    import numba

    with _kernel_guard():
        if parallel:
            yield
            return
        before = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(before)


def ppr_many(graph: TransitionCSR, resets: np.ndarray, damping: float = PPR_DAMPING,
             tol: float = PPR_TOL, max_iter: int = PPR_MAX_ITER, batch: int = BATCH
             ) -> np.ndarray:
    """PPR for the columns of ``resets`` (n x q, or one vector of n); float64 n x q out.

    One query runs the single-vector kernel; several are walked ``batch`` at a time.
    Each column of the result sums to 1.
    """
    if not 0.0 < damping < 1.0:
        raise PPRError(f"damping must be in (0, 1), got {damping}")
    r = graph.to_internal(_reset_matrix(resets, graph.n))
    if not use_numba(int(graph.indptr[-1]), r.shape[1]):
        global _numpy_walks
        out = _ppr_numpy(graph, r[:, 0].astype(np.float64), damping, tol, max_iter)[:, None]
        _numpy_walks += 1
        if _numpy_walks >= NUMPY_WALKS and KERNELS == "auto":
            load_kernels()  # this process keeps walking: numba pays for itself from now
        return graph.to_external(out / out.sum(axis=0))
    from graphmem.retrieval.kernels import ppr_batch, ppr_single

    out = np.empty(r.shape, dtype=np.float64)
    args = (graph.indptr, graph.indices, graph.norm_weights, graph.dangling, graph.bounds)
    with kernel_scope(int(graph.indptr[-1]) >= PARALLEL_MIN_EDGES):
        if r.shape[1] == 1:
            p, _ = ppr_single(*args, np.ascontiguousarray(r[:, 0]), np.float32(damping), tol,
                              max_iter)
            out[:, 0] = p
        else:
            for start in range(0, r.shape[1], batch):
                block = np.ascontiguousarray(r[:, start:start + batch])
                p, _ = ppr_batch(*args, block, np.float32(damping), tol, max_iter)
                out[:, start:start + batch] = p
    out /= out.sum(axis=0)
    return graph.to_external(out)


def _ppr_numpy(graph: TransitionCSR, reset: np.ndarray, damping: float, tol: float,
               max_iter: int) -> np.ndarray:
    """The single-vector iteration of ``kernels.ppr_single`` in numpy (float64)."""
    rows = graph.row_of_entry
    p = reset.copy()
    for _ in range(max_iter):
        tele = (1.0 - damping) + damping * p[graph.dangling].sum()
        new = tele * reset + damping * np.bincount(
            rows, weights=graph.norm_weights * p[graph.indices], minlength=graph.n)
        err = np.abs(new - p).sum()
        p = new
        if err < tol:
            break
    return p


def personalized_pagerank(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                          out_degree: np.ndarray | None, reset: np.ndarray,
                          damping: float = PPR_DAMPING, tol: float = PPR_TOL,
                          max_iter: int = PPR_MAX_ITER) -> np.ndarray:
    """PPR scores of every node for one reset vector (or n x q scores for several).

    A convenience over :class:`TransitionCSR` and :func:`ppr_many`; prepare the graph
    once with :class:`TransitionCSR` when walking it for many queries.
    """
    graph = TransitionCSR(indptr, indices, weights, out_degree, reorder=False)
    res = ppr_many(graph, reset, damping, tol, max_iter)
    return res[:, 0] if np.asarray(reset).ndim == 1 else res
