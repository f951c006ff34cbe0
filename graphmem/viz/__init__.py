"""Views of a memory for notebooks: neighbourhoods, a query's walk, structure, versions.

Why in the package: notebook cells rot, functions are tested. ``ego(mem, "Kelmar")``
gives a small networkx graph around an entity (optionally carrying one query's PPR
mass and its strongest paths), ``draw`` renders it with matplotlib (static, so it works
in CI and saves PNGs) and ``draw_interactive`` with plotly. The structural helpers
(degrees, components, central entities) read the same CSR arrays retrieval walks.

>>> from graphmem import Memory, viz                                  # doctest: +SKIP
>>> g = viz.ego(mem, "Glass Orchard", hops=2, query="Who wrote it?")   # doctest: +SKIP
>>> viz.draw(g, save="walk.png")                                      # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections import deque
from typing import Any

import numpy as np

from graphmem.indexing.normalize import normalize_phrase
from graphmem.retrieval.graph import KIND_CODES, GraphIndex
from graphmem.retrieval.ppr import TransitionCSR, ppr_many
from graphmem.viz.draw import draw, draw_interactive, plot_degrees

KIND_NAMES = {v: k for k, v in KIND_CODES.items()}

__all__ = ["central_entities", "components", "degrees", "draw", "draw_interactive", "ego",
           "plot_degrees", "versions_html"]


def _node(g: GraphIndex, name_or_id: str) -> int:
    if name_or_id in g.index:
        return g.index[name_or_id]
    key = normalize_phrase(name_or_id)
    if key in g.entity_nodes:
        return g.entity_nodes[key]
    close = [n for n in g.entity_nodes if key and key in n][:5]
    raise KeyError(f"no entity {name_or_id!r} in the graph" +
                   (f"; did you mean {', '.join(close)}?" if close else ""))


def ego(memory: Any, entity: str, hops: int = 2, query: str | None = None,
        max_nodes: int = 60) -> Any:
    """The neighbourhood of an entity (or passage) as a ``networkx.Graph``.

    Node attributes: ``kind`` (entity/passage), ``label``, ``score`` (the query's PPR
    mass, else 0), ``seed`` and ``on_path`` (part of a strongest path to a top hit).
    With a query, the kept nodes are the ``max_nodes`` with the most mass; without, the
    closest ones. The centre and the query's path nodes are always kept.
    """
    import networkx as nx

    g: GraphIndex = memory.retriever.graph()
    centre = _node(g, entity)
    dist = {centre: 0}
    todo = deque([centre])
    while todo:
        u = todo.popleft()
        if dist[u] >= hops:
            continue
        for v in g.indices[g.indptr[u]:g.indptr[u + 1]]:
            if int(v) not in dist:
                dist[int(v)] = dist[u] + 1
                todo.append(int(v))
    scores = np.zeros(g.n_nodes)
    seeds: set[int] = set()
    path_nodes: list[list[str]] = []
    if query:
        walk = memory.walk(query)
        scores, seeds = walk.scores, set(walk.seeds)
        path_nodes = [r.why.path for r in walk.ranked]
    labels = {i: g.label(i) for i in dist}
    on_path = {i for i, lab in labels.items() for p in path_nodes if lab in p}
    must = {centre} | on_path | (seeds & set(dist))
    rest = sorted((i for i in dist if i not in must),
                  key=lambda i: (-scores[i], dist[i], i) if query else (dist[i], i))
    keep = list(must) + rest[:max(0, max_nodes - len(must))]
    out = nx.Graph(centre=labels[centre], query=query or "", paths=path_nodes)
    for i in keep:
        out.add_node(i, kind="passage" if i < g.n_passages else "entity", label=labels[i],
                     score=float(scores[i]), seed=i in seeds, on_path=i in on_path,
                     hops=dist[i])
    kept = set(keep)
    for u in keep:
        for j in range(g.indptr[u], g.indptr[u + 1]):
            v = int(g.indices[j])
            if v in kept and u < v:
                out.add_edge(u, v, weight=float(g.weights[j]),
                             kind=KIND_NAMES[int(g.kinds[j])])
    return out


def degrees(memory: Any) -> dict[str, np.ndarray]:
    """Number of neighbours of every node, split by node kind."""
    g: GraphIndex = memory.retriever.graph()
    deg = np.diff(g.indptr)
    return {"passage": deg[:g.n_passages], "entity": deg[g.n_passages:]}


def components(memory: Any, top: int = 5) -> list[dict[str, Any]]:
    """The largest connected components: size, passages, and a few member entities."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    g: GraphIndex = memory.retriever.graph()
    mat = sp.csr_matrix((np.ones_like(g.weights), g.indices, g.indptr),
                        shape=(g.n_nodes, g.n_nodes))
    _, labels = connected_components(mat, directed=False)
    sizes = np.bincount(labels)
    out = []
    for comp in np.argsort(-sizes, kind="stable")[:top]:
        members = np.flatnonzero(labels == comp)
        ents = [g.label(int(i)) for i in members if i >= g.n_passages][:5]
        out.append({"size": int(sizes[comp]),
                    "passages": int((members < g.n_passages).sum()), "entities": ents})
    return out


def central_entities(memory: Any, top: int = 10) -> list[tuple[str, float]]:
    """Entities ranked by (global) PageRank over the whole graph, damping 0.85."""
    g: GraphIndex = memory.retriever.graph()
    if g.n_nodes == 0:
        return []
    t = TransitionCSR(g.indptr, g.indices, g.weights)
    pr = ppr_many(t, np.ones(g.n_nodes), damping=0.85)[:, 0]
    ent = pr[g.n_passages:]
    order = np.argsort(-ent, kind="stable")[:top]
    return [(str(g.entity_names[i]), float(ent[i])) for i in order]


def versions_html(memory: Any, note_id: str) -> str:
    """A note's versions side by side, as an HTML table (``IPython.display.HTML``)."""
    versions = memory.history(note_id)
    head = "".join(f"<th>v{v.version}<br><small>{html.escape(v.event_id or 'created')}"
                   f"</small></th>" for v in versions)

    def row(name: str, cells: list[str]) -> str:
        tds = "".join(f"<td style='vertical-align:top'>{html.escape(c)}</td>" for c in cells)
        return f"<tr><th>{name}</th>{tds}</tr>"

    body = (row("keywords", [", ".join(v.keywords) for v in versions]) +
            row("tags", [", ".join(v.tags) for v in versions]) +
            row("context", [v.context for v in versions]) +
            row("when", [v.created_at[:19] for v in versions]))
    note = memory.note(note_id)
    return (f"<p><b>{html.escape(note.content)}</b></p><table><tr><th></th>{head}</tr>"
            f"{body}</table>")
