"""The store contract: every backend of :class:`graphmem.store.Store` must pass these tests.

A backend's test module subclasses :class:`StoreContract` and implements ``open_store``.
Vectors here are deterministic pseudo-random unit vectors per text: the contract is about
storage, not about embeddings (the real model is exercised in the indexing tests).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from graphmem.embeddings import text_hash
from graphmem.store.base import DocumentRecord, NoteUpdate, Store, StoreError, WriteBatch
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
              entities: list[str] | None = None) -> WriteBatch:
    """One document, one passage per text, all triples on the first passage."""
    passages = [Passage(doc.title, t, doc.id, i) for i, t in enumerate(texts)]
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
                      strings_embedded=len(set(strings)))


DOC_A = Document("Ada", "Ada Lovelace wrote the first program for the Analytical Engine.")
DOC_B = Document("Babbage", "Charles Babbage designed the Analytical Engine.")
T_A = [Triple("ada lovelace", "wrote", "first program"),
       Triple("first program", "written for", "analytical engine")]
T_B = [Triple("charles babbage", "designed", "analytical engine")]


class StoreContract:
    """Tests any Store backend must pass. Subclasses provide ``open_store(path)``."""

    def open_store(self, path) -> Store:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path):
        s = self.open_store(tmp_path / "s")
        yield s
        s.close()

    def write_two(self, store: Store) -> None:
        store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))
        store.write_batch(batch_for(DOC_B, [DOC_B.text], T_B))

    # --- basics -------------------------------------------------------------------
    def test_empty_store(self, store):
        s = store.stats()
        assert (s["documents"], s["passages"], s["entities"], s["triples"]) == (0, 0, 0, 0)
        ids, mat = store.vectors("passage")
        assert ids == [] and mat.shape[0] == 0

    def test_meta_and_generation(self, store):
        g0 = store.generation
        store.set_meta("k", "v")
        assert store.get_meta("k") == "v"
        assert store.get_meta("missing") is None
        assert store.generation > g0

    def test_write_and_read_back(self, store):
        self.write_two(store)
        assert store.document_status([DOC_A.id, DOC_B.id, "d:none"]) == {DOC_A.id: True,
                                                                         DOC_B.id: True}
        pids = store.passage_ids()
        assert len(pids) == 2
        ps = store.get_passages(pids)
        assert {p.title for p in ps.values()} == {"Ada", "Babbage"}
        assert store.passage_documents(pids)[pids[0]] == [DOC_A.id]
        names = {e.name: e for e in store.entities()}
        assert set(names) == {"ada lovelace", "first program", "analytical engine",
                              "charles babbage"}
        assert names["analytical engine"].n_passages == 2
        assert {f.text for f in store.facts()} == {t.text for t in T_A + T_B}
        kinds = {}
        for a, b, w, kind in store.edges():
            kinds.setdefault(kind, []).append((a, b, w))
        assert len(kinds["relation"]) == 3 and len(kinds["mention"]) == 5
        for kind in ("passage", "entity", "fact", "note"):
            ids, mat = store.vectors(kind)
            assert mat.shape == (len(ids), DIM)
            assert np.allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-5)

    def test_rewrite_is_noop(self, store):
        self.write_two(store)
        before = store.stats()
        res = store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A, ["ada lovelace"]))
        assert res.passages_added == 0 and res.triples_added == 0 and not res.entities_added
        after = store.stats()
        for key in ("documents", "passages", "entities", "triples", "notes", "edges"):
            assert before[key] == after[key]

    def test_batch_without_vectors_is_rejected_atomically(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        b.vectors.pop(next(iter(b.vectors)))
        with pytest.raises(StoreError):
            store.write_batch(b)
        assert store.stats()["passages"] == 0 and store.stats()["entities"] == 0
        assert store.missing_vectors(b.vectors) == set(b.vectors)

    def test_vectors_known_after_write(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        store.write_batch(b)
        assert store.missing_vectors(list(b.vectors) + ["nope"]) == {"nope"}
        got = store.get_vectors(list(b.vectors)[:2])
        assert len(got) == 2

    def test_incomplete_document(self, store):
        b = batch_for(DOC_A, [DOC_A.text], T_A)
        b.documents[0].complete = False
        store.write_batch(b)
        assert store.document_status([DOC_A.id]) == {DOC_A.id: False}
        assert store.stats()["incomplete_documents"] == 1

    def test_synonyms_and_links(self, store):
        self.write_two(store)
        ents = {e.name: e.id for e in store.entities()}
        a, b = ents["ada lovelace"], ents["charles babbage"]
        p1, p2 = store.passage_ids()
        res = store.write_batch(WriteBatch(synonyms=[SynonymEdge(b, a, 0.9),
                                                     SynonymEdge(a, b, 0.9)],
                                           links=[Link(p1, p2, "same engine")]))
        assert res.synonyms_added == 1
        edges = {(k, tuple(sorted((x, y)))) for x, y, _, k in store.edges(["synonym", "link"])}
        assert edges == {("synonym", tuple(sorted((a, b)))), ("link", tuple(sorted((p1, p2))))}

    # --- deletion -----------------------------------------------------------------
    def test_delete_removes_only_what_it_alone_supported(self, store):
        self.write_two(store)
        rep = store.delete_document(DOC_A.id)
        assert rep.passages == 1 and rep.triples == 2
        names = {e.name for e in store.entities()}
        assert names == {"charles babbage", "analytical engine"}  # shared entity kept
        assert {f.text for f in store.facts()} == {t.text for t in T_B}
        assert len(store.passage_ids()) == 1
        assert all(k != "relation" or {a, b} != set() for a, b, _, k in store.edges())
        ids, _ = store.vectors("passage")
        assert len(ids) == 1

    def test_delete_keeps_passage_shared_with_another_document(self, store):
        store.write_batch(batch_for(DOC_A, [DOC_A.text], T_A))
        other = Document("Ada", DOC_A.text + " ")  # different document, same passage text
        b = batch_for(other, [DOC_A.text], T_A)
        store.write_batch(b)
        assert len(store.passage_ids()) == 1
        store.delete_document(DOC_A.id)
        assert len(store.passage_ids()) == 1 and store.stats()["triples"] == 2
        store.delete_document(other.id)
        assert store.stats()["passages"] == 0 and store.stats()["entities"] == 0

    def test_delete_unknown_document(self, store):
        with pytest.raises(KeyError):
            store.delete_document("d:missing")

    # --- notes and evolution ------------------------------------------------------
    def test_note_versions_links_and_revert(self, store):
        self.write_two(store)
        p1, p2 = store.passage_ids()
        n2 = store.get_notes([p2])[p2]
        assert n2.version == 1 and n2.keywords == ["babbage"]
        new = Note(id=p2, content=n2.content, title=n2.title, keywords=["babbage", "engine"],
                   tags=["inventor"], context="designed the engine Ada programmed")
        ev = EvolutionEvent(id="ev1", note_id=p1, model="test", decision={"why": "shared"})
        store.apply_event(ev, [NoteUpdate(new, 1)], [Link(p1, p2, "same engine")],
                          {text_hash(new.embed_text()): fake_vec(new.embed_text())})
        got = store.get_notes([p1, p2])
        assert got[p2].version == 2 and got[p2].tags == ["inventor"]
        assert got[p1].links == [p2]
        hist = store.note_history(p2)
        assert [h.version for h in hist] == [1, 2] and hist[1].event_id == "ev1"
        assert hist[0].keywords == ["babbage"]
        assert [e.id for e in store.events()] == ["ev1"]
        restored = store.revert_event("ev1")
        assert restored == [p2]
        got = store.get_notes([p1, p2])
        assert got[p2].keywords == ["babbage"] and got[p2].version == 3
        assert got[p1].links == [] and store.links() == []
        assert store.events()[0].reverted_at is not None
        with pytest.raises(StoreError):
            store.revert_event("ev1")
        with pytest.raises(KeyError):
            store.revert_event("nope")

    def test_stale_note_update_is_rejected_atomically(self, store):
        self.write_two(store)
        p1, p2 = store.passage_ids()
        n2 = store.get_notes([p2])[p2]
        new = Note(id=p2, content=n2.content, title=n2.title, tags=["x"])
        ev = EvolutionEvent(id="ev2", note_id=p1, model="test", decision={})
        with pytest.raises(StoreError):
            store.apply_event(ev, [NoteUpdate(new, 7)], [Link(p1, p2, "r")],
                              {text_hash(new.embed_text()): fake_vec(new.embed_text())})
        assert store.get_notes([p2])[p2].version == 1
        assert store.links() == [] and store.events() == []

    def test_note_vectors_follow_rewrites(self, store):
        self.write_two(store)
        p1, p2 = store.passage_ids()
        ids, mat = store.vectors("note")
        before = mat[ids.index(p2)].copy()
        n2 = store.get_notes([p2])[p2]
        new = Note(id=p2, content=n2.content, title=n2.title, tags=["rewritten"])
        store.apply_event(EvolutionEvent("ev3", p1, "t", {}), [NoteUpdate(new, 1)], [],
                          {text_hash(new.embed_text()): fake_vec(new.embed_text())})
        ids, mat = store.vectors("note")
        assert np.allclose(mat[ids.index(p2)], fake_vec(new.embed_text()))
        assert not np.allclose(mat[ids.index(p2)], before)

    # --- LLM cache, usage, ingest log -----------------------------------------------
    def test_llm_cache_and_usage(self, store):
        assert store.cache_get("k1") is None
        store.cache_put("k1", "m", "ner", '{"x": 1}')
        assert store.cache_get("k1") == '{"x": 1}'
        store.record_usage("m", "ner", 10, 5, cached=False)
        store.record_usage("m", "ner", 10, 5, cached=True)
        store.record_usage("m", "triples", 7, 3, cached=False)
        u = {r["kind"]: r for r in store.usage()}
        assert u["ner"]["calls"] == 1 and u["ner"]["cached_calls"] == 1
        assert u["ner"]["prompt_tokens"] == 10 and u["triples"]["completion_tokens"] == 3

    def test_ingest_log(self, store):
        store.log_ingest("run1", [IngestProblem("a.bin", "binary file")])
        log = store.ingest_log()
        assert log[0]["source"] == "a.bin" and log[0]["status"] == "skipped"

    # --- persistence ----------------------------------------------------------------
    def test_reopen_keeps_everything(self, tmp_path):
        s = self.open_store(tmp_path / "p")
        self.write_two(s)
        before = s.stats()
        s.close()
        s2 = self.open_store(tmp_path / "p")
        after = s2.stats()
        for key in ("documents", "passages", "entities", "triples", "notes", "edges"):
            assert before[key] == after[key]
        ids, mat = s2.vectors("entity")
        assert len(ids) == before["entities"]
        s2.close()

    def test_second_connection_sees_new_writes(self, tmp_path):
        reader = self.open_store(tmp_path / "c")
        assert reader.vectors("passage")[0] == []
        writer = self.open_store(tmp_path / "c")
        self.write_two(writer)
        assert len(reader.vectors("passage")[0]) == 2
        writer.close()
        reader.close()
