"""The numba kernels of the walk, the push and the explanation, in one module imported
only when a kernel runs.

Why apart: importing numba and loading even cached kernels costs a new process about half
a second (numba itself, its type registries, scipy's BLAS bindings it pulls in), more
than everything else a one-shot CLI search does. The modules that call these kernels
(``ppr``, ``push``, ``explain``) import this one lazily, and small single walks in a
process that has not loaded numba run their numpy twins instead (see ``ppr.use_numba``).
Compiled functions are cached on disk (``cache=True``): nothing compiles at run time
after the first use on a machine.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def ppr_single(indptr, indices, norm_w, dangling, bounds, reset, damping, tol,
               max_iter):  # pragma: no cover - jit
    """Fused power iteration for one reset vector (float32, sums to 1).

    Returns ``(scores, iterations)``; stops when the L1 change of an iteration is below
    ``tol``. ``bounds`` splits the rows into blocks of about equal edge count.
    """
    p = reset.copy()
    q = np.empty_like(p)
    nb = bounds.shape[0] - 1
    for it in range(max_iter):
        dm = 0.0
        for j in range(dangling.shape[0]):
            dm += p[dangling[j]]
        tele = np.float32((1.0 - damping) + damping * dm)
        part = np.zeros(nb)
        for blk in prange(nb):
            e = 0.0
            for v in range(bounds[blk], bounds[blk + 1]):
                acc = np.float32(0.0)
                for k in range(indptr[v], indptr[v + 1]):
                    acc += norm_w[k] * p[indices[k]]
                new = tele * reset[v] + damping * acc
                e += abs(new - p[v])
                q[v] = new
            part[blk] = e
        p, q = q, p
        if part.sum() < tol:
            return p, it + 1
    return p, max_iter


@njit(cache=True, parallel=True)
def ppr_batch(indptr, indices, norm_w, dangling, bounds, reset, damping, tol,
              max_iter):  # pragma: no cover - jit
    """The same iteration for a block of reset vectors (n x b, columns sum to 1).

    Each edge is read once per iteration for all b queries; the walk stops when every
    column's L1 change is below ``tol``.
    """
    n, b = reset.shape
    p = reset.copy()
    q = np.empty_like(p)
    nb = bounds.shape[0] - 1
    for it in range(max_iter):
        dmass = np.zeros(b)
        for j in range(dangling.shape[0]):
            for c in range(b):
                dmass[c] += p[dangling[j], c]
        tele = np.empty(b, dtype=np.float32)
        for c in range(b):
            tele[c] = (1.0 - damping) + damping * dmass[c]
        part = np.zeros((nb, b))
        for blk in prange(nb):
            acc = np.empty(b, dtype=np.float32)
            for v in range(bounds[blk], bounds[blk + 1]):
                acc[:] = 0.0
                for k in range(indptr[v], indptr[v + 1]):
                    u = indices[k]
                    w = norm_w[k]
                    for c in range(b):
                        acc[c] += w * p[u, c]
                for c in range(b):
                    new = tele[c] * reset[v, c] + damping * acc[c]
                    part[blk, c] += abs(new - p[v, c])
                    q[v, c] = new
        p, q = q, p
        worst = 0.0
        for c in range(b):
            s = 0.0
            for blk in range(nb):
                s += part[blk, c]
            worst = max(worst, s)
        if worst < tol:
            return p, it + 1
    return p, max_iter


@njit(cache=True)
def push_one(indptr, indices, weights, strength, seed_nodes, seed_w, damping, eps,
              p, r, queued, queue):  # pragma: no cover - jit
    """One query's push; ``p``, ``r``, ``queued`` are zeroed scratch arrays of size n."""
    cap = queue.shape[0]
    head = 0
    tail = 0
    total = 0.0
    for i in range(seed_nodes.shape[0]):
        total += seed_w[i]
    for i in range(seed_nodes.shape[0]):
        u = seed_nodes[i]
        r[u] += seed_w[i] / total
    for i in range(seed_nodes.shape[0]):
        u = seed_nodes[i]
        if not queued[u]:
            queued[u] = True
            queue[tail % cap] = u
            tail += 1
    pushes = 0
    while head < tail:
        u = queue[head % cap]
        head += 1
        queued[u] = False
        ru = r[u]
        su = strength[u]
        if su <= 0.0:  # no edges: settle what belongs here, send the rest to the seeds
            p[u] += (1.0 - damping) * ru
            r[u] = 0.0
            for i in range(seed_nodes.shape[0]):
                v = seed_nodes[i]
                r[v] += damping * ru * seed_w[i] / total
                if not queued[v] and r[v] > eps * max(strength[v], 1.0):
                    queued[v] = True
                    queue[tail % cap] = v
                    tail += 1
            continue
        if ru <= eps * su:
            continue
        pushes += 1
        p[u] += (1.0 - damping) * ru
        r[u] = 0.0
        share = damping * ru / su
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            r[v] += share * weights[k]
            if not queued[v] and r[v] > eps * strength[v] and tail - head < cap:
                queued[v] = True
                queue[tail % cap] = v
                tail += 1
    return pushes


@njit(cache=True, parallel=True)
def push_many(indptr, indices, weights, strength, seed_ptr, seed_nodes, seed_w, damping,
               eps, out_nodes, n_out):  # pragma: no cover - jit
    """Push for several queries at once (one per thread); returns dense scores of the
    ``out_nodes`` (the passages) per query."""
    n = indptr.shape[0] - 1
    q = seed_ptr.shape[0] - 1
    res = np.zeros((n_out, q))
    for j in prange(q):
        p = np.zeros(n)
        r = np.zeros(n)
        queued = np.zeros(n, dtype=np.bool_)
        queue = np.empty(n, dtype=np.int64)
        a, b = seed_ptr[j], seed_ptr[j + 1]
        push_one(indptr, indices, weights, strength, seed_nodes[a:b], seed_w[a:b], damping,
                  eps, p, r, queued, queue)
        for i in range(n_out):
            res[i, j] = p[out_nodes[i]]
    return res


@njit(cache=True)
def dijkstra(indptr, indices, weights, strength, local, members, seeds, seed_cost, targets,
             max_hops, max_pops):  # pragma: no cover - jit
    """Most probable paths inside a region: ``local[u]`` is u's place in ``members`` (-1:
    never entered). Scratch arrays are sized to the region, not the graph (at 786k nodes
    five graph-sized arrays cost a query more than the search itself). Returns the cost
    and the predecessor (a node number, -1 for none) of every member."""
    m = members.shape[0]
    dist = np.full(m, np.inf)
    hops = np.zeros(m, dtype=np.int64)
    prev = np.full(m, -1, dtype=np.int64)
    is_target = np.zeros(m, dtype=np.bool_)
    for t in targets:
        if local[t] >= 0:
            is_target[local[t]] = True
    remaining = targets.shape[0]
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for i in range(seeds.shape[0]):
        s = local[seeds[i]]
        if s >= 0 and seed_cost[i] < dist[s]:
            dist[s] = seed_cost[i]
            heapq.heappush(heap, (seed_cost[i], np.int64(s)))
    done = np.zeros(m, dtype=np.bool_)
    pops = 0
    while len(heap) > 0 and remaining > 0 and pops < max_pops:
        d, lu = heapq.heappop(heap)
        if done[lu]:
            continue
        done[lu] = True
        pops += 1
        if is_target[lu]:
            remaining -= 1
        u = members[lu]
        if hops[lu] >= max_hops or strength[u] <= 0:
            continue
        for k in range(indptr[u], indptr[u + 1]):
            lv = np.int64(local[indices[k]])
            w = weights[k]
            if lv < 0 or w <= 0 or done[lv]:
                continue
            nd = d - np.log(w / strength[u])
            if nd < dist[lv]:
                dist[lv] = nd
                prev[lv] = u
                hops[lv] = hops[lu] + 1
                heapq.heappush(heap, (nd, lv))
    return dist, prev
