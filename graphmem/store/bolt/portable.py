"""Dump and load a Bolt store as the logical tables of ``store/portable.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from graphmem.store.bolt.codec import decode, encode
from graphmem.store.bolt.conn import STORE_MATCH, Tx
from graphmem.store.portable import TABLES, Rows

_NODE = {  # table -> (label, order property)
    "vectors": ("GMVector", "key"), "documents": ("Document", "seq"),
    "passages": ("Passage", "seq"), "entities": ("Entity", "seq"), "triples": ("Fact", "seq"),
    "notes": ("Note", "seq"), "note_versions": ("NoteVersion", "created_at"),
    "events": ("Event", "seq"), "llm_cache": ("GMCache", "created_at"),
    "llm_usage": ("GMUsage", "model"), "ingest_log": ("GMLog", "seq"),
    "extraction_failures": ("GMFailure", "passage_id"),
    "pending_evolution": ("GMPending", "created_at"), "deletions": ("GMDeletion", "created_at"),
}
_REL = {
    "doc_passages": "MATCH (d:Document)-[h:HAS]->(p:Passage) RETURN d.id AS doc_id, "
                    "h.idx AS idx, p.id AS passage_id ORDER BY d.seq, h.idx",
    "mentions": "MATCH (p:Passage)-[m:MENTIONS]->(e:Entity) RETURN p.id AS passage_id, "
                "e.id AS entity_id ORDER BY m.gen, p.seq, e.seq",
    "triple_sources": "MATCH (f:Fact)-[x:FROM]->(p:Passage) RETURN f.id AS triple_id, "
                      "p.id AS passage_id, x.extractor AS extractor, x.created_at AS created_at "
                      "ORDER BY x.gen, f.seq",
    "synonyms": "MATCH (a:Entity)-[x:SYNONYM]->(b:Entity) RETURN a.id AS a, b.id AS b, "
                "x.score AS score ORDER BY x.gen, a.id, b.id",
    "links": "MATCH (a:Note)-[x:LINK]->(b:Note) RETURN a.id AS src, b.id AS dst, "
             "x.reason AS reason, x.event_id AS event_id, x.created_at AS created_at "
             "ORDER BY x.created_at",
}


def dump(store: Any, table: str, chunk: int) -> Iterator[Rows]:
    cols = TABLES[table]
    if table == "meta":
        props = store.db.q(f"{STORE_MATCH} RETURN properties(s) AS p")[0]["p"]
        rows = [{"key": k, "value": str(v)} for k, v in props.items()
                if k in ("strings_embedded", "embedding_model", "embedding_dim") and v is not None]
        rows += store.db.q("MATCH (m:GMMeta) RETURN m.key AS key, m.value AS value")
        yield rows
        return
    if table in _REL:
        cypher = _REL[table] + " SKIP $skip LIMIT $n"
    else:
        label, order = _NODE[table]
        cypher = (f"MATCH (n:{label}) RETURN properties(n) AS n ORDER BY n.{order} "
                  "SKIP $skip LIMIT $n")
    skip = 0
    while True:
        rows = store.db.q(cypher, skip=skip, n=chunk)
        if not rows:
            return
        if table not in _REL:
            rows = [{c: r["n"].get(c) for c in cols} for r in rows]
        if table == "vectors":
            for r in rows:
                r["vec"] = decode(r["vec"]).tobytes() if r["vec"] else None
        if table == "documents":
            for r in rows:
                r["complete"] = int(bool(r["complete"]))
        yield rows
        skip += len(rows)


_LOAD = {
    "vectors": "UNWIND $rows AS r MERGE (v:GMVector {key: r.key}) ON CREATE SET v.vec = r.vec",
    "documents": "UNWIND $rows AS r CREATE (d:Document) SET d = r, d.gen = 1, d.seq = r.i",
    "passages": "UNWIND $rows AS r OPTIONAL MATCH (v:GMVector {key: r.vec_key}) "
                "CREATE (p:Passage) SET p = r, p.vec = v.vec, p.gen = 1, p.seq = r.i",
    "doc_passages": "UNWIND $rows AS r MATCH (d:Document {id: r.doc_id}), "
                    "(p:Passage {id: r.passage_id}) CREATE (d)-[:HAS {idx: r.idx}]->(p)",
    "entities": "UNWIND $rows AS r OPTIONAL MATCH (v:GMVector {key: r.vec_key}) "
                "CREATE (e:Entity) SET e = r, e.vec = v.vec, e.gen = 1, e.seq = r.i",
    "mentions": "UNWIND $rows AS r MATCH (p:Passage {id: r.passage_id}), "
                "(e:Entity {id: r.entity_id}) CREATE (p)-[:MENTIONS {gen: 1}]->(e)",
    "triples": "UNWIND $rows AS r OPTIONAL MATCH (v:GMVector {key: r.vec_key}) "
               "CREATE (f:Fact) SET f = r, f.vec = v.vec, f.gen = 1, f.seq = r.i "
               "WITH f, r MATCH (s:Entity {id: r.subject_id}), (o:Entity {id: r.object_id}) "
               "CREATE (s)-[:RELATES {fact_id: r.id, predicate: r.predicate}]->(o)",
    "triple_sources": "UNWIND $rows AS r MATCH (f:Fact {id: r.triple_id}), "
                      "(p:Passage {id: r.passage_id}) CREATE (f)-[:FROM {extractor: r.extractor,"
                      " created_at: r.created_at, gen: 1}]->(p)",
    "synonyms": "UNWIND $rows AS r MATCH (a:Entity {id: r.a}), (b:Entity {id: r.b}) "
                "CREATE (a)-[:SYNONYM {score: r.score, gen: 1}]->(b)",
    "notes": "UNWIND $rows AS r OPTIONAL MATCH (v:GMVector {key: r.vec_key}) "
             "CREATE (n:Note) SET n = r, n.vec = v.vec, n.gen = 1, n.seq = r.i",
    "note_versions": "UNWIND $rows AS r CREATE (v:NoteVersion) SET v = r",
    "events": "UNWIND $rows AS r CREATE (e:Event) SET e = r, e.seq = r.i",
    "links": "UNWIND $rows AS r MATCH (a:Note {id: r.src}), (b:Note {id: r.dst}) "
             "CREATE (a)-[:LINK {reason: r.reason, event_id: r.event_id, "
             "created_at: r.created_at, gen: 1, seq: r.i}]->(b)",
    "llm_cache": "UNWIND $rows AS r CREATE (c:GMCache) SET c = r",
    "llm_usage": "UNWIND $rows AS r CREATE (u:GMUsage) SET u = r",
    "ingest_log": "UNWIND $rows AS r CREATE (x:GMLog) SET x = r, x.seq = r.i",
    "extraction_failures": "UNWIND $rows AS r CREATE (x:GMFailure) SET x = r",
    "pending_evolution": "UNWIND $rows AS r CREATE (x:GMPending) SET x = r",
    "deletions": "UNWIND $rows AS r CREATE (x:GMDeletion) SET x = r",
}

def load(store: Any, table: str, rows: Rows) -> None:
    if table == "meta":
        def meta(t: Tx) -> None:
            for r in rows:
                if r["key"] == "strings_embedded":
                    t.run(f"{STORE_MATCH} SET s.strings_embedded = toInteger($v)", v=r["value"])
                elif r["key"] == "embedding_dim":
                    t.run(f"{STORE_MATCH} SET s.embedding_dim = toInteger($v)", v=r["value"])
                elif r["key"] == "embedding_model":
                    t.run(f"{STORE_MATCH} SET s.embedding_model = $v", v=r["value"])
                else:
                    t.run("MERGE (m:GMMeta {key: $k}) SET m.value = $v", k=r["key"],
                          v=r["value"])
        store.db.write(meta)
        return
    if table == "vectors":
        rows = [{**r, "vec": encode(np.frombuffer(r["vec"], dtype=np.float32))} for r in rows]
    base = getattr(store, "_import_seq", 0)
    clean = [{k: (bool(v) if k == "complete" else v) for k, v in r.items() if v is not None}
             | {"i": base + i} for i, r in enumerate(rows)]
    store._import_seq = base + len(rows)
    store.db.write(lambda t: t.run(_LOAD[table], rows=clean))


def finish(store: Any) -> None:
    """New rows are numbered after the imported ones; every reader re-reads everything."""
    n = getattr(store, "_import_seq", 0)
    store._import_seq = 0

    def fn(t: Tx) -> None:
        t.run(f"{STORE_MATCH} SET s.seq = coalesce(s.seq, 0) + $n", n=n)
        t.destructive = True
        t.gen = max(t.gen, 1)

    store.db.write(fn)
