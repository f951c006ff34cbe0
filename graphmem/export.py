"""Export the graph to networkx / igraph / GraphML / GEXF / JSON for exploration.

Why separate from retrieval: exploration wants labelled, attributed graphs in the
libraries people already use (networkx's API shape); retrieval wants bare CSR arrays.
Export builds the former from the store on demand and is never on the query path.

The exported graph is a directed multigraph, so a reload in networkx or Gephi shows who
did what to whom: every fact is its own edge from subject to object, carrying its
``predicate`` and ``fact_id``; mentions run passage -> entity, links note -> note (with
the evolution ``reason``), synonyms between the two entities. Text is stripped of the
control characters (NUL and friends) that XML formats cannot carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graphmem.store.base import Store
from graphmem.text import cut_words, strip_control

FORMATS = ("graphml", "gexf", "json")


def _nodes(store: Store) -> list[tuple[str, dict[str, Any]]]:
    nodes: list[tuple[str, dict[str, Any]]] = []
    pids = store.graph.passage_ids()
    for pid, p in store.graph.get_passages(pids).items():
        nodes.append((pid, {"kind": "passage", "label": strip_control(
            p.title or cut_words(p.text, 60)), "text": strip_control(p.text)}))
    for e in store.graph.entities():
        nodes.append((e.id, {"kind": "entity", "label": strip_control(e.name),
                             "type": e.type, "n_passages": e.n_passages}))
    return nodes


def _edges(store: Store, kinds: Iterable[str] | None
           ) -> list[tuple[str, str, dict[str, Any]]]:
    wanted = set(kinds) if kinds is not None else {"relation", "mention", "synonym", "link"}
    out: list[tuple[str, str, dict[str, Any]]] = []
    if "relation" in wanted:
        for f in store.graph.facts():
            if f.subject_id != f.object_id:
                out.append((f.subject_id, f.object_id, {
                    "kind": "relation", "predicate": strip_control(f.predicate),
                    "fact_id": f.id, "label": strip_control(f.predicate), "weight": 1.0}))
    for a, b, w, kind in store.graph.edges(wanted - {"relation", "link"}):
        out.append((a, b, {"kind": kind, "weight": float(w)}))
    if "link" in wanted:
        for lk in store.notes.links():
            if lk.src != lk.dst:
                out.append((lk.src, lk.dst, {"kind": "link", "reason": strip_control(lk.reason),
                                             "event_id": lk.event_id or "", "weight": 1.0}))
    return out


def to_networkx(store: Store, kinds: Iterable[str] | None = None) -> Any:
    """A ``networkx.MultiDiGraph`` of passages and entities (see the module docstring)."""
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from(_nodes(store))
    for a, b, attrs in _edges(store, kinds):
        g.add_edge(a, b, **attrs)
    return g


def to_igraph(store: Store, kinds: Iterable[str] | None = None) -> Any:
    """A directed ``igraph.Graph`` with vertex ``name``/``kind``/``label`` attributes and
    edge ``kind``/``weight``/``predicate`` attributes."""
    import igraph as ig

    nodes = _nodes(store)
    index = {n: i for i, (n, _) in enumerate(nodes)}
    edges = [(a, b, d) for a, b, d in _edges(store, kinds) if a in index and b in index]
    g = ig.Graph(n=len(nodes), edges=[(index[a], index[b]) for a, b, _ in edges],
                 directed=True)
    g.vs["name"] = [n for n, _ in nodes]
    g.vs["kind"] = [d["kind"] for _, d in nodes]
    g.vs["label"] = [d["label"] for _, d in nodes]
    g.es["weight"] = [d["weight"] for _, _, d in edges]
    g.es["kind"] = [d["kind"] for _, _, d in edges]
    g.es["predicate"] = [d.get("predicate", "") for _, _, d in edges]
    return g


def export_graph(store: Store, path: str | Path, fmt: str) -> Path:
    """Write the graph to ``path`` as GraphML, GEXF or node-link JSON."""
    import networkx as nx

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    g = to_networkx(store)
    path = Path(path)
    if fmt == "graphml":
        nx.write_graphml(g, path)
    elif fmt == "gexf":
        nx.write_gexf(g, path)
    else:
        path.write_text(json.dumps(nx.node_link_data(g, edges="edges"), ensure_ascii=False))
    return path
