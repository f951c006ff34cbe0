"""The notebook helpers in ``graphmem.viz``, on the demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

from graphmem import viz

matplotlib.use("Agg")
COMET = ("Which comet was discovered by the founder of the university where the author of "
         "The Glass Orchard studied?")
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_ego_graph_carries_the_walk(demo_memory):
    g = viz.ego(demo_memory, "The Glass Orchard", hops=5, query=COMET, max_nodes=30)
    labels = {d["label"]: d for _, d in g.nodes(data=True)}
    assert labels["glass orchard"]["seed"] and labels["glass orchard"]["kind"] == "entity"
    assert labels["[Ingrid Solberg]"]["on_path"] and labels["tomas reyes"]["on_path"]
    assert g.number_of_nodes() <= 30 and all(d["score"] >= 0 for _, d in g.nodes(data=True))
    assert {d["kind"] for _, _, d in g.edges(data=True)} <= {"relation", "mention", "synonym",
                                                             "link"}
    with pytest.raises(KeyError, match="no entity"):
        viz.ego(demo_memory, "Atlantis")


def test_drawings_render(demo_memory, tmp_path):
    g = viz.ego(demo_memory, "Kelmar", hops=2, query="Who governs Kelmar?")
    fig = viz.draw(g, save=tmp_path / "walk.png")
    assert (tmp_path / "walk.png").stat().st_size > 20_000
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "kelmar" in texts
    assert fig.axes[0].get_legend() is not None
    inter = viz.draw_interactive(g)
    assert len(inter.data) == 3
    viz.plot_degrees(viz.degrees(demo_memory), save=tmp_path / "deg.png")
    assert (tmp_path / "deg.png").exists()


def test_structure_helpers(demo_memory):
    deg = viz.degrees(demo_memory)
    assert len(deg["passage"]) == 36 and deg["entity"].max() >= 2
    comps = viz.components(demo_memory, top=3)
    assert comps[0]["size"] >= comps[-1]["size"] and comps[0]["passages"] > 10
    central = viz.central_entities(demo_memory, top=5)
    assert len(central) == 5 and central[0][1] >= central[-1][1]


def test_versions_html(make_memory):
    mem = make_memory(offline_evolution=True, link_threshold=0.3)
    mem.add("Caroline went to a support group and found it powerful.")
    added = mem.add("Caroline's support group meets on Tuesdays.")
    event = next(o.event for o in added.evolution if o.event)
    target = event.decision["rewrote"][0] if event.decision["rewrote"] else event.note_id
    page = viz.versions_html(mem, target)
    assert "<table>" in page and "v1" in page


def test_notebooks_are_stored_without_outputs():
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [b.name[:2] for b in books] == ["01", "02", "03"]
    for book in books:
        cells = json.loads(book.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, book.name
