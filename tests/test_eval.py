"""The evaluations behind every README figure: metrics, retrieval recall, QA and memory,
on small data the tests own (the demo corpus and a two-session conversation)."""

from __future__ import annotations

import json

import pytest
from fake_llm import FakeLLM, Step
from typer.testing import CliRunner

from graphmem.cli import app
from graphmem.eval.memory import conversation_turns, evaluate_memory
from graphmem.eval.metrics import (
    exact_match,
    mean_recall,
    normalize_answer,
    percentiles_ms,
    recall_at,
    token_f1,
)
from graphmem.eval.retrieval import evaluate_retrieval, gold_documents

CONVERSATION = [{
    "sample_id": "t1",
    "conversation": {
        "speaker_a": "Caroline", "speaker_b": "Melanie",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Caroline", "dia_id": "D1:1", "text": "I went to the LGBTQ support "
             "group yesterday and it was so powerful."},
            {"speaker": "Melanie", "dia_id": "D1:2", "text": "That's great! I painted a "
             "sunrise over the lake last week.", "blip_caption": "a painting of a sunrise"},
            {"speaker": "Caroline", "dia_id": "D1:3", "text": "I'm researching adoption "
             "agencies because I want to adopt a child."}],
        "session_2_date_time": "7:00 pm on 20 June, 2023",
        "session_2": [
            {"speaker": "Melanie", "dia_id": "D2:1", "text": "We went camping by the lake "
             "with the kids this weekend."},
            {"speaker": "Caroline", "dia_id": "D2:2", "text": "The adoption agency approved "
             "my application!"}]},
    "qa": [{"question": "What did Melanie paint?", "answer": "a sunrise",
            "evidence": ["D1:2"], "category": 1},
           {"question": "When did Caroline go to the support group?", "answer": "7 May 2023",
            "evidence": ["D1:1"], "category": 2},
           {"question": "What did the adoption agency decide?", "answer": "approved",
            "evidence": ["D2:2", "D1:3"], "category": 1},
           {"question": "Unanswerable", "answer": "", "evidence": [], "category": 5}]}]


def test_metrics():
    assert recall_at(["a", "b", "c"], {"b", "z"}, 2) == 0.5
    assert recall_at(["a"], set(), 5) == 0.0
    assert mean_recall([["a", "b"], ["c"]], [{"a"}, {"b"}], ks=(1, 2)) == {"R@1": 0.5,
                                                                           "R@2": 0.5}
    assert normalize_answer("The  Orrin, Theatre!") == "orrin theatre"
    assert exact_match("the Orrin Theatre", ["Orrin Theatre"]) == 1.0
    assert exact_match("Orrin", ["Orrin Theatre"]) == 0.0
    assert token_f1("Orrin", ["Orrin Theatre"]) == pytest.approx(2 / 3)
    assert token_f1("", ["x"]) == 0.0
    assert percentiles_ms([0.001, 0.002, 0.003])["p50"] == pytest.approx(2.0)


def test_retrieval_evaluation_on_the_demo(make_memory, demo_questions, tmp_path):
    from conftest import EXAMPLES

    mem = make_memory("eval")
    res = evaluate_retrieval(mem, demo_questions, EXAMPLES / "demo_corpus.json")
    assert res["n_questions"] == len(demo_questions)
    assert res["gold_documents_missing_from_store"] == 0
    r, dense = res["recall"], res["baselines"]["dense"]
    assert 0 < r["R@2"] <= r["R@5"] <= r["R@10"] <= 1.0
    assert r["R@10"] >= 0.7 and dense["R@10"] > 0
    assert set(res["baselines"]) == {"dense", "bm25"}
    assert res["timings"]["query_ms_p50"] > 0
    assert gold_documents(demo_questions[0])


def test_memory_evaluation_and_its_json_names(tmp_path):
    data = tmp_path / "conv.json"
    data.write_text(json.dumps(CONVERSATION))
    turns = conversation_turns(CONVERSATION[0])
    assert [t["dia_id"] for t in turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert "[shares a painting of a sunrise]" in turns[1]["text"]
    res = evaluate_memory(data, tmp_path / "work", {"link_threshold": 0.5})
    assert res["n_questions"] == 3
    assert set(res["recall"]) == {"dense", "graph", "graph_evolved"}  # no LLM here
    assert res["evolution_events"] > 0
    assert set(res["per_category"]) == {"1", "2"}
    assert res["recall"]["dense"]["R@5"] == 1.0  # five memories: everything is in the top 5
    assert res["per_category"]["1"]["n"] == 2
    sliced = evaluate_memory(data, tmp_path / "slice", {}, max_turns=3)
    assert sliced["n_questions"] < 3  # only questions whose evidence is in the first turns


def test_memory_evaluation_adds_the_llm_policy_when_a_model_is_configured(tmp_path):
    """Control flow only (a scripted model): the offline policy still runs explicitly for
    graph_evolved, and the LLM policy gets its own store, recall and cost."""
    data = tmp_path / "conv.json"
    data.write_text(json.dumps(CONVERSATION))
    with FakeLLM([Step(content='{"should_evolve": false, "reason": "unrelated"}')]) as fake:
        res = evaluate_memory(data, tmp_path / "work", {
            "llm_model": "fake", "llm_base_url": fake.base_url, "llm_api_key": "k",
            "extractor": "offline", "supersede_facts": False})
    assert set(res["recall"]) == {"dense", "graph", "graph_evolved", "graph_evolved_llm"}
    assert res["policy"] == "offline and llm:fake"
    assert res["llm_evolution"]["calls"] >= 4 and res["llm_evolution"]["prompt_tokens"] > 0


def test_eval_commands(tmp_path, demo_questions, monkeypatch):
    from conftest import EXAMPLES

    runner = CliRunner()
    qs = tmp_path / "q.json"
    qs.write_text(json.dumps(demo_questions[:3]))
    out = tmp_path / "r.json"
    r = runner.invoke(app, ["eval", "retrieval", "--questions", str(qs), "--corpus",
                            str(EXAMPLES / "demo_corpus.json"), "--json", str(out)],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["n_questions"] == 3
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps(CONVERSATION))
    r = runner.invoke(app, ["eval", "memory", "--locomo", str(conv), "--json",
                            str(tmp_path / "m.json")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "graph_evolved" in json.loads((tmp_path / "m.json").read_text())["recall"]
    r = runner.invoke(app, ["eval", "qa", "--questions", str(qs), "--corpus",
                            str(EXAMPLES / "demo_corpus.json")])
    assert r.exit_code == 1 and "needs an LLM" in " ".join(r.output.split())
    reply = "Thought: the passage says so\nAnswer: Paul Dreyer\nPassages used: 1"
    with FakeLLM([Step(200, content=reply)]) as fake:
        monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "fake")
        monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("GRAPHMEM_EXTRACTOR", "offline")
        r = runner.invoke(app, ["eval", "qa", "--questions", str(qs), "--corpus",
                                str(EXAMPLES / "demo_corpus.json"), "--json",
                                str(tmp_path / "qa.json"), "--recipe", "dense", "--recipe",
                                "hybrid"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    qa = json.loads((tmp_path / "qa.json").read_text())
    assert qa["n_questions"] == 3 and set(qa["recipes"]) == {"dense", "hybrid"}
    dense = qa["recipes"]["dense"]
    assert len(dense["answers"]) == 3 and dense["answers"][0]["prediction"] == "Paul Dreyer"
    assert dense["llm_calls"] == 3 and dense["answers"][0]["prompt_tokens"] > 0
    c = qa["comparison"]
    assert c["second_wins"] + c["second_losses"] + c["ties"] == 3
