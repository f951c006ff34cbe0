"""The PPR kernel against igraph PRPACK and a float64 scipy power iteration."""

from __future__ import annotations

import igraph as ig
import numpy as np
import pytest
import scipy.sparse as sp

from graphmem.retrieval.ppr import (
    PPRError,
    TransitionCSR,
    personalized_pagerank,
    ppr_many,
)


def random_graph(seed: int, n: int = 300, m: int = 900, directed: bool = False,
                 isolated: int = 30, zero_weights: int = 40):
    """A weighted graph with isolated (dangling) nodes, zero-weight edges and islands."""
    rng = np.random.default_rng(seed)
    core = n - isolated
    half = core // 2  # two disconnected halves
    a = rng.integers(0, half, m // 2)
    b = rng.integers(0, half, m // 2)
    c = rng.integers(half, core, m - m // 2)
    d = rng.integers(half, core, m - m // 2)
    src, dst = np.r_[a, c], np.r_[b, d]
    keep = src != dst
    src, dst = src[keep], dst[keep]
    w = rng.random(len(src)) * 3
    w[:zero_weights] = 0.0
    edges = np.c_[src, dst]
    g = ig.Graph(n=n, edges=edges.tolist(), directed=directed)
    g.es["weight"] = w
    if directed:  # CSR rows hold incoming edges
        mat = sp.coo_matrix((w, (dst, src)), shape=(n, n)).tocsr()
    else:
        mat = sp.coo_matrix((np.r_[w, w], (np.r_[src, dst], np.r_[dst, src])),
                            shape=(n, n)).tocsr()
    mat.sum_duplicates()
    return g, mat, rng


def scipy_reference(mat: sp.csr_matrix, r: np.ndarray, d: float) -> np.ndarray:
    """Float64 power iteration to 1e-14 with dangling mass returned to the reset."""
    out = np.asarray(mat.sum(axis=0)).ravel()  # column sums = out-strength of sources
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    trans = mat @ sp.diags(inv)
    r = r / r.sum()
    p = r.copy()
    for _ in range(2000):
        new = (1 - d) * r + d * (trans @ p) + d * p[out == 0].sum() * r
        if np.abs(new - p).sum() < 1e-14:
            return new
        p = new
    return p


def igraph_reference(g, r: np.ndarray, d: float) -> np.ndarray:
    return np.array(g.personalized_pagerank(damping=d, reset=r.tolist(), weights="weight",
                                            implementation="prpack",
                                            directed=g.is_directed()))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("damping", [0.5, 0.85])
@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_matches_igraph_and_scipy(seed, directed, damping, kernels, monkeypatch):
    """Both kernels (numba, and the numpy twin one-shot processes use) match references."""
    import graphmem.retrieval.ppr as ppr_mod

    monkeypatch.setattr(ppr_mod, "KERNELS", kernels)
    g, mat, rng = random_graph(seed, directed=directed)
    r = np.zeros(mat.shape[0])
    r[rng.integers(0, mat.shape[0], 5)] = rng.random(5) + 0.1
    r[rng.integers(0, mat.shape[0], 40)] += 0.01  # a sparse seed plus a light prior
    r[-1] += 0.5  # an isolated node in the reset
    ours = personalized_pagerank(mat.indptr, mat.indices, mat.data, None, r, damping,
                                 tol=1e-10, max_iter=500)
    assert abs(ours.sum() - 1) < 1e-9
    assert np.max(np.abs(ours - igraph_reference(g, r, damping))) < 1e-6
    assert np.max(np.abs(ours - scipy_reference(mat, r, damping))) < 1e-6


def test_batched_reordered_and_single_agree():
    g, mat, rng = random_graph(7)
    resets = rng.random((mat.shape[0], 5)) * (rng.random((mat.shape[0], 5)) > 0.9)
    plain = TransitionCSR(mat.indptr, mat.indices, mat.data, reorder=False)
    shuffled = TransitionCSR(mat.indptr, mat.indices, mat.data, reorder=True)
    assert shuffled.order is not None
    a = ppr_many(plain, resets, 0.5, 1e-10, 500)
    b = ppr_many(shuffled, resets, 0.5, 1e-10, 500)
    singles = np.column_stack([ppr_many(shuffled, resets[:, j], 0.5, 1e-10, 500)[:, 0]
                               for j in range(5)])
    assert np.max(np.abs(a - b)) < 1e-7 and np.max(np.abs(b - singles)) < 1e-7
    for j in range(5):
        assert np.max(np.abs(a[:, j] - igraph_reference(g, resets[:, j], 0.5))) < 1e-6


def test_zero_weight_edges_carry_nothing():
    # 0 -> 1 with weight 0 and 0 -> 2 with weight 1: no mass may reach node 1
    indptr = np.array([0, 0, 1, 2])
    indices = np.array([0, 0])
    weights = np.array([0.0, 1.0])
    p = personalized_pagerank(indptr, indices, weights, None, np.array([1.0, 0, 0]), 0.5)
    assert p[1] == 0.0 and p[2] > 0


def test_small_graphs_walk_on_one_thread(monkeypatch):
    """Two threads on two busy cores made a 600-passage search 50x slower (every
    iteration's join waits for a descheduled thread): small walks use one thread, and the
    caller's thread count is restored after."""
    import numba

    import graphmem.retrieval.ppr as ppr_mod
    from graphmem.retrieval import kernels

    seen = []
    real = kernels.ppr_single

    def spy(*args):
        seen.append(numba.get_num_threads())
        return real(*args)

    monkeypatch.setattr(ppr_mod, "KERNELS", "numba")
    monkeypatch.setattr(kernels, "ppr_single", spy)
    _, mat, _ = random_graph(1)
    before = numba.get_num_threads()
    reset = np.zeros(mat.shape[0])
    reset[0] = 1.0
    personalized_pagerank(mat.indptr, mat.indices.astype(np.int32),
                          mat.data.astype(np.float32), None, reset)
    assert seen == [1] and numba.get_num_threads() == before


def test_all_zero_reset_is_a_clear_error():
    _, mat, _ = random_graph(3)
    with pytest.raises(PPRError, match="all zeros"):
        personalized_pagerank(mat.indptr, mat.indices, mat.data, None,
                              np.zeros(mat.shape[0]), 0.5)
    g = TransitionCSR(mat.indptr, mat.indices, mat.data)
    r = np.zeros((mat.shape[0], 2))
    r[0, 0] = 1
    with pytest.raises(PPRError, match="reset vector 1"):
        ppr_many(g, r)


@pytest.mark.parametrize("bad", [
    dict(indptr=np.array([0, 2, 1]), indices=np.array([0, 1]), weights=np.ones(2)),
    dict(indptr=np.array([0, 1, 3]), indices=np.array([0, 1]), weights=np.ones(2)),
    dict(indptr=np.array([0, 1, 2]), indices=np.array([0, 5]), weights=np.ones(2)),
    dict(indptr=np.array([0, 1, 2]), indices=np.array([1, 0]), weights=np.array([1.0, -1])),
    dict(indptr=np.array([0, 1, 2]), indices=np.array([1, 0]), weights=np.array([1, np.nan])),
])
def test_malformed_graphs_are_rejected(bad):
    with pytest.raises(PPRError):
        personalized_pagerank(bad["indptr"], bad["indices"], bad["weights"], None,
                              np.ones(len(bad["indptr"]) - 1), 0.5)


def test_bad_reset_and_damping():
    _, mat, _ = random_graph(4)
    n = mat.shape[0]
    for r in (np.ones(n - 1), -np.ones(n), np.full(n, np.inf)):
        with pytest.raises(PPRError):
            personalized_pagerank(mat.indptr, mat.indices, mat.data, None, r, 0.5)
    for d in (0.0, 1.0, 1.5):
        with pytest.raises(PPRError, match="damping"):
            personalized_pagerank(mat.indptr, mat.indices, mat.data, None, np.ones(n), d)


def _random_graph(n: int, m: int, seed: int):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    mat = sp.coo_matrix((rng.random(keep.sum()) + 0.1, (a[keep], b[keep])), shape=(n, n))
    mat = (mat + mat.T).tocsr()
    mat.sum_duplicates()
    return mat.indptr.astype(np.int64), mat.indices.astype(np.int32), mat.data.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_push_agrees_with_the_power_iteration(seed):
    from graphmem.retrieval.ppr import TransitionCSR, ppr_many
    from graphmem.retrieval.push import push_many

    n = 3000
    indptr, indices, w = _random_graph(n, 9000, seed)
    strength = np.bincount(np.repeat(np.arange(n), np.diff(indptr)),
                           weights=w.astype(np.float64), minlength=n)
    seeds = [{5: 1.0, 17: 0.5}, {100: 2.0}, {7: 1.0, 8: 1.0, 9: 1.0}]
    resets = np.zeros((n, len(seeds)))
    for j, s in enumerate(seeds):
        for k, v in s.items():
            resets[k, j] = v
    exact = ppr_many(TransitionCSR(indptr, indices, w), resets, 0.5, 1e-10, 300)
    est = push_many(indptr, indices, w, strength, seeds, 0.5, 1e-7)
    assert np.abs(est - exact).max() < 1e-4
    for j in range(len(seeds)):
        assert set(np.argsort(-exact[:, j])[:10]) == set(np.argsort(-est[:, j])[:10])
    few = push_many(indptr, indices, w, strength, seeds[:1], 0.5, 1e-7,
                    out_nodes=np.array([5, 17, 99]))
    assert few.shape == (3, 1) and np.allclose(few[:, 0], est[[5, 17, 99], 0])


def test_push_handles_isolated_nodes_and_refuses_bad_input():
    from graphmem.retrieval.push import push_many

    indptr = np.array([0, 1, 2, 2])  # 0 - 1 connected, 2 isolated
    indices = np.array([1, 0], dtype=np.int32)
    w = np.ones(2, dtype=np.float32)
    strength = np.array([1.0, 1.0, 0.0])
    est = push_many(indptr, indices, w, strength, [{2: 1.0, 0: 1.0}], 0.5, 1e-9)[:, 0]
    assert est.sum() == pytest.approx(1.0, abs=1e-6) and est[2] > 0
    with pytest.raises(ValueError, match="empty"):
        push_many(indptr, indices, w, strength, [{}], 0.5)
    with pytest.raises(ValueError, match="damping"):
        push_many(indptr, indices, w, strength, [{0: 1.0}], 1.0)


def test_solver_choice_and_recall_parity_on_the_demo(demo_memory, demo_questions):
    from graphmem.retrieval.recipes import HYBRID
    from graphmem.retrieval.retriever import AUTO_PUSH_EDGES, choose_solver

    g = demo_memory.retriever.graph()
    assert choose_solver("auto", g) == ("push" if g.n_edges >= AUTO_PUSH_EDGES else "power")
    with pytest.raises(ValueError):
        choose_solver("magic", g)
    qs = [q["question"] for q in demo_questions]
    power = demo_memory.search_many(qs, k=5, recipe=HYBRID.with_(solver="power"))
    push = demo_memory.search_many(qs, k=5, recipe=HYBRID.with_(solver="push"))
    for a, b in zip(power, push, strict=True):
        assert [h.passage_id for h in a] == [h.passage_id for h in b]


def test_explaining_a_large_walk_stays_in_its_region(monkeypatch):
    """On a big graph the path search is confined to the nodes the walk weighs most: a
    hub seed must not make it scan the hub's whole neighbourhood (38 of 51 ms a search at
    1M edges before), and the path found runs through nodes with walk mass."""
    from graphmem.retrieval import explain

    monkeypatch.setattr(explain, "REGION", 50)
    n = 2000  # star: hub 0 joined to all; a chain 0-1-2-3 of heavier edges to target 3
    rows = [(0, v, 1.0) for v in range(4, n)] + [(0, 1, 5.0), (1, 2, 5.0), (2, 3, 5.0)]
    src = np.array([a for a, b, _ in rows] + [b for a, b, _ in rows])
    dst = np.array([b for a, b, _ in rows] + [a for a, b, _ in rows])
    w = np.array([x for *_, x in rows] * 2, dtype=np.float32)
    order = np.lexsort((dst, src))
    indptr = np.r_[0, np.cumsum(np.bincount(src, minlength=n))].astype(np.int64)
    indices, w = dst[order].astype(np.int32), w[order]
    strength = np.bincount(src[order], weights=w.astype(np.float64), minlength=n)
    scores = np.zeros(n)
    scores[[0, 1, 2, 3]] = [0.5, 0.2, 0.1, 0.05]
    scores[4:] = 1e-6  # the hub's leaves: reachable, little mass
    seen = []
    from graphmem.retrieval import kernels

    real = kernels.dijkstra

    def spy(*args):
        seen.append(int(args[5].shape[0]))  # the nodes the search may enter
        return real(*args)

    monkeypatch.setattr(kernels, "dijkstra", spy)
    paths = explain.strongest_paths(indptr, indices, w, strength, {0: 1.0}, [3],
                                    scores=scores)
    assert paths[3] == [0, 1, 2, 3]
    assert seen[-1] <= 52  # the region, and the seed and target (already in it here)
    explain.strongest_paths(indptr, indices, w, strength, {0: 1.0}, [3])
    assert seen[-1] == n  # without the walk's scores nothing is confined


def test_both_solvers_walk_the_same_truncated_prior(demo_memory, demo_questions):
    """The passage prior's truncation is the recipe's, not push's: with a one-passage
    prior the power iteration and push still rank alike, and differently from a prior on
    every passage."""
    from graphmem.retrieval.recipes import HYBRID

    qs = [q["question"] for q in demo_questions]
    one = HYBRID.with_(prior_passages=1)
    power = demo_memory.search_many(qs, k=5, recipe=one.with_(solver="power"))
    push = demo_memory.search_many(qs, k=5, recipe=one.with_(solver="push", push_eps=1e-9))
    full = demo_memory.search_many(qs, k=5, recipe=HYBRID.with_(solver="power",
                                                                 prior_passages=None))
    ids = [[h.passage_id for h in hs] for hs in power]
    assert ids == [[h.passage_id for h in hs] for hs in push]
    assert ids != [[h.passage_id for h in hs] for hs in full]


def test_numpy_explanations_match_the_numba_kernel(monkeypatch):
    """The plain-Python path search (used before numba is loaded) finds the same paths."""
    import graphmem.retrieval.ppr as ppr_mod
    from graphmem.retrieval.explain import strongest_paths

    n = 3000
    indptr, indices, w = _random_graph(n, 9000, 4)
    strength = np.bincount(np.repeat(np.arange(n), np.diff(indptr)),
                           weights=w.astype(np.float64), minlength=n)
    seeds, targets = {5: 1.0, 17: 0.3}, list(range(100, 160))
    blocked = np.zeros(n, dtype=bool)
    blocked[200:260] = True
    found = {}
    for kernels in ("numba", "numpy"):
        monkeypatch.setattr(ppr_mod, "KERNELS", kernels)
        found[kernels] = strongest_paths(indptr, indices, w, strength, seeds, targets,
                                         max_hops=4, blocked=blocked)
    assert found["numba"] == found["numpy"] and len(found["numpy"]) > 10
    assert all(not blocked[u] for p in found["numpy"].values() for u in p)
