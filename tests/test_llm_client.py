"""LLM client error paths against a scripted HTTP server on 127.0.0.1 (no real model)."""

from __future__ import annotations

import json
import logging

import pytest
from fake_llm import FakeLLM, Step

from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMError, LLMOutputError, LLMUnavailable
from graphmem.llm.jsonparse import extract_json, parse_json, validate
from graphmem.llm.local import free_port
from graphmem.llm.prompts import ENTITIES_SCHEMA, entities_prompt
from graphmem.store import SQLiteStore

MSG = [{"role": "user", "content": "Return JSON."}]
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fake: FakeLLM, **kw) -> LLMClient:
    kw.setdefault("sleep", Sleeps())
    return LLMClient("fake-model", fake.base_url, kw.pop("api_key", "sk-test"), **kw)


def test_retry_after_is_honoured():
    with FakeLLM([Step(429, headers={"Retry-After": "2"}, raw="{}"),
                  Step(200, content='{"x": 1}')]) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 1}
        assert c._sleep == [2.0] and len(fake.requests) == 2


def test_server_errors_are_retried_with_backoff_then_fail_clearly():
    with FakeLLM([Step(503, raw="{}"), Step(502, raw="{}"), Step(200, content="hi")]) as fake:
        c = client(fake)
        assert c.chat("answer", MSG) == "hi"
        assert len(c._sleep) == 2 and 0.5 <= c._sleep[0] < 1.0 and 1.0 <= c._sleep[1] < 1.5
    with FakeLLM([Step(503, raw="{}")]) as fake:
        c = client(fake, max_retries=2)
        with pytest.raises(LLMError, match="HTTP 503"):
            c.chat("answer", MSG)
        assert len(fake.requests) == 3


def test_timeouts_are_retried():
    with FakeLLM([Step(200, content="slow", delay=1.5), Step(200, content="fast")]) as fake:
        c = client(fake, timeout=0.5)
        assert c.chat("answer", MSG) == "fast"
        assert len(c._sleep) == 1
    with FakeLLM([Step(200, content="slow", delay=1.0)]) as fake:
        c = client(fake, timeout=0.3, max_retries=1)
        with pytest.raises(LLMUnavailable, match="timed out after 2 attempts"):
            c.chat("answer", MSG)


def test_wrong_key_fails_at_once_with_advice(caplog):
    with FakeLLM([Step(200, content="never")], key="sk-right") as fake:
        c = client(fake, api_key="sk-wrong-secret")
        with caplog.at_level(logging.DEBUG), pytest.raises(LLMUnavailable, match="API key"):
            c.chat("answer", MSG)
        assert len(fake.requests) == 1
    assert "sk-wrong-secret" not in caplog.text and "sk-wrong-secret" not in repr(c)


def test_unreachable_endpoint():
    c = LLMClient("m", f"http://127.0.0.1:{free_port()}/v1", "k", max_retries=1,
                  sleep=Sleeps())
    with pytest.raises(LLMUnavailable, match="cannot reach the LLM endpoint"):
        c.chat("answer", MSG)


def formats(fake: FakeLLM) -> list[str | None]:
    return [r["body"].get("response_format", {}).get("type") for r in fake.requests]


def test_structured_output_falls_back_when_the_server_cannot_do_it():
    refuse = Step(500, raw=json.dumps({"error": "json_schema unsupported"}),
                  when_format="json_schema")
    with FakeLLM([refuse, refuse, refuse, Step(200, content='```json\n{"x": 3}\n```')]) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 3}
        assert c.chat_json("ner", MSG + [{"role": "user", "content": "again"}],
                           SCHEMA) == {"x": 3}
        # a 500 that repeats on the mode's first use: tried 3 times, then json_object
        assert formats(fake) == ["json_schema"] * 3 + ["json_object", "json_object"]
        assert fake.requests[3]["body"]["response_format"]["schema"] == SCHEMA
    named = [Step(400, raw=json.dumps({"error": {"message": "response_format is not "
                                                            "supported"}}),
                  when_format="json_schema"),
             Step(422, raw=json.dumps({"error": "invalid schema for json_object"}),
                  when_format="json_object"), Step(200, content='{"x": 4}')]
    with FakeLLM(named) as fake:  # a 400/422 naming the mode: given up at once
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 4}
        assert formats(fake) == ["json_schema", "json_object", None]


def test_one_transient_500_never_downgrades_a_mode_that_worked():
    with FakeLLM([Step(200, content='{"x": 1}'), Step(500, raw="{}"),
                  Step(200, content='{"x": 2}')]) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 1}
        assert c.chat_json("ner", MSG + [{"role": "user", "content": "b"}], SCHEMA) == {"x": 2}
        assert formats(fake) == ["json_schema"] * 3 and c.mode == "json_schema"
        assert len(c._sleep) == 1  # retried with backoff, mode kept


def test_a_500_on_first_use_that_goes_away_keeps_the_mode():
    with FakeLLM([Step(500, raw="{}"), Step(200, content='{"x": 1}')]) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 1}
        assert formats(fake) == ["json_schema", "json_schema"] and c.mode == "json_schema"


def test_a_400_that_does_not_name_the_mode_is_an_error_not_a_downgrade():
    with FakeLLM([Step(400, raw=json.dumps({"error": "context length exceeded"}))]) as fake:
        c = client(fake)
        with pytest.raises(LLMError, match="HTTP 400"):
            c.chat_json("ner", MSG, SCHEMA)
        assert c.mode == "json_schema"


def test_the_working_mode_is_remembered_in_the_store(tmp_path):
    store = SQLiteStore(tmp_path, "m")
    refuse = Step(500, raw="{}", when_format="json_schema")
    with FakeLLM([refuse, refuse, refuse, Step(200, content='{"x": 1}')]) as fake:
        client(fake, store=store).chat_json("ner", MSG, SCHEMA)
        import graphmem.llm.client as mod

        mod._KNOWN_MODES.clear()  # a new process: only the store remembers
        c2 = client(fake, store=store)
        assert c2.mode == "json_object"
        c2.chat_json("ner", MSG + [{"role": "user", "content": "z"}], SCHEMA)
        assert formats(fake)[-1] == "json_object"
    store.close()


def test_a_malformed_answer_is_never_cached(tmp_path):
    store = SQLiteStore(tmp_path, "m")
    with FakeLLM([Step(200, content="no json here"), Step(200, content='{"x": 7}')]) as fake:
        c = client(fake, store=store)
        with pytest.raises(LLMOutputError):
            c.chat_json("ner", MSG, SCHEMA)
        assert store.kv.cache_stats() == []
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 7}  # asked again, not served stale
        assert len(fake.requests) == 2 and store.kv.cache_stats()[0]["entries"] == 1
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 7} and len(fake.requests) == 2
    (row,) = store.kv.usage()
    assert row["rejected"] == 1 and row["calls"] == 2 and row["cached_calls"] == 1
    store.close()


def test_huge_answers_and_too_many_items_are_rejected_and_not_cached(tmp_path):
    store = SQLiteStore(tmp_path, "m")
    items = {"type": "object", "properties": {"x": {"type": "integer"},
                                              "items": {"type": "array"}}, "required": ["x"]}
    many = json.dumps({"x": 1, "items": [["a", "r", "b"]] * 1_000})
    huge = json.dumps({"x": 1, "pad": "y" * 5_000_000})
    with FakeLLM([Step(200, content=many), Step(200, content=huge)]) as fake:
        c = client(fake, store=store, max_reply_chars=100_000)
        with pytest.raises(LLMOutputError, match="1,000 items"):
            c.chat_json("triples", MSG, items)
        with pytest.raises(LLMOutputError, match="5,000,0.. characters"):
            c.chat_json("triples", MSG + [{"role": "user", "content": "2"}], items)
    assert store.kv.cache_stats() == []
    assert store.kv.usage()[0]["rejected"] == 2
    store.close()


def test_garbage_json_is_rejected_with_a_clear_error():
    with (FakeLLM([Step(200, content="I think x is probably five.")]) as fake,
          pytest.raises(LLMOutputError, match="no valid JSON")):
        client(fake).chat_json("ner", MSG, SCHEMA)
    with (FakeLLM([Step(200, content='{"x": "five"}')]) as fake,
          pytest.raises(LLMOutputError, match="expected integer")):
        client(fake).chat_json("ner", MSG, SCHEMA)


def test_cache_and_usage_in_the_store(tmp_path):
    store = SQLiteStore(tmp_path, "m")
    with FakeLLM([Step(200, content='{"x": 5}')]) as fake:
        c = client(fake, store=store)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 5}
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 5}
        assert len(fake.requests) == 1
    (row,) = store.kv.usage()
    assert (row["calls"], row["cached_calls"], row["prompt_tokens"],
            row["completion_tokens"]) == (1, 1, 11, 7)
    store.close()


def test_concurrency_is_limited():
    with FakeLLM([Step(200, content="ok", delay=0.3)]) as fake:
        c = client(fake, concurrency=2)
        out = c.map(lambda i: c.chat("answer", [{"role": "user", "content": str(i)}]),
                    range(6))
        assert out == ["ok"] * 6 and fake.max_in_flight == 2


def test_json_extraction_and_validation():
    assert extract_json('Sure! Here it is:\n{"a": [1, 2,], "b": "x}"} trailing') == {
        "a": [1, 2], "b": "x}"}
    assert extract_json("```json\n[1, 2]\n```") == [1, 2]
    assert extract_json("prefix “x” {“k”: 1}") == {"k": 1}
    with pytest.raises(LLMOutputError):
        extract_json("__import__('os').system('echo pwned')")
    with pytest.raises(LLMOutputError):
        extract_json("{'a': 1}")  # Python literals are not JSON and are not evaluated
    got = parse_json('{"entities": ["A"], "extra": 1}', ENTITIES_SCHEMA)
    assert got == {"entities": ["A"]}
    with pytest.raises(LLMOutputError, match="missing required key"):
        validate({}, ENTITIES_SCHEMA)
    with pytest.raises(LLMOutputError, match="expected integer"):
        validate(True, {"type": "integer"})
    assert "Passage:" in entities_prompt("text")[1]["content"]


def test_price_table_turns_tokens_into_cost():
    from graphmem.config import ConfigError
    from graphmem.llm.usage import cost, parse_prices, usage_table

    prices = parse_prices("gpt-4o-mini=0.15:0.6, local=0:0")
    row = {"model": "gpt-4o-mini", "kind": "ner", "calls": 2, "cached_calls": 1,
           "prompt_tokens": 1_000_000, "completion_tokens": 500_000}
    assert cost(row, prices) == pytest.approx(0.45)
    assert cost({**row, "model": "other"}, prices) is None
    assert usage_table([row], "gpt-4o-mini=0.15:0.6").row_count == 1
    with pytest.raises(ConfigError, match="model=input:output"):
        parse_prices("gpt-4o-mini:0.15")
