"""The whole memory on a Bolt server (ArcadeDB from PyPI here; Neo4j 5.x when
``GRAPHMEM_TEST_NEO4J_URI`` is set): every feature works unchanged, the password never
shows, the Cypher is portable to Neo4j, and processes share one memory safely."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bolt_server import arcadedb_available, bolt_params

from graphmem import Memory
from graphmem.store import StoreError

ROOT = Path(__file__).resolve().parent.parent
BOLT_BACKENDS = (["arcadedb"] if arcadedb_available() else []) + \
    (["neo4j"] if os.environ.get("GRAPHMEM_TEST_NEO4J_URI") else [])
pytestmark = pytest.mark.skipif(not BOLT_BACKENDS, reason="no Bolt server on this machine")


@pytest.fixture(params=BOLT_BACKENDS)
def bolt(request):
    params = bolt_params(request.param)
    if request.param == "neo4j":
        from bolt_server import _wipe_neo4j

        _wipe_neo4j(params)
    return params


def bolt_memory(params, tmp_path, embedder, **kw) -> Memory:
    return Memory(store=params["uri"], embedder=embedder, neo4j_user=params["user"],
                  neo4j_password=params["password"], neo4j_database=params["database"],
                  cache_dir=tmp_path / "cache", **kw)


def test_every_feature_on_a_bolt_store(bolt, tmp_path, embedder, demo_corpus):
    mem = bolt_memory(bolt, tmp_path, embedder, offline_evolution=True, link_threshold=0.3)
    local = Memory(tmp_path / "sqlite", embedder=embedder, offline_evolution=True,
                   link_threshold=0.3)
    for m in (mem, local):
        m.index(demo_corpus)
    assert mem.stats()["backend"] == "bolt"
    for key in ("documents", "passages", "entities", "triples", "notes"):
        assert mem.stats()[key] == local.stats()[key], key
    assert mem.stats()["edges"] == local.stats()["edges"]
    for q in ("Who designed the Orrin Theatre?",
              "Which council governs the island where Marguerite Olsen was born?"):
        assert [h.passage_id for h in mem.search(q, k=5)] == \
            [h.passage_id for h in local.search(q, k=5)]
    added = mem.add("Caroline told her support group about the Orrin Theatre concert.")
    out = added.evolution[0]
    assert out.event is not None and mem.store.notes.links(added.notes[0].id)
    target = mem.note(added.notes[0].id)
    assert mem.history(target.id)[0].version == 1
    assert mem.revert(out.event.id) is not None
    assert mem.store.notes.events()[0].reverted_at
    doc = next(d for d in mem.store.graph.documents() if d.title == "Night Tide")
    rep = mem.delete(doc.id)
    assert rep.passages == 1
    assert all(h.title != "Night Tide" for h in mem.search("opera premiered 1987", k=10))
    from graphmem.export import export_graph

    assert export_graph(mem.store, tmp_path / "g.graphml", "graphml").stat().st_size > 1000
    assert mem.ask("Who designed the Orrin Theatre?").evidence  # no LLM: the evidence
    mem.close()
    local.close()


def test_a_new_process_refreshes_only_what_changed(bolt, tmp_path, embedder, demo_corpus):
    mem = bolt_memory(bolt, tmp_path, embedder)
    mem.index(demo_corpus[:20])
    mem.search("warm")  # full read, saved to the local disk cache
    mem.close()
    again = bolt_memory(bolt, tmp_path, embedder)
    again.search("warm")
    assert again.snapshots.full_reads == 0  # started from the disk cache
    for i in range(3):
        again.add(f"Ingrid Solberg planted orchard row {i} in Kelmar near the Orrin Theatre.")
        again.search("orchard in Kelmar")
    assert again.snapshots.full_reads == 0 and again.snapshots.refreshes >= 4
    # what the deltas built equals one full read of the server
    from graphmem.retrieval.snapshot import from_delta

    inc = again.snapshot()
    full = from_delta(again.store.uuid, again.store.read_delta(None))
    assert sorted(inc.passages.ids) == sorted(full.passages.ids)
    assert sorted(inc.entities.ids) == sorted(full.entities.ids)
    assert sorted(inc.facts.ids) == sorted(full.facts.ids)
    gi, gf = inc.graph(), full.graph()
    assert gi.n_edges == gf.n_edges and abs(gi.weights.sum() - gf.weights.sum()) < 1e-3
    again.close()


def test_the_password_never_shows(bolt, tmp_path, embedder):
    wrong = {**bolt, "password": "definitely-wrong-pw-123"}
    with pytest.raises(StoreError) as err:
        bolt_memory(wrong, tmp_path, embedder)
    assert "definitely-wrong-pw-123" not in str(err.value)
    assert "GRAPHMEM_NEO4J_PASSWORD" in str(err.value) or "Bolt server" in str(err.value)
    mem = bolt_memory(bolt, tmp_path, embedder)
    shown = repr(mem) + repr(mem.store) + repr(mem.config) + str(mem.stats())
    assert bolt["password"] not in shown
    mem.close()
    env = {**os.environ, "GRAPHMEM_STORE": bolt["uri"], "GRAPHMEM_NEO4J_USER": bolt["user"],
           "GRAPHMEM_NEO4J_PASSWORD": bolt["password"],
           "GRAPHMEM_NEO4J_DATABASE": bolt["database"]}
    for args in (["config"], ["config", "--json"], ["stats", "--json"]):
        r = subprocess.run([sys.executable, "-m", "graphmem", *args], capture_output=True,
                           text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr[-2000:]
        assert bolt["password"] not in r.stdout + r.stderr
    rows = {x["field"]: x for x in json.loads(subprocess.run(
        [sys.executable, "-m", "graphmem", "config", "--json"], capture_output=True, text=True,
        env=env, timeout=60).stdout)}
    assert rows["store"]["value"] == bolt["uri"] and rows["neo4j_password"]["value"] == "***"


def test_a_bolt_uri_is_never_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError):
        Memory(store="bolt://127.0.0.1:9", neo4j_password="x")
    assert not (tmp_path / "bolt:").exists()


SPLICE_OK = {"STORE_MATCH", "label", "prop", "where", "_limit(limit)", "label.lower()", "order",
             "v", "int(limit)", "_IN"}
FORBIDDEN = [r"apoc\.", r"NODE\s+KEY", r"db\.create\.setNodeVectorProperty", r"vecf32",
             r"vector\.similarity", r"MERGE\s*\([^)]*\)\s*-\s*\[[^\]]*\]\s*-\s*\(",
             r"\bgds\."]


def test_our_cypher_is_portable_to_neo4j_and_parameterised():
    for path in sorted((ROOT / "graphmem" / "store" / "bolt").glob("*.py")):
        src = path.read_text()
        for pattern in FORBIDDEN:
            assert not re.search(pattern, src), f"{path.name}: {pattern}"
        # f-strings may only splice in our own names (labels, properties, clauses), never
        # a value: every value goes through $parameters
        for m in re.finditer(r'f"([^"]*)"', src):
            text = m.group(1)
            if not re.search(r"\b(MATCH|MERGE|CREATE|RETURN|UNWIND|DELETE)\b", text):
                continue  # an error message, not Cypher
            for name in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", text):
                assert name in SPLICE_OK, f"{path.name}: Cypher f-string splices {name!r}"


@pytest.mark.slow
def test_four_processes_share_one_bolt_memory(bolt, tmp_path, demo_corpus):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_STORE": bolt["uri"],
           "GRAPHMEM_NEO4J_USER": bolt["user"], "GRAPHMEM_NEO4J_PASSWORD": bolt["password"],
           "GRAPHMEM_NEO4J_DATABASE": bolt["database"],
           "GRAPHMEM_CACHE_DIR": str(tmp_path / "cache")}
    half = len(demo_corpus) // 2
    (tmp_path / "a.json").write_text(json.dumps(demo_corpus[:half]))
    (tmp_path / "b.json").write_text(json.dumps(demo_corpus[half:]))
    cmd = [sys.executable, "-m", "graphmem"]
    (tmp_path / "first.json").write_text(json.dumps(demo_corpus[:1]))
    first = subprocess.run([*cmd, "index", str(tmp_path / "first.json")], env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    procs = [subprocess.Popen([*cmd, "index", str(tmp_path / f)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in ("a.json", "b.json")]
    procs.append(subprocess.Popen([sys.executable, "-c", (
        "from graphmem import Memory\nm = Memory()\n"
        "for i in range(6):\n    m.add(f'Memory {i}: Tomas Reyes pruned orchard row {i}.')\n")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    searches = 0
    while any(p.poll() is None for p in procs):
        r = subprocess.run([*cmd, "search", "Who designed the Orrin Theatre?", "--json"],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        searches += 1
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    s = json.loads(subprocess.run([*cmd, "stats", "--json"], env=env, capture_output=True,
                                  text=True, timeout=120).stdout)
    assert s["documents"] == len(demo_corpus) + 6 and s["passages"] == len(demo_corpus) + 6
    hits = json.loads(subprocess.run([*cmd, "search", "Tomas Reyes pruned orchard row 5",
                                      "--json"], env=env, capture_output=True, text=True,
                                     timeout=120).stdout)
    assert any("row 5" in h["text"] for h in hits) and searches >= 1
