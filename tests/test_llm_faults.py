"""LLM faults seen through a whole Memory: malformed, oversized and hostile answers.

A scripted OpenAI-compatible server injects the faults (the real model cannot be made to
misbehave on demand); the store, the embedder and the pipeline are real.
"""

from __future__ import annotations

import json
import re

from fake_llm import FakeLLM, Step

PASSAGES = [{"title": "Orrin Theatre", "text": "The Orrin Theatre in Port Sable was designed "
             "by Paul Dreyer."},
            {"title": "Night Tide", "text": "Night Tide is an opera by Lena Varga."}]


def good_model(body: dict) -> str:
    """Answers NER and triple prompts sensibly, from the passage in the prompt."""
    user = body["messages"][-1]["content"]
    passage = re.search(r"<data>\n(.*?)\n</data>", user, re.DOTALL).group(1)
    names = re.findall(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", passage)
    if "Named entities" in user:
        return json.dumps({"triples": [[names[0], "relates to", names[-1]]]})
    return json.dumps({"entities": names, "keywords": names[:2], "tags": ["test"],
                       "context": passage[:80]})


def llm_mem(make_memory, fake: FakeLLM, name: str, **kw):
    return make_memory(name, llm_model="fake", llm_base_url=fake.base_url,
                       llm_api_key="sk-fake", llm_max_retries=0, llm_concurrency=1, **kw)


def test_a_failed_extraction_is_stored_recorded_and_retried(make_memory):
    with FakeLLM([Step(200, content="I cannot answer in JSON, sorry.")]) as bad:
        mem = llm_mem(make_memory, bad, "m")
        rep = mem.index(PASSAGES)
        assert rep.passages_indexed == 2 and rep.extraction_failures == 2
        assert mem.stats()["failed_extractions"] == 2 and mem.stats()["entities"] == 0
        assert mem.store.kv.cache_stats() == []  # the malformed answers were not cached
        assert {p.status for p in rep.problems} == {"extraction_failed"}
        assert mem.search("Who designed the Orrin Theatre?")[0].title == "Orrin Theatre"
        mem.close()
    with FakeLLM([Step(200, respond=good_model)]) as good:
        mem = llm_mem(make_memory, good, "m")
        rep = mem.index(PASSAGES)  # the same command again
        assert rep.passages_indexed == 0
        assert (rep.retried, rep.retried_ok) == (2, 2)
        s = mem.stats()
        assert s["failed_extractions"] == 0 and s["entities"] >= 4 and s["triples"] == 2


def test_an_answer_with_thousands_of_triples_stores_nothing_of_it(make_memory):
    def flood(body: dict) -> str:
        user = body["messages"][-1]["content"]
        if "Named entities" in user:
            return json.dumps({"triples": [[f"thing {i}", "is", f"other {i}"]
                                           for i in range(10_000)]})
        return good_model(body)

    with FakeLLM([Step(200, respond=flood)]) as fake:
        mem = llm_mem(make_memory, fake, "flood", llm_max_reply_chars=10_000_000)
        rep = mem.index(PASSAGES[:1])
        assert rep.extraction_failures == 1 and rep.triples_added == 0
        names = {e.name for e in mem.store.graph.entities()}
        assert names and not any(n.startswith(("thing", "other")) for n in names)
        assert mem.stats()["triples"] == 0 and mem.stats()["entities"] < 10
        assert sum(r["rejected"] for r in mem.store.kv.usage()) == 1
        assert any("items" in p.reason for p in rep.problems)


def test_a_five_megabyte_answer_is_rejected_not_cached(make_memory):
    with FakeLLM([Step(200, content=json.dumps({"entities": ["x" * 5_000_000]}))]) as fake:
        mem = llm_mem(make_memory, fake, "huge")
        rep = mem.index(PASSAGES[:1])
        assert rep.extraction_failures == 1
        assert mem.store.kv.cache_stats() == []
        assert any("characters" in p.reason for p in rep.problems)


def test_asks_never_move_the_generation(make_memory):
    answer = "Thought: r\nAnswer: Paul Dreyer\nPassages used: 1"
    with FakeLLM([Step(200, respond=good_model)]) as fake:
        mem = llm_mem(make_memory, fake, "gen")
        mem.index(PASSAGES)
    with FakeLLM([Step(200, content=answer)]) as fake:
        mem = llm_mem(make_memory, fake, "gen")
        mem.search("warm up")
        gen, builds = mem.store.generation, mem.snapshots.graph_builds
        for q in ("Who designed the Orrin Theatre?", "Who wrote Night Tide?",
                  "Where is the Orrin Theatre?"):
            mem.ask(q)
        assert mem.store.generation == gen and mem.snapshots.graph_builds == builds
