"""A comparable picture of a whole store, to check that two runs built the same graph."""

from __future__ import annotations

from graphmem.store.base import Store


def snapshot(store: Store) -> dict:
    docs = {d.id: (d.title, d.n_passages, d.complete) for d in store.documents()}
    pids = store.passage_ids()
    passages = {pid: (p.title, p.text) for pid, p in store.get_passages(pids).items()}
    entities = {e.id: (e.name, e.type, e.n_passages) for e in store.entities()}
    facts = {f.id: (f.subject_id, f.predicate, f.object_id) for f in store.facts()}
    sources = store.fact_passages(facts)
    edges = sorted((a, b, round(w, 4), k) for a, b, w, k in store.edges())
    notes = {n.id: (n.keywords, n.tags, n.context, n.version)
             for n in store.get_notes(pids).values()}
    vec_counts = {k: len(store.vectors(k)[0]) for k in ("passage", "entity", "fact", "note")}
    return {"docs": docs, "passages": passages, "entities": entities, "facts": facts,
            "sources": {k: sorted(v) for k, v in sources.items()}, "edges": edges,
            "notes": notes, "vectors": vec_counts,
            "strings_embedded": store.stats()["strings_embedded"]}
