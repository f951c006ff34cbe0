"""The retrieval graph: CSR arrays, node tables and fact tables built from the store.

Why a separate, derived structure: the store is optimised for safe writes, the walk for
streaming arrays. The graph is rebuilt from the store when its generation changes (a
few hundred milliseconds for MuSiQue-sized stores) and cached on disk beside the store
(``<store>/cache/graph-<generation>.npz``), so a new process starts searching at once.

Node order: passages first (in the order of the store's passage matrix), then entities.
Edges are undirected; parallel edges of different kinds between two nodes add their
weights, each kind scaled by ``KIND_WEIGHTS``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphmem.retrieval.ppr import TransitionCSR
from graphmem.store.base import Store

log = logging.getLogger(__name__)

KIND_WEIGHTS = {"relation": 1.0, "mention": 1.0, "synonym": 1.0, "link": 1.0}
KIND_CODES = {"relation": 0, "mention": 1, "synonym": 2, "link": 3}
CACHE_VERSION = 4


@dataclass
class GraphIndex:
    """Everything a walk needs, as arrays aligned on node numbers."""

    generation: int
    node_ids: np.ndarray          # str, passages then entities
    n_passages: int
    passage_labels: np.ndarray    # str, title (or opening words) of each passage node
    entity_names: np.ndarray      # str, one per entity node (node n_passages + i)
    entity_doc_freq: np.ndarray   # passages mentioning each entity
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    kinds: np.ndarray             # strongest edge kind code per CSR entry (for explanations)
    fact_ids: np.ndarray          # str, aligned with the store's fact matrix
    fact_subj: np.ndarray         # node number of each fact's subject
    fact_obj: np.ndarray
    fact_text: np.ndarray         # str, the fact as text (for explanations)
    fact_pred: np.ndarray         # str, the relation of each fact
    _transition: TransitionCSR | None = None
    _index: dict[str, int] | None = None
    _strength: np.ndarray | None = None
    _names: dict[str, int] | None = None

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.shape[0])

    @property
    def transition(self) -> TransitionCSR:
        if self._transition is None:
            self._transition = TransitionCSR(self.indptr, self.indices, self.weights)
        return self._transition

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {str(n): i for i, n in enumerate(self.node_ids)}
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
            self._names = {str(nm): self.n_passages + i for i, nm in enumerate(self.entity_names)}
        return self._names

    @property
    def n_edges(self) -> int:
        """Undirected edges (each stored twice in the CSR)."""
        return int(self.indices.shape[0] // 2)

    def fact_triple(self, f: int) -> tuple[str, str, str]:
        return (self.label(int(self.fact_subj[f])), str(self.fact_pred[f]),
                self.label(int(self.fact_obj[f])))

    def label(self, node: int) -> str:
        if node >= self.n_passages:
            return str(self.entity_names[node - self.n_passages])
        return f"[{self.passage_labels[node]}]"


def build_graph(store: Store) -> GraphIndex:
    """Assemble the graph from the store (passages aligned with the passage matrix)."""
    import scipy.sparse as sp

    generation = store.generation
    pids, _ = store.vectors("passage")
    ents = store.entities()
    node_ids = np.array(list(pids) + [e.id for e in ents], dtype=object)
    index = {n: i for i, n in enumerate(node_ids)}
    n = len(node_ids)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    codes: list[int] = []
    for a, b, w, kind in store.edges():
        ia, ib = index.get(a), index.get(b)
        if ia is None or ib is None or ia == ib or w <= 0:
            continue
        scaled = w * KIND_WEIGHTS.get(kind, 1.0)
        rows += [ia, ib]
        cols += [ib, ia]
        vals += [scaled, scaled]
        codes += [KIND_CODES[kind], KIND_CODES[kind]]
    r_arr = np.array(rows, dtype=np.int64)
    c_arr = np.array(cols, dtype=np.int64)
    k_arr = np.array(codes, dtype=np.int8)
    mat = sp.coo_matrix((np.array(vals, dtype=np.float64), (r_arr, c_arr)), shape=(n, n)).tocsr()
    mat.sum_duplicates()  # canonical: rows, then sorted columns
    # the kind shown for an edge is the lowest code between the pair (relation first)
    order = np.lexsort((k_arr, c_arr, r_arr))
    r_s, c_s = r_arr[order], c_arr[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (r_s[1:] != r_s[:-1]) | (c_s[1:] != c_s[:-1])
    kinds = k_arr[order][first]
    facts = store.facts()
    fact_ids, _ = store.vectors("fact")
    by_id = {f.id: f for f in facts}
    fact_subj = np.array([index.get(by_id[f].subject_id, -1) for f in fact_ids], dtype=np.int64)
    fact_obj = np.array([index.get(by_id[f].object_id, -1) for f in fact_ids], dtype=np.int64)
    fact_text = np.array([by_id[f].text for f in fact_ids], dtype=object)
    fact_pred = np.array([by_id[f].predicate for f in fact_ids], dtype=object)
    passages = store.get_passages(pids)
    labels = np.array([passages[p].title or passages[p].text[:40] for p in pids], dtype=object)
    return GraphIndex(
        generation=generation, node_ids=node_ids, n_passages=len(pids), passage_labels=labels,
        entity_names=np.array([e.name for e in ents], dtype=object),
        entity_doc_freq=np.array([max(1, e.n_passages) for e in ents], dtype=np.float64),
        indptr=mat.indptr.astype(np.int64), indices=mat.indices.astype(np.int32),
        weights=mat.data.astype(np.float32), kinds=kinds,
        fact_ids=np.array(fact_ids, dtype=object), fact_subj=fact_subj, fact_obj=fact_obj,
        fact_text=fact_text, fact_pred=fact_pred)


def _cache_path(directory: Path, generation: int) -> Path:
    return directory / "cache" / f"graph-v{CACHE_VERSION}-{generation}.npz"


def load_graph(store: Store, directory: Path | None) -> GraphIndex:
    """The graph for the store's current generation: from the disk cache or rebuilt."""
    generation = store.generation
    if directory is not None:
        path = _cache_path(directory, generation)
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as z:
                    return GraphIndex(
                        generation=generation, node_ids=z["node_ids"].astype(object),
                        n_passages=int(z["n_passages"]),
                        passage_labels=z["passage_labels"].astype(object),
                        entity_names=z["entity_names"].astype(object),
                        entity_doc_freq=z["entity_doc_freq"], indptr=z["indptr"],
                        indices=z["indices"], weights=z["weights"], kinds=z["kinds"],
                        fact_ids=z["fact_ids"].astype(object), fact_subj=z["fact_subj"],
                        fact_obj=z["fact_obj"], fact_text=z["fact_text"].astype(object),
                        fact_pred=z["fact_pred"].astype(object))
            except (OSError, KeyError, ValueError) as exc:
                log.warning("graph cache %s unreadable (%s); rebuilding", path, exc)
    graph = build_graph(store)
    if directory is not None:
        save_graph(graph, _cache_path(directory, generation))
    return graph


def save_graph(graph: GraphIndex, path: Path) -> None:
    """Write atomically, then drop caches of older generations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, node_ids=graph.node_ids.astype(str), n_passages=graph.n_passages,
             passage_labels=graph.passage_labels.astype(str),
             entity_names=graph.entity_names.astype(str), entity_doc_freq=graph.entity_doc_freq,
             indptr=graph.indptr, indices=graph.indices, weights=graph.weights,
             kinds=graph.kinds, fact_ids=graph.fact_ids.astype(str), fact_subj=graph.fact_subj,
             fact_obj=graph.fact_obj, fact_text=graph.fact_text.astype(str),
             fact_pred=graph.fact_pred.astype(str))
    os.replace(tmp, path)
    for old in path.parent.glob(f"graph-v{CACHE_VERSION}-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)
