"""Config: defaults work offline, env vars map onto fields, bad values are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmem.config import Config, ConfigError


def test_defaults_need_nothing():
    c = Config.from_env(env={})
    assert c.store == Path("graphmem_data") and not c.llm_configured
    assert c.embedding_model == "all-MiniLM-L6-v2" and c.damping is None


def test_env_vars_and_openai_fallbacks():
    env = {"GRAPHMEM_STORE": "/tmp/x", "GRAPHMEM_LLM_MODEL": "qwen", "GRAPHMEM_DAMPING": "0.6",
           "GRAPHMEM_EVOLVE_ON_ADD": "false", "GRAPHMEM_CHUNK_TOKENS": "128",
           "OPENAI_API_KEY": "sk-secret", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    c = Config.from_env(env=env)
    assert c.store == Path("/tmp/x") and c.llm_model == "qwen" and c.damping == 0.6
    assert c.evolve_on_add is False and c.chunk_tokens == 128
    assert c.llm_api_key == "sk-secret" and c.llm_base_url == "http://127.0.0.1:9/v1"
    assert c.llm_configured


def test_graphmem_vars_win_over_openai_ones():
    c = Config.from_env(env={"GRAPHMEM_LLM_API_KEY": "a", "OPENAI_API_KEY": "b"})
    assert c.llm_api_key == "a"


def test_overrides_win_over_env():
    c = Config.from_env(env={"GRAPHMEM_TOP_FACTS": "9"}, top_facts=3)
    assert c.top_facts == 3


def test_secret_not_in_repr():
    c = Config(llm_api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(c) and "***" in repr(c)


@pytest.mark.parametrize("env", [{"GRAPHMEM_DAMPING": "abc"}, {"GRAPHMEM_DAMPING": "1.5"},
                                 {"GRAPHMEM_EXTRACTOR": "magic"},
                                 {"GRAPHMEM_EVOLVE_ON_ADD": "maybe"},
                                 {"GRAPHMEM_CHUNK_OVERLAP": "900"}])
def test_bad_values_are_refused(env):
    with pytest.raises(ConfigError):
        Config.from_env(env=env)


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="unknown"):
        Config.from_env(env={}, no_such_knob=1)
