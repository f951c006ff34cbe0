"""Benchmark: graphmem's PPR kernel against scipy, igraph PRPACK and networkx.

Two graphs: the MuSiQue-100 graph (built from the GPT-3.5 OpenIE file, walked with the
reset vectors the hybrid recipe builds for the 100 questions) and a synthetic graph of
~100k nodes / ~1.4M edges (12k passage nodes each mentioning 15 entities, power-law
entity-entity edges, resets = 5 entity seeds + every passage at a small weight).

Every method runs to the same L1 tolerance; ``max_abs_diff`` is measured against a
float64 power iteration run to 1e-13; times are medians of repeated runs. All methods
get their graph prepared in advance (scipy: a cached, column-normalised CSR;
igraph/networkx: a built Graph). Usage::

    python benchmarks/ppr.py [--json OUT.json] [--store DIR] [--tol 1e-7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import scipy.sparse as sp
from _common import MUSIQUE, require, write_json

from graphmem.retrieval.ppr import TransitionCSR, ppr_many


def synthetic(n_nodes: int = 100_000, n_passages: int = 12_000, n_edges: int = 1_400_000,
              seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    n_ent = n_nodes - n_passages
    pop = 1.0 / np.arange(1, n_ent + 1) ** 0.8
    pop /= pop.sum()
    rng.shuffle(pop)
    mentions = n_passages * 15
    src = np.r_[np.repeat(np.arange(n_passages), 15),
                n_passages + rng.choice(n_ent, n_edges - mentions, p=pop)]
    dst = np.r_[n_passages + rng.choice(n_ent, mentions, p=pop),
                n_passages + rng.choice(n_ent, n_edges - mentions, p=pop)]
    w = np.r_[np.ones(mentions), rng.integers(1, 4, n_edges - mentions).astype(float)]
    keep = src != dst
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    upper = sp.coo_matrix((w[keep], (lo, hi)), shape=(n_nodes, n_nodes)).tocsr()
    upper.sum_duplicates()
    return (upper + upper.T).tocsr(), n_passages


def synthetic_resets(n: int, n_passages: int, q: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = np.zeros((n, q))
    for j in range(q):
        r[:n_passages, j] = rng.random(n_passages) * 0.05 / n_passages
        r[n_passages + rng.integers(0, n - n_passages, 5), j] += rng.random(5)
    return r


def musique_graph(store: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    """The MuSiQue graph and the hybrid recipe's reset vectors for its 100 questions."""
    import json

    from graphmem import Memory
    from graphmem.retrieval.linking import query_spans
    from graphmem.retrieval.recipes import HYBRID

    mem = Memory(store)
    mem.index_openie(require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json"))
    questions = [q["question"] for q in json.loads((MUSIQUE / "questions.json").read_text())]
    ret = mem.retriever
    g = ret.graph()
    _, pmat = mem.store.vectors("passage")
    qv = mem.embedder.embed_queries(questions)
    resets = []
    for q, v in zip(questions, qv, strict=True):
        spans = query_spans(q)
        span_vec = dict(zip(spans, mem.embedder.embed_queries(spans), strict=True)) if spans \
            else {}
        seeds = ret._seeds(g, q, v, spans, span_vec, HYBRID)
        if seeds.entities:
            resets.append(ret._reset(g, seeds, pmat @ v, HYBRID))
    mat = sp.csr_matrix((g.weights.astype(np.float64), g.indices, g.indptr),
                        shape=(g.n_nodes, g.n_nodes))
    mem.close()
    return mat, np.column_stack(resets)


class ScipyPPR:
    """A cached, column-normalised float64 CSR and a plain power iteration."""

    def __init__(self, mat: sp.csr_matrix) -> None:
        out = np.asarray(mat.sum(axis=0)).ravel()
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        self.trans = (mat @ sp.diags(inv)).tocsr()
        self.dangling = out == 0

    def __call__(self, r: np.ndarray, d: float, tol: float) -> np.ndarray:
        r = r / r.sum()
        p = r.copy()
        for _ in range(10_000):
            new = (1 - d) * r + d * (self.trans @ p) + d * p[self.dangling].sum() * r
            if np.abs(new - p).sum() < tol:
                return new
            p = new
        return p


def timed(fn, reps: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Median wall time of ``reps`` calls after a warm-up (this VM's neighbours are noisy)."""
    out = fn()  # warm up (JIT, caches)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1000.0, out


def bench_graph(mat: sp.csr_matrix, resets: np.ndarray, d: float, tol: float,
                nx_queries: int) -> dict:
    n = mat.shape[0]
    q = resets.shape[1]
    sci = ScipyPPR(mat)
    ref = np.column_stack([sci(resets[:, j], d, 1e-13) for j in range(min(q, 8))])
    nq = ref.shape[1]
    graph = TransitionCSR(mat.indptr, mat.indices, mat.data)
    plain = TransitionCSR(mat.indptr, mat.indices, mat.data, reorder=False)
    res: dict[str, dict] = {"ms_per_query": {}, "max_abs_diff": {}}

    def record(name: str, ms: float, scores: np.ndarray) -> None:
        res["ms_per_query"][name] = round(ms, 3)
        res["max_abs_diff"][name] = float(np.max(np.abs(scores - ref[:, :scores.shape[1]])))

    ms = []
    cols = []
    for j in range(nq):
        t, p = timed(lambda j=j: ppr_many(graph, resets[:, j], d, tol), 7)
        ms.append(t)
        cols.append(p[:, 0])
    record("graphmem", float(np.mean(ms)), np.column_stack(cols))
    ms = [timed(lambda j=j: ppr_many(plain, resets[:, j], d, tol), 7)[0] for j in range(nq)]
    res["ms_per_query"]["graphmem_no_reorder"] = round(float(np.mean(ms)), 3)
    t, p = timed(lambda: ppr_many(graph, resets, d, tol), 5)
    record("graphmem_batched", t / q, p[:, :nq])
    for b in (4, 8, 16, 64):
        t, _ = timed(lambda b=b: ppr_many(graph, resets, d, tol, batch=b), 3)
        res["ms_per_query"][f"graphmem_batched_{b}"] = round(t / q, 3)
    ms = []
    cols = []
    for j in range(nq):
        t, p = timed(lambda j=j: sci(resets[:, j], d, tol), 7)
        ms.append(t)
        cols.append(p)
    record("scipy", float(np.mean(ms)), np.column_stack(cols))
    rows, cols_ = mat.nonzero()
    upper = rows < cols_
    g = ig.Graph(n=n, edges=np.c_[rows[upper], cols_[upper]].tolist(), directed=False)
    g.es["weight"] = np.asarray(mat[rows[upper], cols_[upper]]).ravel()
    ms = []
    cols = []
    for j in range(min(nq, 4)):
        t, p = timed(lambda j=j: np.array(g.personalized_pagerank(
            damping=d, reset=resets[:, j].tolist(), weights="weight",
            implementation="prpack")), 3)
        ms.append(t)
        cols.append(p)
    record("igraph", float(np.mean(ms)), np.column_stack(cols))
    gx = nx.from_scipy_sparse_array(mat)
    ms = []
    cols = []
    for j in range(nx_queries):
        pers = {i: float(v) for i, v in enumerate(resets[:, j]) if v > 0}
        t0 = time.perf_counter()
        pr = nx.pagerank(gx, alpha=d, personalization=pers, weight="weight", tol=tol / n,
                         max_iter=1000)
        ms.append((time.perf_counter() - t0) * 1000)
        cols.append(np.array([pr[i] for i in range(n)]))
    record("networkx", float(np.mean(ms)), np.column_stack(cols))
    res.update({"n_nodes": n, "n_edges": int(upper.sum()), "n_queries": q,
                "damping": d, "tol": tol})
    m = res["ms_per_query"]
    res["speedup"] = {"vs_igraph": round(m["igraph"] / m["graphmem"], 2),
                      "vs_scipy": round(m["scipy"] / m["graphmem"], 2),
                      "batched_vs_igraph": round(m["igraph"] / m["graphmem_batched"], 2),
                      "batched_vs_scipy": round(m["scipy"] / m["graphmem_batched"], 2)}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json")
    ap.add_argument("--store", help="MuSiQue store to reuse (default: a temporary one)")
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--damping", type=float, default=0.5)
    args = ap.parse_args()
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp()) / "musique"
    out: dict = {"graphs": {}}
    mat, resets = musique_graph(store)
    out["graphs"]["musique"] = bench_graph(mat, resets, args.damping, args.tol, nx_queries=3)
    mat, n_passages = synthetic()
    resets = synthetic_resets(mat.shape[0], n_passages, 64)
    out["graphs"]["synthetic"] = bench_graph(mat, resets, args.damping, args.tol, nx_queries=1)
    for name, r in out["graphs"].items():
        print(f"\n{name}: {r['n_nodes']:,} nodes, {r['n_edges']:,} edges, damping {r['damping']}, "
              f"tol {r['tol']}")
        for method, ms in r["ms_per_query"].items():
            diff = r["max_abs_diff"].get(method)
            print(f"  {method:24s} {ms:10.3f} ms/query" +
                  (f"   max |diff| {diff:.1e}" if diff is not None else ""))
        print("  speedup", r["speedup"])
    write_json(args.json, out)


if __name__ == "__main__":
    main()
