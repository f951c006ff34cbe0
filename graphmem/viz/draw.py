"""Drawing graphs from ``graphmem.viz``: matplotlib (static, CI-safe) and plotly.

The static drawing is meant to be read: entities are circles and passages squares, the
query's PPR mass sets size and colour (with a colour bar), seeds get a red ring, the
strongest paths to the top hits are drawn as thick red edges, edge kinds have their own
line styles, and a legend says all of this.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

EDGE_STYLE = {"relation": "solid", "mention": "dotted", "synonym": "dashed", "link": "dashdot"}
EDGE_COLOUR = {"relation": "#888888", "mention": "#aaaaaa", "synonym": "#888888",
               "link": "#9467bd"}
KIND_COLOUR = {"entity": "#4c72b0", "passage": "#dd8452"}


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[:n - 1] + "…"


def _layout(g: Any) -> dict[Any, np.ndarray]:
    import networkx as nx

    if g.number_of_nodes() <= 80 and nx.is_connected(g):
        return nx.kamada_kawai_layout(g)
    return nx.spring_layout(g, seed=7, k=1.2 / max(1, g.number_of_nodes()) ** 0.5)


def _path_edges(g: Any) -> set[frozenset]:
    by_label = {d["label"]: n for n, d in g.nodes(data=True)}
    edges: set[frozenset] = set()
    for path in g.graph.get("paths", []):
        nodes = [by_label[lab] for lab in path if lab in by_label]
        for a, b in zip(nodes, nodes[1:], strict=False):
            if g.has_edge(a, b):
                edges.add(frozenset((a, b)))
    return edges


def draw(g: Any, title: str | None = None, save: str | None = None, max_labels: int = 30,
         figsize: tuple[float, float] = (12, 9)) -> Any:
    """A static picture of a ``viz.ego`` graph; saved as PNG when ``save`` is given."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    pos = _layout(g)
    scores = np.array([d["score"] for _, d in g.nodes(data=True)])
    has_scores = scores.max() > 0 if len(scores) else False
    fig, ax = plt.subplots(figsize=figsize)
    hot = _path_edges(g)
    for kind, style in EDGE_STYLE.items():
        edges = [(u, v) for u, v, d in g.edges(data=True)
                 if d["kind"] == kind and frozenset((u, v)) not in hot]
        if edges:
            import networkx as nx

            nx.draw_networkx_edges(g, pos, edgelist=edges, style=style,
                                   edge_color=EDGE_COLOUR[kind],
                                   width=1.8 if kind == "link" else 0.9, alpha=0.8, ax=ax)
    if hot:
        import networkx as nx

        nx.draw_networkx_edges(g, pos, edgelist=[tuple(e) for e in hot], edge_color="#d62728",
                               width=3.0, ax=ax)
    norm = None
    cmap = plt.get_cmap("viridis")
    if has_scores:
        from matplotlib.colors import LogNorm

        positive = scores[scores > 0]
        norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max())
    for kind, marker in (("entity", "o"), ("passage", "s")):
        nodes = [n for n, d in g.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        xy = np.array([pos[n] for n in nodes])
        sc = np.array([g.nodes[n]["score"] for n in nodes])
        sizes = 120 + (2200 * np.sqrt(sc / scores.max()) if has_scores else 0 * sc)
        colours = (cmap(norm(np.maximum(sc, norm.vmin))) if has_scores
                   else [KIND_COLOUR[kind]] * len(nodes))
        edge_c = ["#d62728" if g.nodes[n]["seed"] else
                  "black" if g.nodes[n]["on_path"] else "white" for n in nodes]
        ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=colours, marker=marker, edgecolors=edge_c,
                   linewidths=[2.5 if c != "white" else 0.5 for c in edge_c], zorder=3)
    ranked = sorted(g.nodes(data=True), key=lambda nd: (not nd[1]["on_path"],
                                                        not nd[1]["seed"], -nd[1]["score"],
                                                        nd[1]["hops"]))
    for n, d in ranked[:max_labels]:
        x, y = pos[n]
        ax.annotate(_short(d["label"]), (x, y), xytext=(0, 9), textcoords="offset points",
                    ha="center", fontsize=8.5, zorder=4,
                    fontweight="bold" if d["on_path"] or d["seed"] else "normal",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.75,
                          "lw": 0})
    handles = [
        Line2D([], [], marker="o", ls="", color=KIND_COLOUR["entity"], label="entity", ms=9),
        Line2D([], [], marker="s", ls="", color=KIND_COLOUR["passage"], label="passage",
               ms=9)]
    if any(d["seed"] for _, d in g.nodes(data=True)):
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="#d62728", mew=2.5,
                              label="seed of the walk", ms=9))
    if hot:
        handles.append(Line2D([], [], color="#d62728", lw=3,
                              label="strongest path to a top hit"))
    present = {d["kind"] for _, _, d in g.edges(data=True)}
    handles += [Line2D([], [], color=EDGE_COLOUR[kind], ls=style,
                       lw=1.8 if kind == "link" else 1.0, label=f"{kind} edge")
                for kind, style in EDGE_STYLE.items() if kind in present]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    if has_scores:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.6, label="PPR mass (log scale)")
    query = g.graph.get("query")
    text = title or (f"around '{g.graph.get('centre')}'" +
                     (f" — walk for: {query}" if query else ""))
    ax.set_title("\n".join(textwrap.wrap(text, 100)), fontsize=11)
    ax.set_axis_off()
    fig.tight_layout()
    if save:
        fig.savefig(save, dpi=120)
    return fig


def draw_interactive(g: Any, title: str | None = None) -> Any:
    """The same graph as an interactive plotly figure (hover shows labels and mass)."""
    import plotly.graph_objects as go

    pos = _layout(g)
    xs, ys = [], []
    for u, v in g.edges():
        xs += [pos[u][0], pos[v][0], None]
        ys += [pos[u][1], pos[v][1], None]
    fig = go.Figure([go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="none",
                                line={"width": 0.7, "color": "#aaa"}, showlegend=False)])
    for kind, symbol in (("entity", "circle"), ("passage", "square")):
        nodes = [(n, d) for n, d in g.nodes(data=True) if d["kind"] == kind]
        fig.add_trace(go.Scatter(
            x=[pos[n][0] for n, _ in nodes], y=[pos[n][1] for n, _ in nodes],
            mode="markers+text", name=kind, text=[_short(d["label"], 20) for _, d in nodes],
            textposition="top center",
            hovertext=[f"{d['label']}<br>mass {d['score']:.2e}" for _, d in nodes],
            marker={"symbol": symbol, "size": [10 + 40 * np.sqrt(d["score"]) for _, d in nodes],
                    "color": KIND_COLOUR[kind],
                    "line": {"width": [3 if d["seed"] else 0 for _, d in nodes],
                             "color": "#d62728"}}))
    fig.update_layout(title=title or f"around '{g.graph.get('centre')}'", showlegend=True,
                      xaxis={"visible": False}, yaxis={"visible": False}, height=650)
    return fig


def plot_degrees(degrees: dict[str, np.ndarray], save: str | None = None) -> Any:
    """Log-log degree distribution of entities and passages."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, deg in degrees.items():
        deg = deg[deg > 0]
        if not len(deg):
            continue
        values, counts = np.unique(deg, return_counts=True)
        ax.loglog(values, counts, "o", label=f"{kind} ({len(deg)} nodes)",
                  color=KIND_COLOUR[kind], alpha=0.8)
    ax.set_xlabel("degree (neighbours)")
    ax.set_ylabel("number of nodes")
    ax.set_title("degree distribution")
    ax.legend()
    fig.tight_layout()
    if save:
        fig.savefig(save, dpi=120)
    return fig
