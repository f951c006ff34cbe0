"""Graph retrieval: seed a Personalized PageRank walk from the query, rank passages by it.

The flow for a batch of queries (see ``recipes.py`` for what each recipe chooses):

1. embed the queries and the entity-naming spans of each query in one model call;
2. score every passage densely (one matrix product; from 200k passages, only the
   prior's nearest passages, from the vector index);
3. seed entities: spans linked to entity nodes, else the entities of the top facts;
4. restart vector = entity seeds + passages weighted by their dense score;
5. one batched PPR over the whole graph for every query that has seeds (or, with
   ``push``, a local walk a few queries at a time);
6. rank passages by PPR mass; queries with no seed at all fall back to dense ranking;
7. explain each hit: its seeds and the most probable path from one of them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from graphmem.embeddings import Embedder
from graphmem.retrieval.dense import dense_scores, indexed_scores, score_of, top_k
from graphmem.retrieval.explain import strongest_paths
from graphmem.retrieval.graph import GraphIndex
from graphmem.retrieval.linking import query_spans, verbatim_names
from graphmem.retrieval.ppr import ppr_many
from graphmem.retrieval.push import push_many
from graphmem.retrieval.recipes import Recipe
from graphmem.retrieval.snapshot import Snapshot, SnapshotManager
from graphmem.types import Explanation

log = logging.getLogger(__name__)


@dataclass
class Ranked:
    """One retrieved passage before its text is fetched."""

    passage_id: str
    score: float
    dense: float
    why: Explanation


@dataclass
class Scope:
    """Which passages a search may return: one namespace (None: every namespace), and/or
    an explicit set of passage IDs (from filters on tags, documents, sources, metadata)."""

    namespace: str | None = ""
    passage_ids: frozenset[str] | None = None
    facts_at: str | None = None
    """Seed only with facts valid at this time (``as_of``); None: facts still valid."""

    def mask(self, snap: Snapshot) -> np.ndarray | None:
        mask = None if self.namespace is None else snap.namespace_mask(self.namespace)
        if self.passage_ids is not None:
            ids = np.zeros(len(snap.passages), dtype=bool)
            for pid in self.passage_ids:
                r = snap.passages.row(pid)
                if r is not None:
                    ids[r] = True
            mask = ids if mask is None else (mask & ids)
        return mask  # None: no restriction


@dataclass
class _Seeds:
    entities: dict[int, float]
    facts: list[tuple[str, float]]


@dataclass
class Walk:
    """Everything about one query's walk, for exploring it (see ``graphmem.viz``)."""

    graph: GraphIndex
    scores: np.ndarray
    """PPR mass of every node (all zeros when nothing in the query linked)."""
    seeds: dict[int, float]
    seed_facts: list[tuple[str, float]]
    ranked: list[Ranked]


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> Any:
    """A context in which BLAS uses one thread.

    Small per-query or per-memory matrix products gain nothing from BLAS threads, whose
    spinning starves the model's and the walk's threads (a search took 31 ms with them,
    14 ms without; adding a memory to a 5,000-note store took 53 ms, 40 ms without).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


AUTO_PUSH_EDGES = 1_000_000
"""``auto`` walks with push from this many edges up: below it a whole-graph power
iteration costs a few milliseconds and is exact (measured in ``benchmarks/scale.py``)."""


def choose_solver(solver: str, g: GraphIndex) -> str:
    if solver == "auto":
        return "push" if g.n_edges >= AUTO_PUSH_EDGES else "power"
    if solver not in ("power", "push"):
        raise ValueError(f"unknown PPR solver {solver!r}; one of power, push, auto")
    return solver


def _entities_seen_by(g: GraphIndex, allowed: np.ndarray) -> np.ndarray:
    """Node mask: entities adjacent to at least one allowed passage (passages: False)."""
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    cols = g.indices
    hit = (rows >= g.n_passages) & (cols < g.n_passages)
    hit[hit] = allowed[cols[hit]]
    out = np.zeros(g.n_nodes, dtype=bool)
    out[rows[hit]] = True
    return out


def _valid_at(validity: tuple[str | None, str | None], at: str | None) -> bool:
    """Was a fact true at ``at`` (an exclusive bound: changes on the day asked count)?"""
    valid_from, valid_to = validity
    if at is None:
        return valid_to is None
    return (valid_from is None or valid_from < at) and (valid_to is None or valid_to >= at)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = np.exp((x - x.max()) / temperature)
    return z / z.sum()


class Retriever:
    """Searches one store through its snapshots (safe to share between threads)."""

    def __init__(self, snapshots: SnapshotManager, embedder: Embedder, tol: float,
                 max_iter: int, solver: str | None = None,
                 fact_filter: Callable[[str, list[tuple[str, str, str]], list[str]], list[int]]
                 | None = None) -> None:
        self.snapshots = snapshots
        self.fact_filter = fact_filter
        self.embedder = embedder
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver

    def graph(self) -> GraphIndex:
        """The graph of the store as it is now."""
        return self.snapshots.graph()

    # --- the search ---------------------------------------------------------------
    def search_many(self, queries: list[str], k: int, recipe: Recipe,
                    explain: bool = True, damping: float | None = None,
                    scope: Scope | None = None) -> list[list[Ranked]]:
        """Rank passages for each query (see the module docstring for the steps); with a
        ``scope``, only the passages it allows are ranked, restart the walk or appear on
        an explanation's path."""
        with single_threaded_blas():
            return self._search_many(self.snapshots.current(), queries, k, recipe, explain,
                                     damping, scope=scope)

    def walk(self, query: str, k: int, recipe: Recipe, damping: float | None = None) -> Walk:
        """One query's whole walk: PPR mass on every node, its seeds, its ranking."""
        kept: list[tuple[np.ndarray | None, _Seeds]] = []
        snap = self.snapshots.current()
        with single_threaded_blas():
            ranked = self._search_many(snap, [query], k, recipe, True, damping, kept)[0]
        g = snap.graph(self.snapshots._count_build)
        scores, seeds = kept[0] if kept else (None, _Seeds({}, []))
        return Walk(g, scores if scores is not None else np.zeros(g.n_nodes), seeds.entities,
                    seeds.facts, ranked)

    def _search_many(self, snap: Snapshot, queries: list[str], k: int, recipe: Recipe,
                     explain: bool, damping: float | None,
                     kept: list[tuple[np.ndarray | None, _Seeds]] | None = None,
                     scope: Scope | None = None) -> list[list[Ranked]]:
        pids, pmat = snap.passages.ids, snap.passages.matrix
        if not queries:
            return []
        allowed = scope.mask(snap) if scope is not None else None
        if not pids or (allowed is not None and not allowed.any()):
            return [[] for _ in queries]
        qv = self.embedder.embed_queries(list(queries))
        if snap.passages.uses_ann and recipe.prior_passages and recipe.note_weight <= 0 \
                and allowed is None:  # a scan of every passage costs more than the walk
            dense = indexed_scores(snap.passages, qv, max(recipe.prior_passages, k))
        else:
            dense = dense_scores(qv, pmat)
        if recipe.note_weight > 0:
            dense = (1.0 - recipe.note_weight) * dense + recipe.note_weight * dense_scores(
                qv, snap.notes.matrix)
        if allowed is not None:
            dense = np.where(allowed[None, :], dense, np.float32(-np.inf))
        if not recipe.use_graph:
            return [self._dense_ranking(pids, row, k, "dense") for row in dense]
        g = snap.graph(self.snapshots._count_build)
        spans = [query_spans(q) if recipe.link_query_entities else [] for q in queries]
        # spans naming an entity verbatim need no embedding; only the rest are embedded
        fuzzy = list(dict.fromkeys(s for ss in spans for s in ss if s not in g.entity_nodes))
        span_vec = dict(zip(fuzzy, self.embedder.embed_queries(fuzzy), strict=True)) \
            if fuzzy else {}
        at = scope.facts_at if scope is not None else None
        seeds = [self._seeds(snap, g, q, qv[i], spans[i], span_vec, recipe, allowed, at)
                 for i, q in enumerate(queries)]
        if allowed is not None:  # seed only entities that passages in scope mention
            visible = _entities_seen_by(g, allowed)
            for s in seeds:
                s.entities = {n: w for n, w in s.entities.items() if visible[n]}
        walk = [i for i, s in enumerate(seeds) if s.entities]
        if kept is not None and not walk:
            kept.extend((None, s) for s in seeds)
        out: list[list[Ranked]] = [[] for _ in queries]
        for i in range(len(queries)):
            if i not in walk:
                out[i] = self._dense_ranking(pids, dense[i], k, "dense (nothing in the query "
                                                                "links to the graph)")
        if not walk:
            return out
        d = damping if damping is not None else recipe.damping
        solver = choose_solver(self.solver or recipe.solver, g)
        resets = [self._reset(g, seeds[i], dense[i], recipe, recipe.prior_passages)
                  for i in walk]  # one contiguous vector per walk
        walked: dict[int, np.ndarray] = {}
        blocked = None
        if allowed is not None:
            blocked = np.zeros(g.n_nodes, dtype=bool)
            blocked[:g.n_passages] = ~allowed
        for col, score in self._walk(g, resets, solver, d, recipe):
            i = walk[col]
            if kept is not None:
                walked[i] = score
            mass = score[:g.n_passages].copy()
            if allowed is not None:
                mass[~allowed] = -1.0
            order = [j for j in top_k(mass, k) if mass[j] >= 0]
            own = (1.0 - d) * resets[col][:g.n_passages] / max(resets[col].sum(), 1e-300)
            paths = (strongest_paths(g.indptr, g.indices, g.weights, g.strength,
                                     seeds[i].entities, [int(j) for j in order], blocked=blocked,
                                     scores=score)
                     if explain else {})
            out[i] = [Ranked(pids[j], float(mass[j]), score_of(dense, pmat, qv, i, j),
                             self._why(g, seeds[i], paths.get(int(j), []),
                                       "graph" if own[j] < 0.5 * mass[j] else "dense prior"))
                      for j in order]
        if kept is not None:
            kept.extend((walked.get(i), s) for i, s in enumerate(seeds))
        return out

    def _walk(self, g: GraphIndex, resets: list[np.ndarray], solver: str, damping: float,
              recipe: Recipe, chunk: int = 8):
        """Yield (column, PPR mass of every node) per reset column.

        Push runs a few queries at a time (one per thread), so a large batch never holds
        an (all nodes x all queries) array; the power iteration is one batched solve.
        """
        if solver != "push":
            scores = ppr_many(g.transition, np.column_stack(resets), damping, self.tol,
                              self.max_iter)
            for col in range(len(resets)):
                yield col, scores[:, col]
            return
        for start in range(0, len(resets), chunk):
            cols = range(start, min(start + chunk, len(resets)))
            # local: only the seeds' neighbourhood is touched
            sparse = [dict(zip(nz.tolist(), resets[c][nz].tolist(), strict=True))
                      for c in cols for nz in [np.flatnonzero(resets[c])]]
            scores = push_many(g.indptr, g.indices, g.weights, g.strength, sparse, damping,
                               recipe.push_eps)
            for j, c in enumerate(cols):
                yield c, scores[:, j]

    def _dense_ranking(self, pids: list[str], row: np.ndarray, k: int,
                       method: str) -> list[Ranked]:
        return [Ranked(pids[j], float(row[j]), float(row[j]), Explanation(method=method))
                for j in top_k(row, k) if np.isfinite(row[j])]

    # --- seeds and restart vector ---------------------------------------------------
    def _seeds(self, snap: Snapshot, g: GraphIndex, query: str, qvec: np.ndarray,
               spans: list[str], span_vec: dict[str, np.ndarray], recipe: Recipe,
               allowed: np.ndarray | None = None, at: str | None = None) -> _Seeds:
        ents: dict[int, float] = {}
        df = g.entity_doc_freq
        if recipe.link_query_entities:
            for s in spans:
                if s in g.entity_nodes:
                    node = g.entity_nodes[s]
                    ents[node] = ents.get(node, 0.0) + 1.0 / df[node - g.n_passages]
            fuzzy = [s for s in spans if s in span_vec]
            if fuzzy and len(snap.entities):
                best, sims = snap.entities.nearest(np.vstack([span_vec[s] for s in fuzzy]), 1)
                for j, sim in zip(best[:, 0], sims[:, 0], strict=True):
                    if sim >= recipe.link_threshold:
                        node = g.n_passages + int(j)
                        ents[node] = ents.get(node, 0.0) + 1.0 / df[j]
            if not ents:
                for name in verbatim_names(query, g.entity_nodes):
                    node = g.entity_nodes[name]
                    ents[node] = 1.0 / df[node - g.n_passages]
        facts: list[tuple[str, float]] = []
        if recipe.facts == "always" or (recipe.facts == "fallback" and not ents):
            fact_ents, facts = self._fact_seeds(snap, g, query, qvec, recipe, allowed, at)
            for node, w in fact_ents.items():
                ents[node] = ents.get(node, 0.0) + w
        return _Seeds(ents, facts)

    def _fact_seeds(self, snap: Snapshot, g: GraphIndex, query: str, qvec: np.ndarray,
                    recipe: Recipe, allowed: np.ndarray | None = None, at: str | None = None
                    ) -> tuple[dict[int, float], list[tuple[str, float]]]:
        """HippoRAG 2 fact seeding: top facts' entities, weighted by score / doc freq.

        Only facts valid at ``at`` (default: not superseded) and, with a scope, stated by
        a passage in it. With a fact filter (an LLM), only the facts it keeps seed the walk.
        """
        if not len(snap.facts):
            return {}, []
        if snap.facts.uses_ann:  # candidates from the index; scores exact, spread estimated
            rows, scores = snap.facts.nearest(qvec[None, :], recipe.top_facts * 40)
            raw = np.full(len(snap.facts), float(scores.min()), dtype=np.float64)
            raw[rows[0]] = scores[0]
        else:
            raw = snap.facts.matrix @ qvec
        norm = np.maximum(_minmax(raw), 1e-3)  # the lowest-scoring fact still counts
        store = self.snapshots.store
        cand = [int(f) for f in top_k(raw, recipe.top_facts * 8)]
        if allowed is not None:  # only facts some passage in scope states (shown as "why")
            sources = store.graph.fact_passages(g.fact_ids[f] for f in cand)
            cand = [f for f in cand if any(
                (r := snap.passages.row(p)) is not None and allowed[r]
                for p in sources.get(g.fact_ids[f], []))]
        validity = store.time.fact_validity(g.fact_ids[f] for f in cand)
        cand = [f for f in cand if _valid_at(validity.get(g.fact_ids[f], (None, None)), at)]
        top = np.array(cand[:recipe.top_facts], dtype=np.int64)
        if self.fact_filter is not None:
            sources = self.snapshots.store.graph.fact_passages(g.fact_ids[int(f)] for f in top)
            refs = [p for ps in sources.values() for p in ps]  # forgotten with their passages
            top = top[self.fact_filter(query, [g.fact_triple(int(f)) for f in top], refs)]
        weight: dict[int, float] = {}
        count: dict[int, int] = {}
        for f in top:
            for node in (int(g.fact_subj[f]), int(g.fact_obj[f])):
                if node < g.n_passages:  # unknown entity (-1) or not an entity
                    continue
                weight[node] = weight.get(node, 0.0) + float(norm[f]) / g.entity_doc_freq[
                    node - g.n_passages]
                count[node] = count.get(node, 0) + 1
        ents = {n: w / count[n] for n, w in weight.items() if w > 0}
        return ents, [(str(g.fact_text[f]), float(raw[f])) for f in top]

    @staticmethod
    def _reset(g: GraphIndex, seeds: _Seeds, dense_row: np.ndarray, recipe: Recipe,
               top_n: int | None = None) -> np.ndarray:
        """The restart distribution; with ``top_n`` the passage prior covers only the
        ``top_n`` densest passages (what keeps a push walk local)."""
        r = np.zeros(g.n_nodes)
        ent_total = sum(seeds.entities.values())
        share = recipe.entity_share
        for node, w in seeds.entities.items():
            r[node] = (share * w / ent_total) if share is not None else w
        row = dense_row.astype(np.float64)
        if top_n is not None and top_n < row.shape[0]:
            keep = np.zeros(row.shape[0], dtype=bool)
            keep[top_k(np.where(np.isfinite(row), row, -np.inf), top_n)] = True
            row = np.where(keep, row, -np.inf)
        finite = np.isfinite(row)
        if recipe.passage_prior == "softmax":
            prior = np.zeros_like(row)
            prior[finite] = _softmax(row[finite], recipe.temperature)
            r[:g.n_passages] += (1.0 - (share or 0.0)) * prior
        else:
            prior = np.zeros_like(row)
            prior[finite] = _minmax(row[finite])
            r[:g.n_passages] += recipe.passage_weight * prior
        return r

    @staticmethod
    def _why(g: GraphIndex, seeds: _Seeds, path: list[int], method: str) -> Explanation:
        top_ents = sorted(seeds.entities.items(), key=lambda kv: -kv[1])[:8]
        total = sum(seeds.entities.values()) or 1.0
        return Explanation(seed_facts=list(seeds.facts),
                           seed_entities=[(g.label(n), w / total) for n, w in top_ents],
                           path=[g.label(n) for n in path], method=method)
