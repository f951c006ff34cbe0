"""The retrieval graph: CSR arrays over one snapshot's passages and entities.

Why a derived structure: the store is shaped for safe writes, the walk for streaming
arrays. The graph is built from a :class:`~graphmem.retrieval.snapshot.Snapshot` (never
from the store directly, so it always matches the vectors the search scores with), once
per snapshot, on first use.

Node order: passages first (in the snapshot's passage order), then entities. Edges are
undirected; parallel edges of different kinds between two nodes add their weights, each
kind scaled by ``KIND_WEIGHTS``; the kind shown for a pair is the lowest code present
(relation before mention before synonym before link).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from graphmem.retrieval.ppr import TransitionCSR
from graphmem.store.records import EDGE_KIND_CODES

log = logging.getLogger(__name__)

KIND_WEIGHTS = {"relation": 1.0, "mention": 1.0, "synonym": 1.0, "link": 0.3}
"""Evolution's note links count less than the graph's own edges: a link says two memories
are related, not that one answers for the other, and at full weight the walk spread the
seed's mass over linked small talk (LoCoMo dev2 R@10 with offline links: 43.9 at 1.0,
46.0 at 0.3)."""
KIND_CODES = EDGE_KIND_CODES


@dataclass
class GraphIndex:
    """Everything a walk needs, as arrays aligned on node numbers."""

    generation: int
    n_passages: int
    passage_ids: list[str]
    passage_labels: list[str]
    entity_ids: list[str]
    entity_names: list[str]
    entity_doc_freq: np.ndarray   # passages mentioning each entity (at least 1)
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    kinds: np.ndarray             # kind code per CSR entry (for explanations)
    fact_ids: list[str]
    fact_subj: np.ndarray         # node number of each fact's subject (-1 if unknown)
    fact_obj: np.ndarray
    fact_text: list[str]
    fact_pred: list[str]
    _transition: TransitionCSR | None = None
    _index: dict[str, int] | None = None
    _strength: np.ndarray | None = None
    _names: dict[str, int] | None = None

    @property
    def n_nodes(self) -> int:
        return self.n_passages + len(self.entity_ids)

    @property
    def node_ids(self) -> list[str]:
        return list(self.passage_ids) + list(self.entity_ids)

    @property
    def transition(self) -> TransitionCSR:
        if self._transition is None:
            self._transition = TransitionCSR(self.indptr, self.indices, self.weights)
        return self._transition

    @property
    def index(self) -> dict[str, int]:
        """Node ID (passage or entity) -> node number."""
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.node_ids)}
        return self._index

    @property
    def strength(self) -> np.ndarray:
        """Total edge weight at each node (what a walk step divides by)."""
        if self._strength is None:
            rows = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
            self._strength = np.bincount(rows, weights=self.weights.astype(np.float64),
                                         minlength=self.n_nodes)
        return self._strength

    @property
    def entity_nodes(self) -> dict[str, int]:
        """Entity name -> node number."""
        if self._names is None:
            self._names = {nm: self.n_passages + i for i, nm in enumerate(self.entity_names)}
        return self._names

    @property
    def n_edges(self) -> int:
        """Undirected edges (each stored twice in the CSR)."""
        return int(self.indices.shape[0] // 2)

    def is_passage(self, node: int) -> bool:
        return node < self.n_passages

    def fact_triple(self, f: int) -> tuple[str, str, str]:
        return (self.label(int(self.fact_subj[f])), str(self.fact_pred[f]),
                self.label(int(self.fact_obj[f])))

    def label(self, node: int) -> str:
        if node < 0:
            return "?"
        if node >= self.n_passages:
            return str(self.entity_names[node - self.n_passages])
        return f"[{self.passage_labels[node]}]"


def build_graph(snap) -> GraphIndex:  # snap: Snapshot
    """Assemble the CSR graph of a snapshot (numpy only: scipy's import alone cost a
    one-shot CLI search a tenth of a second)."""
    n_p, n_e = len(snap.passages), len(snap.entities)
    n = n_p + n_e
    a, b, w, kind = snap.edges.view()
    an = (a >> 1) + (a & 1) * n_p
    bn = (b >> 1) + (b & 1) * n_p
    keep = (an != bn) & (w > 0)
    an, bn, w, kind = an[keep], bn[keep], w[keep], kind[keep]
    scale = np.array([KIND_WEIGHTS[k] for k in sorted(KIND_CODES, key=KIND_CODES.get)],
                     dtype=np.float64)
    vals = w.astype(np.float64) * scale[kind]
    rows = np.concatenate([an, bn])
    cols = np.concatenate([bn, an])
    k_arr = np.concatenate([kind, kind])
    order = np.lexsort((k_arr, cols, rows))  # canonical: rows, then sorted columns
    r_s, c_s = rows[order], cols[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r_s[1:] != r_s[:-1]) | (c_s[1:] != c_s[:-1])
    starts = np.flatnonzero(first)
    kinds = k_arr[order][first]
    data = np.add.reduceat(np.concatenate([vals, vals])[order], starts) if starts.size \
        else np.zeros(0)  # parallel edges of a pair add up
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_s[first], minlength=n), out=indptr[1:])
    mention = kind == KIND_CODES["mention"]
    ent_end = np.where(an[mention] >= n_p, an[mention], bn[mention]) - n_p
    doc_freq = np.maximum(1, np.bincount(ent_end, minlength=n_e)).astype(np.float64)
    ent_rows = {eid: i for i, eid in enumerate(snap.entities.ids)}
    subj = np.array([n_p + ent_rows[s] if s in ent_rows else -1
                     for s in snap.facts.column("subjects")], dtype=np.int64)
    obj = np.array([n_p + ent_rows[o] if o in ent_rows else -1
                    for o in snap.facts.column("objects")], dtype=np.int64)
    return GraphIndex(
        generation=snap.generation, n_passages=n_p, passage_ids=snap.passages.ids,
        passage_labels=snap.passages.column("labels"), entity_ids=snap.entities.ids,
        entity_names=snap.entities.column("names"), entity_doc_freq=doc_freq,
        indptr=indptr, indices=c_s[first].astype(np.int32),
        weights=data.astype(np.float32), kinds=kinds, fact_ids=snap.facts.ids,
        fact_subj=subj, fact_obj=obj, fact_text=snap.facts.column("texts"),
        fact_pred=snap.facts.column("predicates"))
