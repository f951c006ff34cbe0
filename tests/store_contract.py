"""The store contract: every backend runs every suite here (``test_store_contract.py``).

One suite per interface of the store facade (graph, vectors, notes, key-value) plus one
for the operations that span them (batches, deletion, deltas, the generation counter).
Each suite uses a ``store`` fixture (a fresh, empty store of the backend under test) and
``reopen`` (a second handle on the same store). Vectors are deterministic pseudo-random
unit vectors per text: the contract is about storage, not about embeddings.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from graphmem.embeddings import text_hash
from graphmem.store import entity_id
from graphmem.store.base import NotFound, Store, StoreError
from graphmem.store.records import DocumentRecord, NoteUpdate, WriteBatch
from graphmem.types import (
    Document,
    EvolutionEvent,
    Extraction,
    IngestProblem,
    Link,
    Note,
    Passage,
    SynonymEdge,
    Triple,
)

DIM = 8


def fake_vec(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def batch_for(doc: Document, texts: list[str], triples: list[Triple],
              entities: list[str] | None = None, **kw) -> WriteBatch:
    """One document, one passage per text, all triples on the first passage."""
    passages = [Passage(doc.title, t, doc.id, i, doc.timestamp, doc.namespace)
                for i, t in enumerate(texts)]
    exs = [Extraction(p.id, entities=list(entities or []) if i == 0 else [],
                      triples=triples if i == 0 else [], extractor="test")
           for i, p in enumerate(passages)]
    notes = [Note(id=p.id, content=p.text, title=p.title, keywords=[p.title.lower()])
             for p in passages]
    strings = [p.embed_text for p in passages] + [n.embed_text() for n in notes]
    for ex in exs:
        strings += ex.all_entities() + [t.text for t in ex.triples]
    return WriteBatch(documents=[DocumentRecord(doc, len(passages), True)], passages=passages,
                      extractions=exs, notes=notes,
                      vectors={text_hash(s): fake_vec(s) for s in strings},
                      strings_embedded=len(set(strings)), **kw)


DOC_A = Document("Ada", "Ada Lovelace wrote the first program for the Analytical Engine.",
                 metadata={"source_key": "/docs/ada.txt"})
DOC_B = Document("Babbage", "Charles Babbage designed the Analytical Engine.")
T_A = [Triple("ada lovelace", "wrote", "first program"),
       Triple("first program", "written for", "analytical engine")]
T_B = [Triple("charles babbage", "designed", "analytical engine")]


def write_two(store: Store) -> None:
    store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))
    store.write_batch(batch_for(DOC_B, [DOC_B.text], T_B))


def edge_kinds(store: Store) -> dict[str, list[tuple[str, str, float]]]:
    kinds: dict[str, list[tuple[str, str, float]]] = {}
    for a, b, w, kind in store.graph.edges():
        kinds.setdefault(kind, []).append((a, b, w))
    return kinds


def rewrite_note(store: Store, note_id: str, event_id: str, by: str, **attrs) -> Note:
    old = store.notes.get([note_id])[note_id]
    new = Note(id=note_id, content=old.content, title=old.title,
               keywords=attrs.get("keywords", old.keywords), tags=attrs.get("tags", old.tags),
               context=attrs.get("context", old.context))
    store.notes.apply_event(EvolutionEvent(event_id, by, "test", {"rewrote": [note_id],
                                                                  "links": []}),
                            [NoteUpdate(new, old.version)], [],
                            {text_hash(new.embed_text()): fake_vec(new.embed_text())})
    return new


class VectorContract:
    def test_vectors_known_after_write(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        assert store.vectors.missing(b.vectors) == set(b.vectors)
        store.write_batch(b)
        assert store.vectors.missing(list(b.vectors) + ["nope"]) == {"nope"}
        key = next(iter(b.vectors))
        got = store.vectors.get([key, "nope"])
        assert set(got) == {key} and got[key].dtype == np.float32
        assert np.allclose(got[key], b.vectors[key])


class GraphContract:
    def test_empty_store(self, store):
        assert store.graph.documents() == [] and store.graph.passage_ids() == []
        assert store.graph.entities() == [] and store.graph.facts() == []
        s = store.stats()
        assert (s["documents"], s["passages"], s["entities"], s["triples"]) == (0, 0, 0, 0)

    def test_write_and_read_back(self, store):
        write_two(store)
        g = store.graph
        assert g.document_status([DOC_A.id, DOC_B.id, "d:none"]) == {DOC_A.id: True,
                                                                     DOC_B.id: True}
        pids = g.passage_ids()
        assert len(pids) == 2 and g.passage_ids(DOC_A.id) == [pids[0]]
        ps = g.get_passages(pids)
        assert {p.title for p in ps.values()} == {"Ada", "Babbage"}
        assert ps[pids[0]].doc_id == DOC_A.id
        assert g.passage_documents(pids)[pids[0]] == [DOC_A.id]
        names = {e.name: e for e in g.entities()}
        assert set(names) == {"ada lovelace", "first program", "analytical engine",
                              "charles babbage"}
        assert names["analytical engine"].n_passages == 2
        assert [e.name for e in g.entities(contains="ENGINE")] == ["analytical engine"]
        assert len(g.entities(limit=2)) == 2
        facts = g.facts()
        assert {f.text for f in facts} == {t.text for t in T_A + T_B}
        wrote = next(f for f in facts if f.predicate == "wrote")
        assert (wrote.subject, wrote.object) == ("ada lovelace", "first program")
        about = g.facts(entity_id=entity_id("analytical engine"))
        assert {f.predicate for f in about} == {"written for", "designed"}
        assert [f.predicate for f in g.facts(contains="designed")] == ["designed"]
        kinds = edge_kinds(store)
        assert len(kinds["relation"]) == 3 and len(kinds["mention"]) == 5
        # relations keep their direction: subject -> object
        assert (entity_id("charles babbage"), entity_id("analytical engine"), 1.0) in \
            kinds["relation"]
        assert g.passage_entities([pids[1]])[pids[1]]
        assert set(g.entity_passages([entity_id("analytical engine")])[
            entity_id("analytical engine")]) == set(pids)
        assert g.fact_passages([T_B[0].id]) == {T_B[0].id: [pids[1]]}
        assert g.known_entities([entity_id("ada lovelace"), "e:nope"]) == {
            entity_id("ada lovelace")}

    def test_documents_by_source_and_namespace(self, store):
        write_two(store)
        mine = Document("Note", "Ana likes tea.", namespace="user:ana")
        store.write_batch(batch_for(mine, [mine.text], []))
        assert [d.id for d in store.graph.documents(source="/docs/ada.txt")] == [DOC_A.id]
        assert [d.id for d in store.graph.documents(namespace="user:ana")] == [mine.id]
        assert len(store.graph.documents(namespace="")) == 2
        assert len(store.graph.documents(limit=1)) == 1

    def test_incomplete_document(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        b.documents[0].complete = False
        store.write_batch(b)
        assert store.graph.document_status([DOC_A.id]) == {DOC_A.id: False}
        assert store.stats()["incomplete_documents"] == 1

    def test_failed_extractions_are_kept_until_they_work(self, store):
        b = batch_for(DOC_A, [DOC_A.text], [])
        pid = b.passages[0].id
        b.extractions[0].failed = "model said nonsense"
        b.failures = {pid: "model said nonsense"}
        store.write_batch(b)
        assert store.graph.failed_passages() == {pid: "model said nonsense"}
        assert store.graph.failed_passages([DOC_A.id]) == {pid: "model said nonsense"}
        assert store.graph.failed_passages([DOC_B.id]) == {}
        retry = batch_for(DOC_A, [DOC_A.text], T_A)
        store.write_batch(WriteBatch(extractions=retry.extractions, vectors=retry.vectors))
        assert store.graph.failed_passages() == {}
        assert {f.text for f in store.graph.facts()} == {t.text for t in T_A}

    def test_synonyms_and_links(self, store):
        write_two(store)
        a, b = entity_id("ada lovelace"), entity_id("charles babbage")
        p1, p2 = store.graph.passage_ids()
        res = store.write_batch(WriteBatch(synonyms=[SynonymEdge(b, a, 0.9),
                                                     SynonymEdge(a, b, 0.9)],
                                           links=[Link(p1, p2, "same engine")]))
        assert res.synonyms_added == 1
        kinds = edge_kinds(store)
        assert [tuple(sorted(x[:2])) for x in kinds["synonym"]] == [tuple(sorted((a, b)))]
        assert [tuple(sorted(x[:2])) for x in kinds["link"]] == [tuple(sorted((p1, p2)))]


class StoreContract:
    def test_generation_moves_only_for_what_retrieval_reads(self, store):
        g0 = store.generation
        store.set_meta("k", "v")
        store.kv.cache_put("key", "m", "ner", "{}")
        store.kv.record_usage("m", "ner", 1, 1, cached=False)
        store.kv.log_ingest("run", [IngestProblem("x", "y")])
        assert store.get_meta("k") == "v" and store.get_meta("missing") is None
        assert store.generation == g0
        write_two(store)
        g1 = store.generation
        assert g1 > g0
        store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))  # no-op
        assert store.generation == g1
        store.delete_document(DOC_B.id)
        assert store.generation > g1

    def test_rewrite_is_noop(self, store):
        write_two(store)
        before = store.stats()
        res = store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))
        assert res.passages_added == 0 and res.triples_added == 0 and not res.entities_added
        after = store.stats()
        for key in ("documents", "passages", "entities", "triples", "notes", "edges"):
            assert before[key] == after[key]

    def test_batch_without_vectors_is_rejected_atomically(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        b.vectors.pop(text_hash(b.passages[0].embed_text))
        with pytest.raises(StoreError):
            store.write_batch(b)
        assert store.stats()["passages"] == 0 and store.stats()["entities"] == 0
        assert store.vectors.missing(b.vectors) == set(b.vectors)

    def test_identity(self, store, reopen):
        write_two(store)
        again = reopen(store)
        assert again.uuid == store.uuid and len(store.uuid) >= 16
        assert again.stats()["passages"] == 2
        again.close()

    def test_full_delta_holds_everything(self, store):
        write_two(store)
        d = store.read_delta(None)
        assert d.full and d.generation == store.generation and d.dim == DIM
        assert len(d.passage_ids) == 2 and len(d.entity_ids) == 4 and len(d.fact_ids) == 3
        assert set(d.note_ids) == set(d.passage_ids)
        for name in ("passage", "entity", "fact", "note"):
            mat = d.matrix(name)
            assert mat.shape[1] == DIM
            assert np.allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-5)
        assert d.passage_labels == ["Ada", "Babbage"]
        assert len(d.edge_a) == 3 + 5  # each fact source and each mention once
        fact = d.fact_ids.index(T_B[0].id)
        assert (d.fact_subjects[fact], d.fact_predicates[fact]) == (
            entity_id("charles babbage"), "designed")

    def test_delta_since_a_generation_holds_only_what_is_new(self, store):
        store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))
        g = store.generation
        store.write_batch(batch_for(DOC_B, [DOC_B.text], T_B))
        d = store.read_delta(g)
        assert not d.full and len(d.passage_ids) == 1 and d.passage_labels == ["Babbage"]
        assert set(d.entity_ids) == {entity_id("charles babbage")}
        assert d.fact_ids == [T_B[0].id] and len(d.edge_a) == 1 + 2
        assert store.read_delta(store.generation).empty
        store.delete_document(DOC_B.id)
        assert store.read_delta(g).full  # a deletion cannot be expressed as additions

    def test_delete_removes_only_what_it_alone_supported(self, store):
        write_two(store)
        rep = store.delete_document(DOC_A.id)
        assert rep.passages == 1 and rep.triples == 2
        names = {e.name for e in store.graph.entities()}
        assert names == {"charles babbage", "analytical engine"}  # shared entity kept
        assert {f.text for f in store.graph.facts()} == {t.text for t in T_B}
        assert len(store.graph.passage_ids()) == 1
        assert len(store.read_delta(None).passage_ids) == 1

    def test_delete_forgets_vectors_and_cached_answers(self, store):
        write_two(store)
        pid = store.graph.passage_ids(DOC_A.id)[0]
        key = text_hash(Passage(DOC_A.title, DOC_A.text).embed_text)
        store.kv.cache_put("about-ada", "m", "ner", '{"text": "x"}', refs=[pid])
        store.kv.cache_put("about-nothing", "m", "ner", '{"text": "y"}')
        rep = store.delete_document(DOC_A.id)
        assert rep.vectors >= 1 and rep.cache_entries == 1
        assert store.vectors.missing([key]) == {key}
        assert store.vectors.missing([text_hash("analytical engine")]) == set()  # still used
        assert store.kv.cache_get("about-ada") is None
        assert store.kv.cache_get("about-nothing") is not None

    def test_delete_keeps_passage_shared_with_another_document(self, store):
        store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A))
        other = Document("Ada", DOC_A.text + " ")  # different document, same passage text
        store.write_batch(batch_for(other, [DOC_A.text], T_A))
        assert len(store.graph.passage_ids()) == 1
        store.delete_document(DOC_A.id)
        assert len(store.graph.passage_ids()) == 1 and store.stats()["triples"] == 2
        store.delete_document(other.id)
        assert store.stats()["passages"] == 0 and store.stats()["entities"] == 0

    def test_delete_unknown_document(self, store):
        with pytest.raises(NotFound, match="no document"):
            store.delete_document("d:missing")
        with pytest.raises(KeyError):  # NotFound is also a KeyError
            store.delete_document("d:missing")

    def test_reopen_keeps_everything(self, store, reopen):
        write_two(store)
        before = store.stats()
        again = reopen(store)
        after = again.stats()
        for key in ("documents", "passages", "entities", "triples", "notes", "edges"):
            assert before[key] == after[key]
        assert len(again.read_delta(None).entity_ids) == before["entities"]
        again.close()

    def test_second_handle_sees_new_writes(self, store, reopen):
        reader = reopen(store)
        assert reader.read_delta(None).passage_ids == []
        write_two(store)
        assert len(reader.read_delta(None).passage_ids) == 2
        assert reader.generation == store.generation
        reader.close()


class NoteContract:
    def test_note_versions_links_and_revert(self, store):
        write_two(store)
        p1, p2 = store.graph.passage_ids()
        n2 = store.notes.get([p2])[p2]
        assert n2.version == 1 and n2.keywords == ["babbage"]
        new = Note(id=p2, content=n2.content, title=n2.title, keywords=["babbage", "engine"],
                   tags=["inventor"], context="designed the engine Ada programmed")
        ev = EvolutionEvent(id="ev1", note_id=p1, model="test", decision={"why": "shared"})
        g = store.generation
        store.notes.apply_event(ev, [NoteUpdate(new, 1)], [Link(p1, p2, "same engine")],
                                {text_hash(new.embed_text()): fake_vec(new.embed_text())})
        assert store.generation > g
        got = store.notes.get([p1, p2])
        assert got[p2].version == 2 and got[p2].tags == ["inventor"]
        assert got[p1].links == [p2]
        hist = store.notes.history(p2)
        assert [h.version for h in hist] == [1, 2] and hist[1].event_id == "ev1"
        assert hist[0].keywords == ["babbage"]
        assert [e.id for e in store.notes.events()] == ["ev1"]
        assert [e.id for e in store.notes.events(p2)] == ["ev1"]
        assert [lk.dst for lk in store.notes.links(p1)] == [p2]
        d = store.read_delta(g)
        assert d.note_ids == [p2] and np.allclose(d.matrix("note")[0],
                                                  fake_vec(new.embed_text()))
        assert store.notes.revert_event("ev1") == [p2]
        got = store.notes.get([p1, p2])
        assert got[p2].keywords == ["babbage"] and got[p2].version == 3
        assert got[p1].links == [] and store.notes.links() == []
        assert store.notes.events()[0].reverted_at is not None
        with pytest.raises(StoreError, match="already reverted"):
            store.notes.revert_event("ev1")
        with pytest.raises(NotFound):
            store.notes.revert_event("nope")

    def test_stale_note_update_is_rejected_atomically(self, store):
        write_two(store)
        p1, p2 = store.graph.passage_ids()
        n2 = store.notes.get([p2])[p2]
        new = Note(id=p2, content=n2.content, title=n2.title, tags=["x"])
        ev = EvolutionEvent(id="ev2", note_id=p1, model="test", decision={})
        with pytest.raises(StoreError):
            store.notes.apply_event(ev, [NoteUpdate(new, 7)], [Link(p1, p2, "r")],
                                    {text_hash(new.embed_text()): fake_vec(new.embed_text())})
        assert store.notes.get([p2])[p2].version == 1
        assert store.notes.links() == [] and store.notes.events() == []

    def test_pending_evolution(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        b.pending_evolution = [b.passages[0].id]
        store.write_batch(b)
        assert store.notes.pending_evolution() == [b.passages[0].id]
        store.notes.finish_evolution(b.passages[0].id, "nothing to do")
        assert store.notes.pending_evolution() == []

    def test_deleting_a_memory_undoes_the_rewrites_it_caused(self, store):
        write_two(store)
        p_a, p_b = store.graph.passage_ids()
        before = store.notes.get([p_b])[p_b]
        rewrite_note(store, p_b, "ev-from-a", by=p_a, context="Ada's secret: 4711")
        store.notes.apply_event(EvolutionEvent("ev-link", p_a, "test", {"links": [p_b]}),
                                [], [Link(p_a, p_b, "r")], {})
        rep = store.delete_document(DOC_A.id)
        assert set(rep.reverted_events) == {"ev-from-a", "ev-link"}
        now = store.notes.get([p_b])[p_b]
        assert (now.context, now.tags) == (before.context, before.tags)
        assert now.version == 3 and store.notes.links() == []
        known = {e.id for e in store.notes.events()}
        for v in store.notes.history(p_b):
            assert v.event_id is None or v.event_id in known or v.event_id.startswith("del:")
            assert "4711" not in v.context


class KVContract:
    def test_llm_cache(self, store):
        assert store.kv.cache_get("k1") is None
        store.kv.cache_put("k1", "m", "ner", '{"x": 1}')
        store.kv.cache_put("k2", "m", "answer", '{"x": 2}')
        assert store.kv.cache_get("k1") == '{"x": 1}'
        assert {(r["kind"], r["entries"]) for r in store.kv.cache_stats()} == {("ner", 1),
                                                                              ("answer", 1)}
        assert store.kv.cache_clear("ner") == 1
        assert store.kv.cache_get("k1") is None and store.kv.cache_get("k2") is not None
        assert store.kv.cache_clear() == 1 and store.kv.cache_get("k2") is None

    def test_usage_and_rejections(self, store):
        store.kv.record_usage("m", "ner", 10, 5, cached=False)
        store.kv.record_usage("m", "ner", 10, 5, cached=True)
        store.kv.record_usage("m", "triples", 7, 3, cached=False)
        store.kv.record_rejection("m", "triples")
        u = {r["kind"]: r for r in store.kv.usage()}
        assert u["ner"]["calls"] == 1 and u["ner"]["cached_calls"] == 1
        assert u["ner"]["prompt_tokens"] == 10 and u["triples"]["completion_tokens"] == 3
        assert u["triples"]["rejected"] == 1 and u["ner"]["rejected"] == 0

    def test_ingest_log(self, store):
        store.kv.log_ingest("run1", [IngestProblem("a.bin", "binary file")])
        store.kv.log_ingest("run2", [IngestProblem("b.txt", "empty file"),
                                     IngestProblem("c.txt", "not UTF-8", "repaired")])
        log = store.kv.ingest_log()
        assert [r["source"] for r in log] == ["c.txt", "b.txt", "a.bin"]
        assert log[0]["status"] == "repaired" and len(store.kv.ingest_log(limit=1)) == 1


class NoteTagsContract:
    def test_notes_with_tags(self, store):
        write_two(store)
        p1, p2 = store.graph.passage_ids()
        rewrite_note(store, p2, "ev-tags", by=p1, tags=["Inventor", "engine"])
        assert store.notes.with_tags(["inventor"]) == [p2]
        assert set(store.notes.with_tags(["engine", "nothing"])) == {p2}
        assert store.notes.with_tags(["eng"]) == [] and store.notes.with_tags([]) == []


class TimelineContract:
    """Event times per document (not per passage) and fact validity with supersession."""

    def test_event_times_windows_and_latest(self, store):
        may = Document("", "Bob works at Google.", timestamp="1:56 pm on 8 May, 2023")
        june = Document("", "Bob works at Microsoft.", timestamp="2023-06-20")
        again = Document("", "Bob works at Google.", timestamp="2023-07-01")  # same passage
        untimed = Document("", "Bob likes tea.")  # a document with no date
        added = Document("", "Bob likes coffee.", source="add")  # a memory added now
        for d in (may, june, again, untimed, added):
            store.write_batch(batch_for(d, [d.text], []))
        pid = store.graph.passage_ids(may.id)[0]
        assert store.graph.passage_ids(again.id) == [pid]
        times = store.time.passage_times([pid])
        assert times[pid] == ["2023-05-08T13:56:00", "2023-07-01T00:00:00"]
        june_pid = store.graph.passage_ids(june.id)[0]
        assert store.time.passages_in_window("2023-06-01T00:00:00", "2023-07-01T00:00:00") \
            == {june_pid}
        assert store.time.passages_in_window("2023-06-01T00:00:00", "2023-07-02T00:00:00") \
            == {june_pid, pid}
        assert pid in store.time.passages_in_window(None, "2023-06-01T00:00:00")
        # an undated document has no event time, but windows see it at its ingestion
        # time; a memory added without a time happened when it was added
        tea = store.graph.passage_ids(untimed.id)[0]
        coffee = store.graph.passage_ids(added.id)[0]
        assert store.time.passages_in_window("2024-01-01T00:00:00", None) == {tea, coffee}
        assert store.time.passage_times([tea, coffee]).keys() == {coffee}
        assert store.time.latest_event() == store.time.passage_times([coffee])[coffee][0]
        assert store.time.latest_event() > "2024"
        assert store.time.passages_in_window(None, None, namespace="other") == set()

    def test_supersession_keeps_the_old_fact_with_a_valid_to(self, store):
        old = Document("", "Bob works at Google.", timestamp="2023-05-08")
        new = Document("", "Bob works at Microsoft.", timestamp="2023-06-20")
        t_old, t_new = Triple("bob", "works at", "google"), Triple("bob", "works at", "microsoft")
        store.write_batch(batch_for(old, [old.text], [t_old]))
        store.write_batch(batch_for(new, [new.text], [t_new]))
        new_pid = store.graph.passage_ids(new.id)[0]
        assert [f.id for f in store.time.passage_facts([new_pid])] == [t_new.id]
        current = {f.id: f for f in store.time.current_facts([entity_id("bob")])}
        assert set(current) == {t_old.id, t_new.id}
        assert current[t_old.id].valid_from == "2023-05-08T00:00:00"
        ev = EvolutionEvent("sup1", new_pid, "offline", {"pairs": [[t_old.id, t_new.id]]},
                            kind="supersede")
        store.time.supersede([(t_old.id, t_new.id)], ev)
        assert [f.id for f in store.time.current_facts([entity_id("bob")])] == [t_new.id]
        assert store.time.fact_validity([t_old.id, t_new.id]) == {
            t_old.id: ("2023-05-08T00:00:00", "2023-06-20T00:00:00"),
            t_new.id: ("2023-06-20T00:00:00", None)}
        kept = {f.id: f for f in store.graph.facts()}
        assert kept[t_old.id].valid_to == "2023-06-20T00:00:00"  # kept, shown in history
        assert [e.kind for e in store.notes.events(new_pid)] == ["supersede"]
        store.notes.revert_event("sup1")  # undone: the old fact holds again
        assert store.time.fact_validity([t_old.id])[t_old.id][1] is None
        store.time.supersede([(t_old.id, t_new.id)],
                             EvolutionEvent("sup2", new_pid, "offline", {}, kind="supersede"))
        store.delete_document(new.id)  # what superseded it is forgotten: it holds again
        assert store.time.fact_validity([t_old.id])[t_old.id][1] is None
