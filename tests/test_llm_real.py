"""The LLM path end to end against a real model served by llama.cpp on 127.0.0.1.

The model is tiny (0.5B parameters): these tests prove that every piece works against a
real OpenAI-compatible server (extraction, notes, cache, accounting, answers with
citations), not that the extractions are good.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.llm

PASSAGES = [
    {"title": "Orrin Theatre", "text": "The Orrin Theatre is a concert hall in Port Sable. "
     "It was designed by the architect Paul Dreyer and opened in 1931."},
    {"title": "Night Tide", "text": "Night Tide is an opera by Lena Varga. It premiered at "
     "the Orrin Theatre in 1987."},
]


def usage(mem):
    return {r["kind"]: r for r in mem.store.usage()}


def test_llm_indexing_cache_and_accounting(llm_memory):
    mem = llm_memory()
    t0 = time.perf_counter()
    rep = mem.index(PASSAGES)
    per_passage = (time.perf_counter() - t0) / len(PASSAGES)
    assert rep.extractor == "llm:qwen-0.5b" and rep.passages_indexed == 2
    s = mem.stats()
    assert s["entities"] > 0 and s["triples"] > 0, rep.problems
    notes = mem.store.get_notes(mem.store.passage_ids()).values()
    assert any(n.keywords or n.context for n in notes)
    u = usage(mem)
    assert u["ner"]["calls"] == 2 and u["ner"]["prompt_tokens"] > 0
    assert u["triples"]["calls"] >= 1 and u["triples"]["completion_tokens"] > 0
    calls_before = sum(r["calls"] for r in u.values())
    snapshot = sorted(f.text for f in mem.store.facts())

    # delete and index again: every extraction call is answered by the cache
    for d in mem.store.documents():
        mem.delete(d.id)
    assert mem.stats()["triples"] == 0
    mem.index(PASSAGES)
    u2 = usage(mem)
    assert sum(r["calls"] for r in u2.values()) == calls_before  # zero new LLM calls
    assert u2["ner"]["cached_calls"] == 2
    assert sorted(f.text for f in mem.store.facts()) == snapshot
    print(f"\nLLM extraction latency: {per_passage:.1f} s per passage")  # noqa: T201


def test_ask_answers_with_cited_passages(llm_memory):
    mem = llm_memory("ask")
    mem.index(PASSAGES)
    ans = mem.ask("Who designed the Orrin Theatre?", k=2)
    assert ans.llm_used and ans.evidence
    assert ans.answer, ans.trace
    assert all(h in ans.evidence for h in ans.cited)
    assert usage(mem)["answer"]["calls"] == 1


def test_multi_hop_ask_and_fact_filter(llm_memory):
    mem = llm_memory("hop", llm_filter_facts=True, llm_max_tokens=128)
    mem.index(PASSAGES)
    ans = mem.ask("Who designed the hall where Night Tide premiered?", k=2, multi_hop=True,
                  max_steps=2)
    assert any(t.startswith("step 1") for t in ans.trace)
    assert usage(mem)["step"]["calls"] >= 1
    hits = mem.search("what is an opera", k=2, recipe="hipporag2")
    assert hits and "filter" in usage(mem)


def test_evolution_with_the_real_model(llm_memory):
    mem = llm_memory("evolve", extractor="offline", evolve_on_add=True, llm_max_tokens=200)
    texts = ["Caroline went to an LGBTQ support group and found it powerful.",
             "Caroline is researching adoption agencies.",
             "Caroline told her support group she plans to adopt a child."]
    outcomes = []
    for i, t in enumerate(texts):
        outcomes += mem.add(t, timestamp=f"2023-05-0{i + 1}").evolution
    assert usage(mem)["evolution"]["calls"] >= 1
    for out in outcomes:
        shown = {n for n, _ in out.neighbors}
        if out.event is not None:  # whatever the model chose, it stayed within what it saw
            assert set(out.event.decision["links"]) <= shown
            assert set(out.event.decision["rewrote"]) <= shown | {out.note_id}
        elif out.rejected:
            assert any(r["status"] == "evolution_rejected" for r in mem.store.ingest_log())
    assert len(mem.store.events()) == sum(o.event is not None for o in outcomes)
