"""Export the graph to networkx / igraph / GraphML / GEXF / JSON for exploration.

Why separate from retrieval: exploration wants labelled, attributed graphs in the
libraries people already use (networkx's API shape); retrieval wants bare CSR arrays.
Export builds the former from the store on demand and is never on the query path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graphmem.store.base import Store

FORMATS = ("graphml", "gexf", "json")


def _nodes(store: Store) -> list[tuple[str, dict[str, Any]]]:
    nodes: list[tuple[str, dict[str, Any]]] = []
    pids = store.graph.passage_ids()
    for pid, p in store.graph.get_passages(pids).items():
        nodes.append((pid, {"kind": "passage", "label": p.title or p.text[:60],
                            "text": p.text}))
    for e in store.graph.entities():
        nodes.append((e.id, {"kind": "entity", "label": e.name, "type": e.type,
                             "n_passages": e.n_passages}))
    return nodes


def _edges(store: Store, kinds: Iterable[str] | None) -> list[tuple[str, str, float, str]]:
    return list(store.graph.edges(kinds))


def to_networkx(store: Store, kinds: Iterable[str] | None = None) -> Any:
    """An undirected ``networkx.Graph``; parallel edges of different kinds sum their weight
    and list their kinds in ``kinds``."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(_nodes(store))
    for a, b, w, kind in _edges(store, kinds):
        if g.has_edge(a, b):
            g[a][b]["weight"] += w
            g[a][b]["kinds"] = ",".join(sorted(set(g[a][b]["kinds"].split(",")) | {kind}))
        else:
            g.add_edge(a, b, weight=w, kind=kind, kinds=kind)
    return g


def to_igraph(store: Store, kinds: Iterable[str] | None = None) -> Any:
    """An undirected ``igraph.Graph`` with vertex ``name``/``kind``/``label`` attributes."""
    import igraph as ig

    nodes = _nodes(store)
    index = {n: i for i, (n, _) in enumerate(nodes)}
    edges = _edges(store, kinds)
    g = ig.Graph(n=len(nodes), edges=[(index[a], index[b]) for a, b, _, _ in edges],
                 directed=False)
    g.vs["name"] = [n for n, _ in nodes]
    g.vs["kind"] = [d["kind"] for _, d in nodes]
    g.vs["label"] = [d["label"] for _, d in nodes]
    g.es["weight"] = [w for _, _, w, _ in edges]
    g.es["kind"] = [k for _, _, _, k in edges]
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
