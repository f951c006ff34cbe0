"""An indexing batch written to a Bolt server in one transaction, as UNWIND statements.

Every statement MERGEs on a unique id and sets properties only ``ON CREATE``, returning
whether it created the row (``x.gen = $gen``): re-writing what exists is a no-op, a
retried transaction writes the same thing, and the batch result counts only what is new.
"""

from __future__ import annotations

import json
from typing import Any

from graphmem.embeddings import text_hash
from graphmem.store.base import StoreError
from graphmem.store.bolt.codec import encode
from graphmem.store.bolt.conn import STORE_MATCH, Tx
from graphmem.store.records import BatchResult, WriteBatch
from graphmem.store.sqlite.schema import now
from graphmem.types import content_id
from graphmem.when import event_time


def entity_id(name: str) -> str:
    return content_id("e:", name)


def _created(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows if r["created"]]


def write_batch(t: Tx, batch: WriteBatch) -> BatchResult:
    res = BatchResult()
    gen, stamp = t.gen, now()
    vecs = dict(batch.vectors)
    if vecs:
        t.run("UNWIND $rows AS r MERGE (v:GMVector {key: r.key}) ON CREATE SET v.vec = r.vec",
              rows=[{"key": k, "vec": encode(v)} for k, v in vecs.items()])
        dim = len(next(iter(vecs.values())))
        t.run(f"{STORE_MATCH} SET s.embedding_dim = coalesce(s.embedding_dim, $d)", d=dim)
    n_rows = len(batch.documents) + len(batch.passages) + len(batch.notes) + sum(
        len(ex.all_entities()) + len(ex.triples) for ex in batch.extractions)
    base = t.run(f"{STORE_MATCH} SET s.seq = s.seq + $n RETURN s.seq - $n AS base",
                 n=n_rows)[0]["base"]
    seq = iter(range(base, base + n_rows))

    def vec_of(key: str) -> str | None:
        v = vecs.get(key)
        return encode(v) if v is not None else None

    needed: dict[str, str] = {}  # vector key -> what needs it (for the missing check)
    doc_times = {rec.document.id: event_time(rec.document.timestamp, stamp if
                                             rec.document.source == "add" else None)
                 for rec in batch.documents}
    t.run("UNWIND $rows AS r MERGE (d:Document {id: r.id}) ON CREATE SET d += r.props, "
          "d.gen = $gen, d.seq = r.seq SET d.complete = r.complete, d.n_passages = r.n",
          gen=gen, rows=[{"id": rec.document.id, "complete": rec.complete, "n": rec.n_passages,
                          "seq": next(seq), "props": {
                              "title": rec.document.title, "source": rec.document.source,
                              "metadata": json.dumps(rec.document.metadata, default=str),
                              "timestamp": rec.document.timestamp, "created_at": stamp,
                              "namespace": rec.document.namespace,
                              "event_at": doc_times[rec.document.id],
                              "source_key": rec.document.metadata.get("source_key")}}
                         for rec in batch.documents])
    times = {p.id: doc_times.get(p.doc_id) or stamp for p in batch.passages}
    prows = []
    for p in {p.id: p for p in batch.passages}.values():
        key = text_hash(p.embed_text)
        prows.append({"id": p.id, "seq": next(seq), "key": key, "vec": vec_of(key), "props": {
            "title": p.title, "text": p.text, "timestamp": p.timestamp, "created_at": stamp,
            "namespace": p.namespace}})
    rows = t.run("UNWIND $rows AS r MERGE (p:Passage {id: r.id}) ON CREATE SET p += r.props, "
                 "p.vec_key = r.key, p.vec = r.vec, p.gen = $gen, p.seq = r.seq "
                 "RETURN p.id AS id, p.gen = $gen AS created, p.vec IS NULL AS novec",
                 rows=prows, gen=gen)
    res.passage_ids = _created(rows)
    res.passages_added = len(res.passage_ids)
    t.touched("Passage", res.passage_ids)
    t.passages.update(p.id for p in batch.passages)
    t.passages.update(ex.passage_id for ex in batch.extractions)
    t.notes.update(lk.src for lk in batch.links)
    _fill_vectors(t, "Passage", rows, {r["id"]: r["key"] for r in prows}, needed)
    t.run("UNWIND $rows AS r MATCH (d:Document {id: r.doc}), (p:Passage {id: r.pid}) "
          "MERGE (d)-[:HAS {idx: r.idx}]->(p)",
          rows=[{"doc": p.doc_id, "pid": p.id, "idx": p.index} for p in batch.passages])
    changed = _extractions(t, batch, res, seq, vec_of, times, needed, stamp)
    changed += _notes_links_and_rest(t, batch, res, seq, vec_of, needed, stamp)
    missing = _missing_vectors(t, needed)
    if missing:
        raise StoreError(f"batch lacks embeddings for {len(missing)} new strings")
    if batch.strings_embedded:
        t.run(f"{STORE_MATCH} SET s.strings_embedded = coalesce(s.strings_embedded, 0) + $n",
              n=batch.strings_embedded)
    t.visible = bool(changed or res.passages_added or res.entities_added or res.triples_added
                     or res.synonyms_added)
    return res


def _fill_vectors(t: Tx, label: str, rows: list[dict], keys: dict[str, str],
                  needed: dict[str, str]) -> None:
    """Nodes created without their vector (it was cached from an earlier batch): copy it
    from the embedding cache; remember which keys must exist."""
    todo = [{"id": r["id"], "key": keys[r["id"]]} for r in rows if r["created"] and r["novec"]]
    for r in rows:
        if r["created"]:
            needed[keys[r["id"]]] = r["id"]
    if todo:
        t.run(f"UNWIND $rows AS r MATCH (n:{label} {{id: r.id}}) "
              "MATCH (v:GMVector {key: r.key}) SET n.vec = v.vec", rows=todo)


def _extractions(t: Tx, batch: WriteBatch, res: BatchResult, seq, vec_of, times: dict,
                 needed: dict[str, str], stamp: str) -> int:
    changed = 0
    erows: dict[str, dict] = {}
    mentions, frows, sources, ok = [], {}, [], []
    for ex in batch.extractions:
        for name in ex.all_entities():
            eid = entity_id(name)
            if eid not in erows:
                key = text_hash(name)
                erows[eid] = {"id": eid, "seq": next(seq), "key": key, "vec": vec_of(key),
                              "name": name, "type": ex.entity_types.get(name, "")}
            mentions.append({"p": ex.passage_id, "e": eid})
        mentions = list({(m["p"], m["e"]): m for m in mentions}.values())
        for tr in ex.triples:
            if tr.id not in frows:
                key = text_hash(tr.text)
                frows[tr.id] = {"id": tr.id, "seq": next(seq), "key": key, "vec": vec_of(key),
                                "s": entity_id(tr.subject), "o": entity_id(tr.object),
                                "props": {"predicate": tr.predicate, "text": tr.text,
                                          "subject_id": entity_id(tr.subject),
                                          "object_id": entity_id(tr.object),
                                          "valid_from": times.get(ex.passage_id)}}
            sources.append({"f": tr.id, "p": ex.passage_id, "x": ex.extractor})
        if ex.failed is None:
            ok.append(ex.passage_id)
    rows = t.run("UNWIND $rows AS r MERGE (e:Entity {id: r.id}) ON CREATE SET e.name = r.name, "
                 "e.type = r.type, e.vec_key = r.key, e.vec = r.vec, e.gen = $gen, e.seq = r.seq "
                 "RETURN e.id AS id, e.gen = $gen AS created, e.vec IS NULL AS novec",
                 rows=list(erows.values()), gen=t.gen)
    res.entities_added = _created(rows)
    t.touched("Entity", res.entities_added)
    _fill_vectors(t, "Entity", rows, {k: v["key"] for k, v in erows.items()}, needed)
    rows = t.run("UNWIND $rows AS r MATCH (p:Passage {id: r.p}), (e:Entity {id: r.e}) "
                 "MERGE (p)-[m:MENTIONS]->(e) ON CREATE SET m.gen = $gen "
                 "RETURN m.gen = $gen AS created", rows=mentions, gen=t.gen)
    changed += sum(r["created"] for r in rows)
    rows = t.run("UNWIND $rows AS r MERGE (f:Fact {id: r.id}) ON CREATE SET f += r.props, "
                 "f.vec_key = r.key, f.vec = r.vec, f.gen = $gen, f.seq = r.seq "
                 "RETURN f.id AS id, f.gen = $gen AS created, f.vec IS NULL AS novec",
                 rows=list(frows.values()), gen=t.gen)
    new_facts = set(_created(rows))
    t.touched("Fact", new_facts)
    res.triples_added = len(new_facts)
    _fill_vectors(t, "Fact", rows, {k: v["key"] for k, v in frows.items()}, needed)
    t.run("UNWIND $rows AS r MATCH (s:Entity {id: r.s}), (o:Entity {id: r.o}) "
          "MERGE (s)-[x:RELATES {fact_id: r.id}]->(o) ON CREATE SET x.predicate = r.p",
          rows=[{"id": f["id"], "s": f["s"], "o": f["o"], "p": f["props"]["predicate"]}
                for f in frows.values() if f["id"] in new_facts])
    rows = t.run("UNWIND $rows AS r MATCH (f:Fact {id: r.f}), (p:Passage {id: r.p}) "
                 "MERGE (f)-[x:FROM]->(p) ON CREATE SET x.extractor = r.x, x.created_at = $at, "
                 "x.gen = $gen RETURN x.gen = $gen AS created", rows=sources, gen=t.gen, at=stamp)
    changed += sum(r["created"] for r in rows)
    if ok:
        t.run("UNWIND $ids AS id MATCH (x:GMFailure {passage_id: id}) DELETE x", ids=ok)
    return changed


def _notes_links_and_rest(t: Tx, batch: WriteBatch, res: BatchResult, seq, vec_of,
                          needed: dict[str, str], stamp: str) -> int:
    changed = 0
    nrows = []
    for n in batch.notes:
        key = text_hash(n.embed_text())
        nrows.append({"id": n.id, "seq": next(seq), "key": key, "vec": vec_of(key), "props": {
            "keywords": json.dumps(n.keywords), "tags": json.dumps(n.tags),
            "context": n.context, "version": 1, "metadata": json.dumps(n.metadata, default=str),
            "updated_at": stamp}})
    rows = t.run("UNWIND $rows AS r MERGE (n:Note {id: r.id}) ON CREATE SET n += r.props, "
                 "n.vec_key = r.key, n.vec = r.vec, n.gen = $gen, n.seq = r.seq "
                 "RETURN n.id AS id, n.gen = $gen AS created, n.vec IS NULL AS novec",
                 rows=nrows, gen=t.gen)
    created = set(_created(rows))
    changed += len(created)
    t.touched("Note", created)
    _fill_vectors(t, "Note", rows, {r["id"]: r["key"] for r in nrows}, needed)
    t.run("UNWIND $rows AS r CREATE (v:NoteVersion {note_id: r.id, version: 1, "
          "keywords: r.props.keywords, tags: r.props.tags, context: r.props.context, "
          "event_id: null, created_at: $at})",
          rows=[r for r in nrows if r["id"] in created], at=stamp)
    syn = {}
    for s in batch.synonyms:
        a, b = sorted((s.a, s.b))
        if a != b:
            syn.setdefault((a, b), {"a": a, "b": b, "s": float(s.score)})
    rows = t.run("UNWIND $rows AS r MATCH (a:Entity {id: r.a}), (b:Entity {id: r.b}) "
                 "MERGE (a)-[x:SYNONYM]->(b) ON CREATE SET x.score = r.s, x.gen = $gen "
                 "RETURN x.gen = $gen AS created", rows=list(syn.values()), gen=t.gen)
    res.synonyms_added = sum(r["created"] for r in rows)
    t.entities.update(r["a"] for r in syn.values())
    rows = t.run("UNWIND $rows AS r MATCH (a:Note {id: r.src}), (b:Note {id: r.dst}) "
                 "MERGE (a)-[x:LINK]->(b) ON CREATE SET x.reason = r.reason, "
                 "x.event_id = r.ev, x.created_at = $at, x.gen = $gen "
                 "RETURN x.gen = $gen AS created",
                 rows=list({(lk.src, lk.dst): {"src": lk.src, "dst": lk.dst, "reason": lk.reason,
                                               "ev": lk.event_id}
                            for lk in batch.links}.values()), gen=t.gen, at=stamp)
    changed += sum(r["created"] for r in rows)
    t.run("UNWIND $rows AS r MERGE (x:GMFailure {passage_id: r.id}) ON CREATE SET x.attempts = 0 "
          "SET x.reason = r.reason, x.attempts = x.attempts + 1, x.updated_at = $at",
          rows=[{"id": k, "reason": v} for k, v in batch.failures.items()], at=stamp)
    t.run("UNWIND $ids AS id MERGE (x:GMPending {note_id: id}) ON CREATE SET x.created_at = $at",
          ids=list(batch.pending_evolution), at=stamp)
    return changed


def _missing_vectors(t: Tx, needed: dict[str, str]) -> set[str]:
    if not needed:
        return set()
    rows = t.run("UNWIND $keys AS k OPTIONAL MATCH (v:GMVector {key: k}) "
                 "RETURN k AS key, v IS NOT NULL AS ok", keys=list(needed))
    return {r["key"] for r in rows if not r["ok"]}
