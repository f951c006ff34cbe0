"""Forgetting a document on a Bolt server, in one transaction (mirrors the SQLite rules).

The document's own passages and notes (with their versions), the facts and entities
only it supported and every edge touching them, their vectors, cached LLM answers whose
prompt carried its text, and log lines about it are deleted. Evolution it caused is
undone on the neighbours (a new version tied to the recorded ``GMDeletion``), versions
holding text derived from it are redacted, and its events are removed.
"""

from __future__ import annotations

import json

from graphmem.embeddings import text_hash
from graphmem.store.base import StoreError
from graphmem.store.bolt.conn import Tx
from graphmem.store.bolt.notes import restore_event
from graphmem.store.records import DeleteReport
from graphmem.store.sqlite.schema import now
from graphmem.types import Note

REDACTED = "(removed with a deleted memory)"


def _version_keys(rows: list[dict]) -> set[str]:
    keys = set()
    for r in rows:
        note = Note(id="", content=r["text"] or "", title=r["title"] or "",
                    keywords=json.loads(r["kw"]), tags=json.loads(r["tags"]), context=r["ctx"])
        keys.add(text_hash(note.embed_text()))
    return keys


_VERSIONS = ("MATCH (v:NoteVersion) WHERE {} OPTIONAL MATCH (p:Passage {{id: v.note_id}}) "
             "RETURN v.keywords AS kw, v.tags AS tags, v.context AS ctx, p.title AS title, "
             "p.text AS text")


def forget_document(t: Tx, doc_id: str, deletion_id: str) -> DeleteReport:
    stamp = now()
    rep = DeleteReport(doc_id)
    own = [r["id"] for r in t.run(
        "MATCH (d:Document {id: $doc})-[:HAS]->(p:Passage) OPTIONAL MATCH (p)<-[:HAS]-"
        "(o:Document) WHERE o.id <> $doc WITH p, count(o) AS others WHERE others = 0 "
        "RETURN DISTINCT p.id AS id", doc=doc_id)]
    t.run("CREATE (:GMDeletion {id: $id, doc_id: $doc, reason: 'document deleted', "
          "created_at: $at})", id=deletion_id, doc=doc_id, at=stamp)
    keys = {r["k"] for r in t.run("UNWIND $ids AS id MATCH (p:Passage {id: id}) "
                                  "RETURN p.vec_key AS k", ids=own)}
    keys |= _version_keys(t.run(_VERSIONS.format("v.note_id IN $ids"), ids=own))
    caused = t.run("MATCH (e:Event) WHERE e.note_id IN $ids RETURN e.id AS id, "
                   "e.reverted_at AS r ORDER BY e.seq DESC", ids=own)
    for ev in caused:
        keys |= _version_keys(t.run(_VERSIONS.format("v.event_id = $ev"), ev=ev["id"]))
        if ev["r"] is None:
            try:
                restore_event(t, ev["id"], deletion_id, stamp)
            except StoreError:
                t.run("MATCH ()-[x:LINK {event_id: $ev}]->() DELETE x", ev=ev["id"])
            rep.reverted_events.append(ev["id"])
        t.run("MATCH (v:NoteVersion {event_id: $ev}) WHERE NOT v.note_id IN $ids "
              "SET v.keywords = '[]', v.tags = '[]', v.context = $red, v.event_id = $del",
              ev=ev["id"], ids=own, red=REDACTED, **{"del": deletion_id})
        t.run("MATCH (v:NoteVersion {event_id: $m}) SET v.event_id = $del",
              m=f"revert:{ev['id']}", **{"del": deletion_id})
        t.run("MATCH (e:Event {id: $ev}) DELETE e", ev=ev["id"])
    for e in t.run("MATCH (e:Event) RETURN e.id AS id, e.decision AS d"):
        d = json.loads(e["d"])
        touched = set(d.get("links", [])) | set(d.get("rewrote", []))
        if touched & set(own):
            t.run("MATCH (e:Event {id: $id}) SET e.decision = $d", id=e["id"], d=json.dumps({
                "links": [x for x in d.get("links", []) if x not in own],
                "rewrote": [x for x in d.get("rewrote", []) if x not in own],
                "redacted": deletion_id}))
    rep.passages = len(own)
    rep.edges += t.run("UNWIND $ids AS id MATCH (p:Passage {id: id})-[m:MENTIONS]->() "
                       "WITH m DELETE m RETURN count(*) AS n", ids=own)[0]["n"]
    rep.edges += t.run("UNWIND $ids AS id MATCH (n:Note {id: id})-[l:LINK]-() WITH DISTINCT l "
                       "DELETE l RETURN count(*) AS n", ids=own)[0]["n"]
    keys |= {r["k"] for r in t.run("UNWIND $ids AS id MATCH (n:Note {id: id}) "
                                   "RETURN n.vec_key AS k", ids=own)}
    t.run("MATCH (d:Document {id: $doc}) DETACH DELETE d", doc=doc_id)
    t.run("UNWIND $ids AS id MATCH (x:NoteVersion {note_id: id}) DELETE x", ids=own)
    for label, prop in (("Note", "id"), ("Passage", "id"), ("GMPending", "note_id"),
                        ("GMFailure", "passage_id")):
        t.run(f"UNWIND $ids AS id MATCH (x:{label} {{{prop}: id}}) DETACH DELETE x", ids=own)
    orphan_facts = t.run("MATCH (f:Fact) WHERE NOT (f)-[:FROM]->() RETURN f.id AS id, "
                         "f.vec_key AS k")
    keys |= {r["k"] for r in orphan_facts}
    rep.triples = len(orphan_facts)
    t.run("UNWIND $ids AS id MATCH (f:Fact {id: id}) DETACH DELETE f",
          ids=[r["id"] for r in orphan_facts])
    t.run("UNWIND $ids AS id MATCH (f:Fact {superseded_by: id}) "  # they hold again
          "SET f.valid_to = null, f.superseded_by = null", ids=[r["id"] for r in orphan_facts])
    t.run("UNWIND $ids AS id MATCH ()-[x:RELATES {fact_id: id}]->() DELETE x",
          ids=[r["id"] for r in orphan_facts])
    orphans = t.run("MATCH (e:Entity) WHERE NOT ()-[:MENTIONS]->(e) RETURN e.id AS id, "
                    "e.vec_key AS k")
    keys |= {r["k"] for r in orphans}
    rep.entities = len(orphans)
    rep.edges += t.run("UNWIND $ids AS id MATCH (e:Entity {id: id})-[s:SYNONYM]-() "
                       "WITH DISTINCT s DELETE s RETURN count(*) AS n",
                       ids=[r["id"] for r in orphans])[0]["n"]
    t.run("UNWIND $ids AS id MATCH (e:Entity {id: id}) DETACH DELETE e",
          ids=[r["id"] for r in orphans])
    still = {r["k"] for r in t.run(
        "UNWIND $keys AS k OPTIONAL MATCH (p:Passage {vec_key: k}) OPTIONAL MATCH "
        "(n:Note {vec_key: k}) OPTIONAL MATCH (e:Entity {vec_key: k}) OPTIONAL MATCH "
        "(f:Fact {vec_key: k}) WITH k, count(p) + count(n) + count(e) + count(f) AS used "
        "WHERE used > 0 RETURN k", keys=list(keys))}
    gone = [k for k in keys if k not in still]
    rep.vectors = t.run("UNWIND $keys AS k MATCH (v:GMVector {key: k}) DELETE v "
                        "RETURN count(*) AS n", keys=gone)[0]["n"] if gone else 0
    rep.cache_entries = t.run("MATCH (c:GMCache) WHERE any(x IN c.refs WHERE x IN $ids) "
                              "DELETE c RETURN count(*) AS n", ids=own)[0]["n"] if own else 0
    t.run("MATCH (x:GMLog) WHERE x.source IN $ids OR x.source STARTS WITH $pre DELETE x",
          ids=own, pre=doc_id + "#")
    return rep
