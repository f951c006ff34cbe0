"""Synonym edges between entities whose embeddings are close, computed incrementally.

Why incremental: comparing all entities with all entities on every insert is quadratic
and is what makes some graph memories crawl as they grow (HippoRAG issue #170). Here
only the *new* entities of a batch are compared, against every entity (old and new),
keeping at most ``k`` neighbours above the cosine ``threshold`` per new entity.
"""

from __future__ import annotations

import numpy as np

from graphmem.types import SynonymEdge

ROW_BLOCK = 512


def new_synonyms(new_ids: list[str], new_vecs: np.ndarray, old_ids: list[str],
                 old_vecs: np.ndarray, threshold: float, k: int) -> list[SynonymEdge]:
    """Edges from each new entity to its nearest entities (unit vectors, cosine).

    Candidates are the stored entities (``old_*``) and the batch's new entities, so two
    new entities of one batch can be synonyms of each other; the stored matrix is
    never copied.
    """
    if not new_ids:
        return []
    all_ids = list(old_ids) + list(new_ids)
    edges: dict[tuple[str, str], float] = {}
    kk = min(k + 1, len(all_ids))
    for start in range(0, len(new_ids), ROW_BLOCK):
        block = new_vecs[start:start + ROW_BLOCK]
        sims = block @ new_vecs.T
        if len(old_ids):
            sims = np.hstack([block @ old_vecs.T, sims])
        if kk < sims.shape[1]:
            top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        else:
            top = np.broadcast_to(np.arange(sims.shape[1]), (sims.shape[0], sims.shape[1]))
        for r in range(block.shape[0]):
            me = new_ids[start + r]
            cand = top[r]
            cand = cand[np.argsort(-sims[r, cand], kind="stable")]
            kept = 0
            for j in cand:
                other = all_ids[j]
                score = float(sims[r, j])
                if other == me:
                    continue
                if score < threshold or kept >= k:
                    break
                a, b = (me, other) if me < other else (other, me)
                edges[(a, b)] = max(edges.get((a, b), -1.0), round(score, 6))
                kept += 1
    return [SynonymEdge(a, b, s) for (a, b), s in sorted(edges.items())]
