"""``graphmem migrate``: a whole memory moves SQLite -> Bolt -> SQLite and comes back the
same: counts, top-10 results, every note version, events, links, LLM cache and usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from bolt_server import arcadedb_available, bolt_params

from graphmem import Memory
from graphmem.store import SQLiteStore, StoreError
from graphmem.store.portable import migrate

pytestmark = pytest.mark.skipif(not arcadedb_available(), reason="no Bolt server here")

QUERIES = ["Who designed the Orrin Theatre?",
           "Which council governs the island where Marguerite Olsen was born?",
           "Caroline support group adoption"]


def picture(mem: Memory) -> dict:
    s = mem.stats()
    ids = mem.store.graph.passage_ids()
    return {"counts": {k: s[k] for k in ("documents", "passages", "entities", "triples",
                                         "notes", "events", "vectors")},
            "edges": s["edges"], "strings_embedded": s["strings_embedded"],
            "top10": [[h.passage_id for h in mem.search(q, k=10)] for q in QUERIES],
            "history": {n: [(v.version, v.tags, v.context, v.event_id)
                            for v in mem.history(n)] for n in ids},
            "events": [(e.id, e.note_id, e.reverted_at is not None)
                       for e in mem.store.notes.events()],
            "links": sorted((lk.src, lk.dst, lk.event_id) for lk in mem.store.notes.links()),
            "cache": mem.store.kv.cache_stats(), "usage": mem.store.kv.usage(),
            "log": len(mem.store.kv.ingest_log(1000))}


def test_sqlite_to_bolt_and_back_keeps_everything(tmp_path, embedder, demo_corpus):
    src = Memory(tmp_path / "src", embedder=embedder, offline_evolution=True, link_threshold=0.3)
    src.index(demo_corpus[:16] + [{"title": "bad", "text": ""}])
    for t in ["Caroline went to an LGBTQ support group and found it powerful.",
              "Caroline's support group meets every Tuesday.",
              "Caroline told her support group she plans to adopt a child."]:
        src.add(t)
    src.revert(src.store.notes.events()[-1].id)
    src.store.kv.cache_put("k" * 64, "qwen", "ner", '{"text": "x"}',
                           refs=[src.store.graph.passage_ids()[0]])
    src.store.kv.record_usage("qwen", "ner", 12, 5, cached=False)
    before = picture(src)
    p = bolt_params("arcadedb")
    bolt = Memory(store=p["uri"], embedder=embedder, neo4j_user=p["user"],
                  neo4j_password=p["password"], neo4j_database=p["database"],
                  cache_dir=tmp_path / "cache")
    counts = migrate(src.store, bolt.store)
    assert counts["documents"] == before["counts"]["documents"]
    assert picture(bolt) == before
    with pytest.raises(StoreError, match="not empty"):
        migrate(src.store, bolt.store)
    back = Memory(tmp_path / "back", embedder=embedder)
    migrate(bolt.store, back.store)
    assert picture(back) == before
    assert back.add("Caroline adopted a child in 2024.").notes  # the copy keeps working
    for m in (src, bolt, back):
        m.close()


def test_migrate_command(tmp_path, demo_corpus):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    (tmp_path / "c.json").write_text(json.dumps(demo_corpus[:5]))
    cmd = [sys.executable, "-m", "graphmem"]
    assert subprocess.run([*cmd, "index", str(tmp_path / "c.json"), "--store",
                           str(tmp_path / "a")], env=env, capture_output=True).returncode == 0
    r = subprocess.run([*cmd, "migrate", str(tmp_path / "a"), str(tmp_path / "b"), "--json"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["copied"]["documents"] == 5 == out["destination"]["documents"]
    s = SQLiteStore(tmp_path / "b")
    assert s.stats()["passages"] == 5
    s.close()
