"""A comparable picture of a whole store, to check that two runs built the same graph."""

from __future__ import annotations

from graphmem.store.base import Store


def snapshot(store: Store) -> dict:
    g = store.graph
    docs = {d.id: (d.title, d.n_passages, d.complete) for d in g.documents()}
    pids = g.passage_ids()
    passages = {pid: (p.title, p.text) for pid, p in g.get_passages(pids).items()}
    entities = {e.id: (e.name, e.type, e.n_passages) for e in g.entities()}
    facts = {f.id: (f.subject_id, f.predicate, f.object_id) for f in g.facts()}
    sources = g.fact_passages(facts)
    edges = sorted((a, b, round(w, 4), k) for a, b, w, k in g.edges())
    notes = {n.id: (n.keywords, n.tags, n.context, n.version)
             for n in store.notes.get(pids).values()}
    d = store.read_delta(None)
    vec_counts = {"passage": len(d.passage_ids), "entity": len(d.entity_ids),
                  "fact": len(d.fact_ids), "note": len(d.note_ids)}
    return {"docs": docs, "passages": passages, "entities": entities, "facts": facts,
            "sources": {k: sorted(v) for k, v in sources.items()}, "edges": edges,
            "notes": notes, "vectors": vec_counts,
            "strings_embedded": store.stats()["strings_embedded"]}
