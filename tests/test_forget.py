"""Forgetting is real: after deleting a document, nothing of its text is left anywhere in
the store's files (database, write-ahead log, graph cache), its vectors and cached LLM
answers are gone, and the notes its evolution rewrote are back as they were."""

from __future__ import annotations

from pathlib import Path

from fake_llm import FakeLLM, Step

SECRET = "Zanzibar Quokka Foundation"
MEMORIES = ["Melanie painted a sunrise over the lake last summer.",
            "Melanie takes her kids camping by the lake every summer."]


def grep(root: Path, needle: str) -> list[str]:
    found = []
    for f in root.rglob("*"):
        if f.is_file() and needle.encode() in f.read_bytes().lower():
            found.append(str(f.relative_to(root)))
    return found


def test_nothing_of_a_deleted_document_survives_in_the_store_files(make_memory, tmp_path):
    def model(body: dict) -> str:
        user = body["messages"][-1]["content"]
        if "Nearest existing notes" in user:  # evolution: extend the neighbour with the news
            import json
            import re

            new, shown = (json.loads(b) for b in re.findall(r"<data>\n(.*?)\n</data>", user,
                                                            re.DOTALL)[:2])
            return json.dumps({"should_evolve": True, "links": ["N1"], "reason": "r",
                               "neighbor_updates": [{"id": "N1", "context": shown["N1"]["context"]
                                                     + " " + new["content"][:120],
                                                     "tags": shown["N1"]["tags"]}]})
        return f"Thought: t\nAnswer: {SECRET}\nPassages used: 1"

    with FakeLLM([Step(200, respond=model)]) as fake:
        mem = make_memory("forget", extractor="offline", llm_model="fake",
                          llm_base_url=fake.base_url, llm_api_key="k", llm_max_retries=0)
        for m in MEMORIES:
            mem.add(m)
        before = {n: mem.note(n) for n in mem.store.graph.passage_ids()}
        added = mem.add(f"Melanie donated the lake painting to the {SECRET} last summer.")
        assert added.evolution[0].event is not None
        assert mem.ask(f"Who received the painting from the {SECRET}?").answer
        mem.search(f"{SECRET} painting")  # the graph cache now holds its label and entities
        root = Path(mem.store.location)
        assert grep(root, SECRET.lower())  # it is there before
        rep = mem.delete(added.doc_id)
        assert rep.reverted_events and rep.cache_entries >= 1 and rep.vectors >= 1
        mem.search("painting")  # a new graph cache is written after the deletion
        assert grep(root, SECRET.lower()) == []
        assert grep(root, b"zanzibar".decode()) == []
        for nid, old in before.items():
            now = mem.note(nid)
            assert (now.context, now.tags) == (old.context, old.tags)
            assert all("Zanzibar" not in v.context for v in mem.history(nid))
