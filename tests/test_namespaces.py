"""Many agents, one memory: namespaces never see each other, filters narrow a search."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from graphmem.cli import app

ANA = ["Ana's passport number is kept in the blue folder in Kelmar.",
       "Ana met Tomas Reyes at the Orrin Theatre on Friday.",
       "Ana plans to adopt a cat named Pixel."]
BOB = ["Bob's passport number is kept in the red drawer in Kelmar.",
       "Bob met Tomas Reyes at the Orrin Theatre on Friday.",
       "Bob is training for the Ystrand marathon."]
SHARED = {"title": "Orrin Theatre", "text": "The Orrin Theatre in Port Sable was designed by "
          "Paul Dreyer."}


def fill(mem):
    for t in ANA:
        mem.add(t, namespace="user:ana", metadata={"channel": "chat"})
    for t in BOB:
        mem.add(t, namespace="user:bob", metadata={"channel": "email"})
    mem.index([SHARED])


def test_a_namespace_never_returns_another_namespaces_memories(make_memory):
    mem = make_memory("ns", offline_evolution=True, link_threshold=0.3)
    fill(mem)
    for q in ("Where is the passport kept?", "Who did they meet at the Orrin Theatre?",
              "Tomas Reyes", "Kelmar"):
        for ns, own in (("user:ana", ANA), ("user:bob", BOB)):
            hits = mem.search(q, k=10, namespace=ns)
            assert hits and {h.text for h in hits} <= set(own), (q, ns)
            for h in hits:  # explanations do not leak the other namespace either
                shown = " ".join(h.why.path + [e for e, _ in h.why.seed_entities] +
                                 [f for f, _ in h.why.seed_facts])
                other = "bob" if ns == "user:ana" else "ana"
                assert other not in shown.lower(), (q, ns, shown)
        default = mem.search(q, k=10)
        assert {h.text for h in default} <= {SHARED["text"]}
    everything = {h.text for h in mem.search("passport", k=20, namespace="*")}
    assert {ANA[0], BOB[0]} <= everything
    ans = mem.ask("Where is the passport kept?", namespace="user:bob")
    assert {h.text for h in ans.evidence} <= set(BOB)


def test_evolution_stays_inside_a_namespace(make_memory):
    mem = make_memory("ns-evo", offline_evolution=True, link_threshold=0.2)
    fill(mem)
    ana_ids = {n for n in mem.store.graph.passage_ids()
               if mem.note(n).content in ANA}
    for lk in mem.store.notes.links():
        assert (lk.src in ana_ids) == (lk.dst in ana_ids), lk
    assert mem.store.notes.links()  # links were made, within each namespace


def test_filters_on_tags_documents_sources_and_metadata(make_memory, tmp_path):
    mem = make_memory("filters")
    fill(mem)
    chat = mem.search("passport", k=10, namespace="*", filters={"metadata": {"channel": "chat"}})
    assert {h.text for h in chat} <= set(ANA) and chat
    doc = mem.store.graph.documents(namespace="user:bob")[0]  # Bob's first memory
    only = mem.search("passport", k=10, namespace="*", filters={"doc_id": doc.id})
    assert [h.text for h in only] == [BOB[0]]
    note = mem.note(mem.store.graph.passage_ids(doc.id)[0])
    tagged = mem.search("anything at all", k=10, namespace="*",
                        filters={"tags": note.tags[:1]}) if note.tags else []
    assert all(note.tags[0] in mem.note(h.passage_id).tags for h in tagged)
    d = tmp_path / "docs"
    d.mkdir()
    (d / "travel.txt").write_text("The passport office in Port Sable opens at nine.")
    mem.index(d)
    by_source = mem.search("passport", k=10, filters={"source": "travel.txt"})
    assert [h.title for h in by_source] == ["travel"]
    assert mem.search("passport", k=10, namespace="*",
                      filters={"metadata": {"channel": "fax"}}) == []


def test_namespaces_from_the_cli(tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "s")
    for ns, texts in (("user:ana", ANA), ("user:bob", BOB)):
        for t in texts:
            r = runner.invoke(app, ["add", t, "--store", store, "--namespace", ns])
            assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["search", "passport", "--store", store, "--namespace", "user:ana",
                            "--json"])
    hits = json.loads(r.output)
    assert hits and {h["text"] for h in hits} <= set(ANA)
    r = runner.invoke(app, ["docs", "--store", store, "--namespace", "user:bob", "--json"])
    assert len(json.loads(r.output)) == 3
