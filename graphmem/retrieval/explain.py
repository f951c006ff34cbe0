"""Why a passage was retrieved: the most probable path from a seed of the walk to it.

Why this definition: a PPR score is a sum over all walks, which no one can read. The
single most probable walk is a faithful, short summary: edge costs are -log of the
transition probability w(u, v) / strength(u), sources start at -log of their share of
the seed mass, and Dijkstra finds the cheapest path to each retrieved passage. It runs
in numba over the same CSR arrays as the walk, so explaining costs well under a
millisecond on MuSiQue-sized graphs.

On large graphs the search is confined to the walk's region: the ``REGION`` nodes with the
most PPR mass (plus seeds and targets). A most probable path runs through nodes the walk
visits often, and without the bound one hub entity seed (degree in the tens of thousands)
made explaining cost 38 ms of a 51 ms search at 1M edges.
"""

from __future__ import annotations

import heapq

import numpy as np

from graphmem.retrieval.ppr import use_numba

REGION = 4096


def strongest_paths(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
                    strength: np.ndarray, seeds: dict[int, float], targets: list[int],
                    max_hops: int = 6, max_pops: int = 50_000,
                    blocked: np.ndarray | None = None,
                    scores: np.ndarray | None = None) -> dict[int, list[int]]:
    """For each target node, the most probable path (node numbers) from a seed to it,
    never through a ``blocked`` node (passages outside a search's scope).

    With ``scores`` (the walk's PPR mass per node) and a graph of more than ``REGION``
    nodes, only the ``REGION`` nodes of most mass, the seeds and the targets are searched.
    Targets not reached within ``max_hops`` edges are absent from the result.
    """
    if not seeds or not targets:
        return {}
    n = indptr.shape[0] - 1
    nodes = np.array(list(seeds), dtype=np.int64)
    mass = np.array([seeds[s] for s in seeds], dtype=np.float64)
    cost = -np.log(np.maximum(mass / mass.sum(), 1e-300))
    target_arr = np.asarray(targets, dtype=np.int64)
    if scores is not None and n > REGION:
        held = np.flatnonzero(scores > 0)  # a push walk touches few nodes: rank only those
        if held.size > REGION:  # ties broken arbitrarily: exactly REGION kept
            held = held[np.argpartition(scores[held], held.size - REGION)[held.size - REGION:]]
        if blocked is not None:
            held = held[~blocked[held]]
        members = np.unique(np.concatenate([held, nodes, target_arr]))
    else:
        members = np.arange(n, dtype=np.int64) if blocked is None else np.unique(
            np.concatenate([np.flatnonzero(~blocked), nodes, target_arr]))
    local = np.full(n, -1, dtype=np.int32)
    local[members] = np.arange(members.shape[0], dtype=np.int32)
    args = (indptr, indices, weights, strength, local, members, nodes, cost, target_arr,
            max_hops, max_pops)
    if use_numba(int(indptr[-1])):
        from graphmem.retrieval.kernels import dijkstra

        dist_a, prev_a = dijkstra(*args)
        reached = {t for t in targets if np.isfinite(dist_a[local[t]])}

        def prev(u: int) -> int:
            return int(prev_a[local[u]])
    else:
        dist, back = _dijkstra_py(*args)
        reached = {t for t in targets if t in dist}

        def prev(u: int) -> int:
            return back.get(u, -1)
    out: dict[int, list[int]] = {}
    for t in targets:
        if t not in reached:
            continue
        path = [t]
        while prev(path[-1]) >= 0 and len(path) < max_hops + 2:
            path.append(prev(path[-1]))
        out[t] = path[::-1]
    return out


def _dijkstra_py(indptr, indices, weights, strength, local, members, seeds, seed_cost,
                 targets, max_hops, max_pops) -> tuple[dict[int, float], dict[int, int]]:
    """``kernels.dijkstra`` in plain Python over dictionaries (for processes that have not
    loaded numba; see ``ppr.use_numba``): the same costs, order and limits."""
    dist: dict[int, float] = {}
    hops: dict[int, int] = {}
    prev: dict[int, int] = {}
    heap: list[tuple[float, int]] = []
    for s, c in zip(seeds.tolist(), seed_cost.tolist(), strict=True):
        if c < dist.get(s, np.inf):
            dist[s], hops[s] = c, 0
            heapq.heappush(heap, (c, s))
    remaining = set(targets.tolist())
    done: set[int] = set()
    while heap and remaining and len(done) < max_pops:
        d, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        remaining.discard(u)
        su = float(strength[u])
        if hops[u] >= max_hops or su <= 0:
            continue
        lo, hi = int(indptr[u]), int(indptr[u + 1])
        for v, w in zip(indices[lo:hi].tolist(), weights[lo:hi].tolist(), strict=True):
            if w <= 0 or v in done or local[v] < 0:
                continue
            nd = d - float(np.log(w / su))
            if nd < dist.get(v, np.inf):
                dist[v], prev[v], hops[v] = nd, u, hops[u] + 1
                heapq.heappush(heap, (nd, v))
    return dist, prev
