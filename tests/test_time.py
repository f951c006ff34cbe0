"""Time: event times, supersession of facts, as_of / since / until, time in questions.

Everything runs on the real SQLite store, the real embedding model and the offline
extractor; the LLM's supersession decision runs against the real local model.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from graphmem.errors import InputError
from graphmem.when import asks_when, bound, mentions_time, period, question_window

CONVERSATION = [
    ("Caroline: I went to a LGBTQ support group yesterday and it was so powerful.",
     "1:56 pm on 8 May, 2023"),
    ("Caroline: The support group people are lovely, I really like them.",
     "1:14 pm on 25 May, 2023"),
    ("Melanie: The kids and I slept in a tent by the lake two days ago.",
     "10:37 am on 27 June, 2023"),
    ("Melanie: Going camping with the kids is what I like most about summer.",
     "1:36 pm on 3 July, 2023"),
    ("Melanie: The kids want to go camping again, they love camping.",
     "2:31 pm on 17 July, 2023"),
]


@pytest.fixture
def chat(make_memory):
    mem = make_memory("chat", sequence_links=0)  # time alone, without evolution's links
    for text, when in CONVERSATION:
        mem.add(text, timestamp=when)
    return mem


def test_written_times_parse_to_periods():
    assert period("1:56 pm on 8 May, 2023").start == datetime(2023, 5, 8, 13, 56)
    may = period("May 2023")
    assert (may.start, may.end) == (datetime(2023, 5, 1), datetime(2023, 6, 1))
    assert period("2023-05-08T10:00:00Z").start == datetime(2023, 5, 8, 10, 0)
    assert period(1683554160).start == datetime(2023, 5, 8, 13, 56)
    for nothing in ("yesterday", "13:56", "hello", "", None, 12):
        assert period(nothing) is None, nothing
    assert bound("May 2023", "until", end=True) == "2023-06-01T00:00:00"
    with pytest.raises(InputError, match="since='soon'"):
        bound("soon", "since", end=False)


def test_time_in_questions_and_memories():
    anchor = datetime(2023, 10, 20)
    w = question_window("When did Melanie go camping in June?", anchor)
    assert (w.start, w.end) == (datetime(2023, 6, 1), datetime(2023, 7, 1))
    w = question_window("What happened last week?", anchor)
    assert (w.start, w.end) == (datetime(2023, 10, 9), datetime(2023, 10, 16))
    w = question_window("Where did Bob live before 2022?", anchor)
    assert (w.start, w.end) == (None, datetime(2022, 1, 1))
    assert question_window("May I ask where Bob works?", anchor) is None
    assert asks_when("When did Caroline go to the support group?")
    assert asks_when("How long has Caroline had her friends?")
    assert not asks_when("Who is Caroline?")
    assert mentions_time("I ran a charity race last Saturday")
    assert mentions_time("We're thinking about going camping next month")
    assert not mentions_time("I love painting sunsets")


def test_repeated_memory_keeps_each_time(make_memory):
    mem = make_memory()
    a = mem.add("Caroline: See you soon!", timestamp="2023-05-08")
    b = mem.add("Caroline: See you soon!", timestamp="2023-07-01")
    assert a.doc_id != b.doc_id and a.notes[0].id == b.notes[0].id  # one passage, two times
    july = mem.search("see you soon", k=1, since="2023-07-01")
    assert july and july[0].times == ["2023-05-08T00:00:00", "2023-07-01T00:00:00"]
    assert mem.search("see you soon", k=1, since="2023-08") == []


def test_memory_without_a_time_mixes_with_dated_ones(make_memory):
    """A memory added without a timestamp happened when it was added; its time is stored
    in the same naive-UTC form as parsed ones, so windows and questions compare them."""
    mem = make_memory()
    mem.add("The opera Night Tide premiered in 1987.", timestamp="1987-03-01")
    undated = mem.add("Caroline told her group about the opera Night Tide.")
    hits = mem.search("Which opera premiered in 1987?", k=5)
    assert {h.passage_id for h in hits} >= {undated.notes[0].id}
    (t,) = next(h.times for h in hits if h.passage_id == undated.notes[0].id)
    assert "+" not in t and datetime.fromisoformat(t).tzinfo is None
    assert mem.search("Night Tide", k=5, until="2000") != []


def test_since_until_and_as_of_filter_by_event_time(chat):
    june = chat.search("tent by the lake", k=5, since="2023-06-01", until="June 2023")
    assert [h.text[:40] for h in june] == [CONVERSATION[2][0][:40]]
    early = chat.search("camping", k=5, as_of="2023-06-30")
    assert {h.text for h in early} == {t for t, _ in CONVERSATION[:3]}
    july = chat.search("camping", k=5, since="July 2023")
    assert {h.text for h in july} == {CONVERSATION[3][0], CONVERSATION[4][0]}
    with pytest.raises(InputError, match="empty time window"):
        chat.search("camping", since="2023-08-01", until="2023-07-01")
    with pytest.raises(InputError, match="as_of="):
        chat.ask("Where?", as_of="whenever")


def test_question_time_moves_matching_memories_up(chat, make_memory):
    q = "When did Melanie go camping in June?"
    hits = chat.search(q, k=3)
    assert hits[0].text == CONVERSATION[2][0]
    assert "in June" in hits[0].why.time and hits[0].times == ["2023-06-27T10:37:00"]
    plain = make_memory("plain", time_boost=0.0, sequence_links=0)  # no time awareness
    for text, when in CONVERSATION:
        plain.add(text, timestamp=when)
    q = "What did Melanie do with the kids in June?"
    assert chat.search(q, k=1)[0].text == CONVERSATION[2][0]
    assert plain.search(q, k=1)[0].text != CONVERSATION[2][0]
    when = chat.search("When did Caroline go to the support group?", k=1)[0]
    assert when.text == CONVERSATION[0][0] and "says when" in when.why.time


def test_newer_fact_supersedes_older_one(make_memory):
    mem = make_memory()
    mem.add("Bob works at Google.", timestamp="2023-05-08")
    mem.add("Bob likes tea.", timestamp="2023-05-09")
    added = mem.add("Bob works at Microsoft.", timestamp="2023-06-20")
    assert len(added.superseded) == 1
    ev = added.superseded[0]
    assert ev.kind == "supersede" and ev.decision["policy"] == "offline"
    facts = {f.text: f for f in mem.store.graph.facts()}
    old, new = facts["bob works at google"], facts["bob works at microsoft"]
    assert (old.valid_from, old.valid_to) == ("2023-05-08T00:00:00", "2023-06-20T00:00:00")
    assert new.valid_to is None  # the old fact is kept, with its end: history
    coffee = mem.add("Bob likes coffee.", timestamp="2023-07-01")
    assert coffee.superseded == []  # liking is not single-valued
    assert mem.store.notes.events(added.notes[0].id)[0].kind == "supersede"
    # an older memory arriving late is closed by the newer fact already there
    late = mem.add("Bob works at IBM.", timestamp="2022-01-01")
    ibm = {f.text: f for f in mem.store.graph.facts()}["bob works at ibm"]
    assert late.superseded and ibm.valid_to is not None
    mem.revert(ev.id)  # undo: Google holds again
    assert {f.text: f for f in mem.store.graph.facts()}["bob works at google"].valid_to is None


def test_as_of_seeds_the_walk_with_facts_true_then(make_memory):
    mem = make_memory(supersede_facts=True)
    mem.add("Bob works at Google.", timestamp="2023-05-08")
    mem.add("Bob works at Microsoft.", timestamp="2023-06-20")
    now = mem.search("employer of the engineer", k=1)[0]
    then = mem.search("employer of the engineer", k=1, as_of="2023-05-31")[0]
    assert [f for f, _ in now.why.seed_facts] == ["bob works at microsoft"]
    assert [f for f, _ in then.why.seed_facts] == ["bob works at google"]
    assert then.text == "Bob works at Google."


def test_cli_and_rest_take_time_windows(chat, tmp_path):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from graphmem.cli import app
    from graphmem.server.rest import create_app

    location = chat.store.location
    chat.close()
    r = CliRunner().invoke(app, ["search", "camping", "--store", location, "--since",
                                 "2023-07-01", "--json"])
    assert r.exit_code == 0, r.output
    assert {h["text"] for h in json.loads(r.output)} == {CONVERSATION[3][0],
                                                          CONVERSATION[4][0]}
    r = CliRunner().invoke(app, ["search", "camping", "--store", location, "--until",
                                 "nonsense"])
    assert r.exit_code != 0 and "until='nonsense'" in r.output
    from graphmem import Memory

    with Memory(location) as mem:
        client = TestClient(create_app(mem, token="t0ken"),
                            headers={"Authorization": "Bearer t0ken"})
        got = client.post("/v1/search", json={"query": "camping", "as_of": "2023-06-30"})
        assert got.status_code == 200
        assert all(h["times"][0] < "2023-07" for h in got.json()["hits"])
        bad = client.post("/v1/search", json={"query": "camping", "since": "soon"})
        assert bad.status_code == 422 and "since='soon'" in bad.text


@pytest.mark.llm
def test_llm_decides_supersession_and_it_is_recorded(llm_memory):
    mem = llm_memory(extractor="offline")
    mem.add("Bob works at Google.", timestamp="2023-05-08")
    added = mem.add("Bob works at Microsoft.", timestamp="2023-06-20")
    assert len(added.superseded) == 1  # the LLM's decision is an event, yes or no
    decision = added.superseded[0].decision
    assert decision["policy"] == "llm" and len(decision["judged"]) == 1
    replaced = decision["judged"][0]["replaced"]
    old = {f.text: f for f in mem.store.graph.facts()}["bob works at google"]
    assert (old.valid_to is not None) == replaced
    assert {r["kind"]: r for r in mem.store.kv.usage()}["supersede"]["calls"] == 1
