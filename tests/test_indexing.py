"""Indexing end to end with the real model, spaCy and SQLite on disk."""

from __future__ import annotations

import json

import numpy as np
import pytest
from snapshot import snapshot

from graphmem.indexing import synonyms as synonyms_mod
from graphmem.indexing.offline import OfflineExtractor
from graphmem.types import Passage


def test_index_demo_builds_a_graph(demo_memory):
    s = demo_memory.stats()
    assert s["documents"] == 36 and s["passages"] == 36 and s["notes"] == 36
    assert s["entities"] > 80 and s["triples"] > 40
    assert s["edges"]["mention"] > 100 and s["edges"]["relation"] > 30
    assert s["incomplete_documents"] == 0
    # every distinct string was embedded exactly once
    assert s["strings_embedded"] == s["vectors"]


def test_dense_search_finds_the_obvious_passage(demo_memory):
    hits = demo_memory.search("Who designed the Orrin Theatre?", k=3)
    assert hits[0].title == "Orrin Theatre"
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert [h.rank for h in hits] == [1, 2, 3]


def test_reindex_is_a_noop(make_memory, demo_corpus):
    mem = make_memory()
    first = mem.index(demo_corpus)
    before = snapshot(mem.store)
    again = mem.index(demo_corpus)
    assert again.passages_indexed == 0 and again.strings_embedded == 0
    assert again.documents_duplicate == first.documents_indexed == 36
    assert snapshot(mem.store) == before


def test_embeds_each_distinct_string_once_across_runs(make_memory, demo_corpus, embedder,
                                                      monkeypatch):
    sent: list[str] = []
    real = embedder.embed_documents

    def counting(texts):
        sent.extend(texts)
        return real(texts)

    monkeypatch.setattr(embedder, "embed_documents", counting)
    mem = make_memory()
    mem.index(demo_corpus[:20])
    mem.index(demo_corpus)  # overlaps the first run
    mem.index([{"title": "Extra", "text": "Paul Dreyer designed the Orrin Theatre."}])
    assert len(sent) == len(set(sent)) == mem.stats()["vectors"]


def test_synonyms_are_incremental_and_order_free(make_memory, demo_corpus, monkeypatch):
    shapes: list[tuple[int, int]] = []
    real = synonyms_mod.new_synonyms

    def spy(new_ids, new_vecs, old_ids, old_vecs, threshold, k):
        shapes.append((len(new_ids), len(old_ids)))
        return real(new_ids, new_vecs, old_ids, old_vecs, threshold, k)

    monkeypatch.setattr("graphmem.indexing.batch.new_synonyms", spy)
    kw = {"synonym_threshold": 0.7, "synonym_k": 1000, "index_batch_size": 8}
    one = make_memory("one", **kw)
    one.index(demo_corpus)
    two = make_memory("two", **kw)
    two.index(demo_corpus[:18])
    n_before = two.stats()["entities"]
    shapes.clear()
    two.index(demo_corpus[18:])
    # only the new entities are compared (against everything stored), never all-vs-all
    assert sum(n for n, _ in shapes) == two.stats()["entities"] - n_before
    assert shapes[0][1] == n_before
    syn = lambda m: sorted((a, b) for a, b, _, k in m.store.graph.edges(["synonym"]))  # noqa: E731
    assert syn(one) == syn(two) and len(syn(one)) > 0


def test_delete_document(make_memory, demo_corpus):
    mem = make_memory()
    mem.index(demo_corpus)
    doc = next(d for d in mem.store.graph.documents() if d.title == "Clara Wendt")
    names = {e.name for e in mem.store.graph.entities()}
    assert "clara wendt" in names
    rep = mem.delete(doc.id)
    assert rep.passages == 1
    names_after = {e.name for e in mem.store.graph.entities()}
    assert "dunmere" in names_after  # still supported by other passages
    assert all(h.title != "Clara Wendt" for h in mem.search("soprano who grew up", k=36))
    snap = mem.snapshot()
    assert len(snap.passages) == 35 == snap.passages.matrix.shape[0]
    with pytest.raises(KeyError):
        mem.delete(doc.id)


def test_bad_inputs_are_counted_not_fatal(make_memory, tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("Ada Lovelace wrote the first program.")
    (d / "b.md").write_text("")
    (d / "c.txt").write_bytes(b"\x00\xff" * 100)
    (d / "d.txt").write_bytes("Grüße aus Köln".encode("cp1252"))
    mem = make_memory()
    rep = mem.index(d)
    assert rep.documents_indexed == 2
    statuses = sorted(p.status for p in rep.problems)
    assert statuses == ["repaired", "skipped", "skipped"]  # the cp1252 file is reported too
    assert rep.documents_repaired == 1
    assert len(mem.store.kv.ingest_log()) == 3


def test_offline_extractor_catches_passive_and_appositive_facts():
    ex = OfflineExtractor()
    (e,) = ex.extract([Passage("Orrin Theatre", "The Orrin Theatre is a concert hall in Port "
                               "Sable. It was designed by the architect Paul Dreyer.")])
    facts = {(t.subject, t.predicate, t.object) for t in e.triples}
    assert ("orrin theatre", "designed by", "paul dreyer") in facts
    assert {"orrin theatre", "port sable", "paul dreyer"} <= set(e.entities)
    assert e.note is not None and "orrin theatre" in e.note.keywords


def test_openie_import_handles_malformed_triples(make_memory, tmp_path):
    data = {"docs": [
        {"title": "A", "text": "Alpha is in Beta.", "passage": "A\nAlpha is in Beta.",
         "extracted_entities": ["Alpha", "Beta", 7],
         "extracted_triples": [["Alpha", "is in", "Beta"], ["Alpha", "x"], ["", "r", "Beta"],
                               ["Alpha", "is", "alpha"], "nonsense", [1, 2, 3]]},
        {"title": "B", "text": "Beta borders Gamma.",
         "extracted_entities": ["Beta", "Gamma"],
         "extracted_triples": [["Beta", "borders", "Gamma"]]},
        {"title": "C"},
    ]}
    f = tmp_path / "openie.json"
    f.write_text(json.dumps(data))
    mem = make_memory()
    rep = mem.index_openie(f)
    assert rep.documents_indexed == 2 and rep.triples_added == 2
    assert rep.extraction_problems == 6
    assert any(p.status == "skipped" and "no text" in p.reason for p in rep.problems)
    assert {e.name for e in mem.store.graph.entities()} == {"alpha", "beta", "gamma"}


def test_export_and_graph_views(demo_memory, tmp_path):
    from graphmem.export import export_graph

    g = demo_memory.to_networkx()
    s = demo_memory.stats()
    assert g.number_of_nodes() == s["passages"] + s["entities"]
    ig = demo_memory.to_igraph()
    assert ig.vcount() == g.number_of_nodes()
    assert set(ig.es["kind"]) >= {"mention", "relation"}
    for fmt in ("graphml", "gexf", "json"):
        path = export_graph(demo_memory.store, tmp_path / f"g.{fmt}", fmt)
        assert path.stat().st_size > 1000


def test_onnx_and_torch_give_the_same_vectors(embedder, demo_corpus):
    from graphmem.embeddings import OnnxEmbedder, TorchEmbedder

    texts = [f"{d['title']}\n{d['text']}" for d in demo_corpus[:12]] + ["short", "Kelmar"]
    a = OnnxEmbedder().embed_documents(texts)
    b = TorchEmbedder().embed_documents(texts)
    assert np.min(np.sum(a * b, axis=1)) > 0.99999
    assert np.max(np.abs(a - b)) < 1e-4


def test_indexing_streams_commits_before_reading_everything(make_memory):
    consumed = [0]
    committed_at: list[int] = []

    def docs():
        for i in range(400):
            consumed[0] += 1
            yield {"title": f"Log {i}", "text": f"In {1800 + i} the brig Marta {i} sailed from "
                                                 f"Ystrand to Port Sable."}

    def progress(stage, n, total):
        if stage == "index" and total is None and n:
            committed_at.append(consumed[0])

    mem = make_memory(index_batch_size=32)
    rep = mem.index(docs(), progress=progress)
    assert rep.documents_indexed == 400 and rep.seconds_to_first_commit is not None
    assert committed_at[0] < 100  # the first batch was written long before the end


def test_one_bad_document_never_aborts_a_run(make_memory, monkeypatch):
    import graphmem.indexing.pipeline as pipeline

    real = pipeline.iter_chunks

    def fragile(text, *args, **kw):
        if "POISON" in text:
            raise RuntimeError("tokenizer exploded")
        return real(text, *args, **kw)

    monkeypatch.setattr(pipeline, "iter_chunks", fragile)
    mem = make_memory()
    rep = mem.index([{"title": "a", "text": "Alpha sailed to Beta."},
                     {"title": "bad", "text": "POISON " * 50},
                     {"title": "c", "text": "Gamma sailed to Delta."},
                     {"title": "huge", "text": "y" * 3_000_000}])
    assert rep.documents_indexed == 3
    (bad,) = [p for p in rep.problems if p.status == "error"]
    assert "tokenizer exploded" in bad.reason
    assert any("could not be chunked" in r["reason"] for r in mem.store.kv.ingest_log())
    passages = mem.store.graph.get_passages(mem.store.graph.passage_ids())
    assert max(len(p.text) for p in passages.values()) <= mem.config.max_chunk_chars


def test_an_edited_file_replaces_its_old_version_and_sync_removes_gone_files(make_memory,
                                                                            tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "a.txt").write_text("The Orrin Theatre was designed by Paul Dreyer.")
    (d / "b.txt").write_text("Night Tide is an opera by Lena Varga.")
    mem = make_memory()
    mem.index(d)
    assert mem.stats()["documents"] == 2
    (d / "a.txt").write_text("The Orrin Theatre was designed by Ingrid Solberg.")
    rep = mem.index(d)
    assert rep.documents_replaced == 1 and mem.stats()["documents"] == 2
    names = {e.name for e in mem.store.graph.entities()}
    assert "ingrid solberg" in names and "paul dreyer" not in names  # stale facts are gone
    (d / "b.txt").unlink()
    rep = mem.index(d, sync=True)
    assert rep.documents_removed == 1 and mem.stats()["documents"] == 1
    assert mem.store.graph.documents()[0].title == "a"


def test_export_keeps_predicates_direction_and_survives_control_characters(make_memory,
                                                                           tmp_path):
    import networkx as nx

    from graphmem.export import export_graph

    mem = make_memory()
    mem.index([{"title": "Ctl\x00 tower", "text": "Paul Dreyer designed the Orrin "
                "Theatre.\x0b It opened in 1931.\x07"}])
    for fmt, read in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        path = export_graph(mem.store, tmp_path / f"g.{fmt}", fmt)
        g = read(path)
        rel = [(a, b, d) for a, b, d in g.edges(data=True) if d.get("kind") == "relation"]
        assert rel, fmt
        labels = {n: d.get("label") for n, d in g.nodes(data=True)}
        assert ("paul dreyer", "designed", "orrin theatre") in {
            (labels[a], d["predicate"], labels[b]) for a, b, d in rel}


def test_int8_backend_is_close_to_fp32_and_kept_apart_from_it(embedder, demo_corpus, tmp_path):
    """The opt-in int8 embedder is the same network quantised: close vectors (not equal),
    and a store records it as another model, so the two are never mixed in one store."""
    from graphmem import Memory
    from graphmem.embeddings import load_embedder
    from graphmem.store.base import StoreError

    texts = [d["text"] for d in demo_corpus[:12]] + ["Ada Lovelace", "Analytical Engine"]
    q8 = load_embedder(backend="onnx-int8")
    a, b = embedder.embed_documents(texts), q8.embed_documents(texts)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.95 and cos.mean() > 0.98 and not np.allclose(a, b, atol=1e-4)
    with Memory(tmp_path / "s", embedding_backend="onnx-int8") as mem:
        mem.index(demo_corpus[:3])
        assert mem.config.embedding_identity.endswith("(int8)")
    with pytest.raises(StoreError, match="int8"):
        Memory(tmp_path / "s").search("Ada")
