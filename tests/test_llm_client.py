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


def test_structured_output_falls_back_and_remembers():
    refuse = Step(500, raw=json.dumps({"error": "json_schema unsupported"}),
                  when_format="json_schema")
    with FakeLLM([refuse, Step(200, content='```json\n{"x": 3}\n```')]) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 3}
        assert c.chat_json("ner", MSG + [{"role": "user", "content": "again"}],
                           SCHEMA) == {"x": 3}
        formats = [r["body"].get("response_format", {}).get("type") for r in fake.requests]
        assert formats == ["json_schema", "json_object", "json_object"]
        assert fake.requests[1]["body"]["response_format"]["schema"] == SCHEMA
    both = [Step(500, raw="{}", when_format="json_schema"),
            Step(400, raw="{}", when_format="json_object"), Step(200, content='{"x": 4}')]
    with FakeLLM(both) as fake:
        c = client(fake)
        assert c.chat_json("ner", MSG, SCHEMA) == {"x": 4}
        assert "response_format" not in fake.requests[-1]["body"]


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
    (row,) = store.usage()
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
