"""Evolution with the real store and embedding model.

The offline policy runs for real; the LLM policy's *control flow* (aliases mapped back,
validation, all-or-nothing application) is driven by a scripted OpenAI-compatible
server, and ``test_llm_real.py`` runs it against the real local model.
"""

from __future__ import annotations

import json

import numpy as np
from fake_llm import FakeLLM, Step

from graphmem import Memory
from graphmem.embeddings import text_hash
from graphmem.retrieval.graph import KIND_CODES
from graphmem.retrieval.recipes import HYBRID

SETUP = [
    "Caroline went to an LGBTQ support group yesterday and found it powerful.",
    "Melanie painted a sunrise over the lake last summer.",
    "Caroline is researching adoption agencies because she wants to adopt.",
    "Melanie takes her kids camping by the lake every summer.",
    "Caroline's support group meets every Tuesday at the community centre.",
]
NEW = "Caroline told the support group about her plan to adopt a child."


def fill(mem: Memory) -> list[str]:
    ids = []
    for i, text in enumerate(SETUP):
        ids.append(mem.add(text, timestamp=f"2023-05-0{i + 1}").notes[0].id)
    return ids


def decision(**kw) -> str:
    return json.dumps({"should_evolve": True, "reason": "same topic", **kw})


def llm_memory(make_memory, fake: FakeLLM, name: str):
    mem = make_memory(name, evolve_on_add=False, extractor="offline", llm_model="fake",
                      llm_base_url=fake.base_url, llm_api_key="sk-fake", llm_max_retries=0)
    fill(mem)
    mem.config.evolve_on_add = True
    return mem


def test_offline_policy_links_and_versions_survive_restart(make_memory, tmp_path, embedder):
    mem = make_memory("off", link_threshold=0.3)
    fill(mem)
    added = mem.add(NEW, timestamp="2023-05-09")
    (out,) = added.evolution
    assert out.policy == "offline" and out.event is not None
    new_id = added.notes[0].id
    links = mem.store.links(new_id)
    assert links and all(lk.src == new_id and lk.dst.startswith("p:") for lk in links)
    assert {lk.dst for lk in links} <= {n for n, _ in out.neighbors}
    mem.close()
    again = Memory(tmp_path / "off", embedder=embedder)  # a restart
    assert {lk.dst for lk in again.store.links(new_id)} == {lk.dst for lk in links}
    assert again.note(new_id).links == [lk.dst for lk in links]
    g = again.retriever.graph()  # the link is an edge of the walk, of kind "link"
    a, b = g.index[new_id], g.index[links[0].dst]
    neighbours = list(g.indices[g.indptr[a]:g.indptr[a + 1]])
    assert g.kinds[g.indptr[a] + neighbours.index(b)] == KIND_CODES["link"]
    again.close()


def test_llm_decision_rewrites_exactly_the_chosen_neighbour(make_memory):
    reply = decision(links=["N1", "N3"], neighbor_updates=[
        {"id": "N2", "context": "Caroline's plans to adopt, shared with her group.",
         "tags": ["adoption", "support group"]}])
    with FakeLLM([Step(200, content=reply)]) as fake:
        mem = llm_memory(make_memory, fake, "llm")
        before = {n: mem.note(n) for n in mem.store.passage_ids()}
        added = mem.add(NEW, timestamp="2023-05-09")
        (out,) = added.evolution
        shown = [n for n, _ in out.neighbors]
        assert out.event is not None, out.rejected
        # the model saw aliases, never IDs
        prompt = fake.requests[-1]["body"]["messages"][1]["content"]
        assert '"N1"' in prompt and "p:" not in prompt
        new_id = added.notes[0].id
        assert [lk.dst for lk in mem.store.links(new_id)] == [shown[0], shown[2]]
        target = shown[1]
        # A-MEM's bug #32 applied "neighbour 2" to the 2nd note ever stored; here that note
        # is a different one, and it must stay untouched (checked in the loop below)
        assert mem.store.passage_ids()[1] != target
        for nid, old in before.items():
            now = mem.note(nid)
            if nid == target:
                assert now.version == 2 and now.tags == ["adoption", "support group"]
                assert now.context.startswith("Caroline's plans")
            else:
                assert now.version == old.version and now.tags == old.tags
        # the rewritten note was re-embedded at once, and the vector is what retrieval reads
        ids, mat = mem.store.vectors("note")
        fresh = mem.embedder.embed_documents([mem.note(target).embed_text()])[0]
        assert np.allclose(mat[ids.index(target)], fresh, atol=1e-5)
        assert mem.store.missing_vectors([text_hash(mem.note(target).embed_text())]) == set()
        # history and revert round-trip
        hist = mem.history(target)
        assert [h.version for h in hist] == [1, 2] and hist[1].event_id == out.event.id
        assert mem.revert(out.event.id) == [target]
        now = mem.note(target)
        assert now.version == 3 and now.tags == before[target].tags
        assert now.context == before[target].context
        assert mem.store.links(new_id) == []


def test_evolution_changes_retrieval(make_memory):
    reply = decision(neighbor_updates=[{"id": "N1", "context": "Zebra migration in Kenya.",
                                        "tags": ["zebras", "kenya", "migration"]}])
    with FakeLLM([Step(200, content=reply)]) as fake:
        mem = llm_memory(make_memory, fake, "ret")
        added = mem.add(NEW, timestamp="2023-05-09")
        target = added.evolution[0].neighbors[0][0]
        recipe = HYBRID.with_(note_weight=0.5)
        hits = {h.passage_id: h.dense_score
                for h in mem.search("zebra migration in Kenya", k=6, recipe=recipe)}
        assert max(hits, key=hits.get) == target


def test_malformed_decisions_are_rejected_and_change_nothing(make_memory):
    bad_replies = [
        decision(links=["N9"]),                                   # unknown alias
        decision(links=["N1", "N1"]),                             # repeated alias
        decision(links=["N1", "N2", "N3", "N4", "N5", "N6"]),     # more than shown
        decision(neighbor_updates=[{"id": "N1", "context": "x", "tags": ["t"] * 20}]),
        decision(neighbor_updates=[{"id": "N1", "context": "", "tags": []}]),
        decision(neighbor_updates=[{"id": "0", "context": "first note", "tags": []}]),
        "I would link these notes because they are related.",    # not JSON
    ]
    for i, reply in enumerate(bad_replies):
        with FakeLLM([Step(200, content=reply)]) as fake:
            mem = llm_memory(make_memory, fake, f"bad{i}")
            before = {n: (mem.note(n).version, mem.note(n).tags) for n in
                      mem.store.passage_ids()}
            added = mem.add(NEW, timestamp="2023-05-09")
            (out,) = added.evolution
            assert out.event is None and out.rejected, reply
            assert mem.store.events() == [] and mem.store.links() == []
            for n, state in before.items():
                assert (mem.note(n).version, mem.note(n).tags) == state
            log = mem.store.ingest_log()
            assert log[0]["status"] == "evolution_rejected"


def test_evolution_on_bulk_index_is_optional(make_memory):
    off = make_memory("bulk-off", link_threshold=0.3)
    off.index(SETUP)
    assert off.store.events() == []
    on = make_memory("bulk-on", link_threshold=0.3, evolve_on_index=True)
    on.index(SETUP)
    assert on.store.events() and on.stats()["edges"]["link"] > 0
