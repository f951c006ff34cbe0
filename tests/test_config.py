"""Config: one source of truth, env vars map onto fields, help for every field, bad values
refused, secrets never shown, a store is a location string (paths and Bolt URIs)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from graphmem.config import EMBEDDING_BATCH_SIZE, PPR_TOL, Config, ConfigError, public_fields


def test_defaults_need_nothing():
    c = Config.from_env(env={})
    assert c.store == "graphmem_data" and not c.llm_configured
    assert c.embedding_model == "all-MiniLM-L6-v2" and c.damping is None


def test_env_vars_and_openai_fallbacks():
    env = {"GRAPHMEM_STORE": "/tmp/x", "GRAPHMEM_LLM_MODEL": "qwen", "GRAPHMEM_DAMPING": "0.6",
           "GRAPHMEM_EVOLVE_ON_ADD": "false", "GRAPHMEM_CHUNK_TOKENS": "128",
           "OPENAI_API_KEY": "sk-secret", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
           "GRAPHMEM_CACHE_DIR": "/tmp/gm-cache"}
    c = Config.from_env(env=env)
    assert c.store == "/tmp/x" and c.llm_model == "qwen" and c.damping == 0.6
    assert c.evolve_on_add is False and c.chunk_tokens == 128
    assert c.llm_api_key == "sk-secret" and c.llm_base_url == "http://127.0.0.1:9/v1"
    assert c.llm_configured and c.cache_root == Path("/tmp/gm-cache")
    assert c.source_of("damping") == "env GRAPHMEM_DAMPING"
    assert c.source_of("llm_api_key") == "env OPENAI_API_KEY"
    assert c.source_of("top_facts") == "default"


def test_a_bolt_uri_stays_a_uri():
    c = Config.from_env(env={"GRAPHMEM_STORE": "bolt://127.0.0.1:7687"})
    assert c.store == "bolt://127.0.0.1:7687"
    assert Config(store=Path("/tmp/y")).store == "/tmp/y"


def test_graphmem_vars_win_over_openai_ones():
    c = Config.from_env(env={"GRAPHMEM_LLM_API_KEY": "a", "OPENAI_API_KEY": "b"})
    assert c.llm_api_key == "a"


def test_overrides_win_over_env():
    c = Config.from_env(env={"GRAPHMEM_TOP_FACTS": "9"}, top_facts=3)
    assert c.top_facts == 3 and c.source_of("top_facts") == "argument"
    assert c.replace(top_facts=4).source_of("top_facts") == "argument"


def test_secrets_never_shown():
    c = Config(llm_api_key="sk-very-secret", neo4j_password="pw-secret", api_token="tok-123",
               embedding_api_key="emb-key")
    shown = repr(c) + str(c.effective()) + (Config.__doc__ or "")
    for secret in ("sk-very-secret", "pw-secret", "tok-123", "emb-key"):
        assert secret not in shown
    assert "***" in repr(c)


def test_every_field_has_help_and_help_shows_it():
    doc = inspect.getdoc(Config) or ""
    for f in public_fields():
        assert f.metadata.get("help"), f"{f.name} has no help text"
        assert f"{f.name} :" in doc


def test_defaults_live_in_one_place():
    """The knobs that used to disagree between Config and call sites now agree."""
    from graphmem.embeddings import OnnxEmbedder, TorchEmbedder, load_embedder
    from graphmem.retrieval.retriever import Retriever

    assert Config().ppr_tol == PPR_TOL
    assert Config().embedding_batch_size == EMBEDDING_BATCH_SIZE
    for fn in (TorchEmbedder.__init__, OnnxEmbedder.__init__, load_embedder):
        assert inspect.signature(fn).parameters["batch_size"].default == EMBEDDING_BATCH_SIZE
    params = inspect.signature(Retriever.__init__).parameters
    assert params["tol"].default is inspect.Parameter.empty  # always given from Config
    assert not hasattr(Config(), "synonym_weight_scale")


@pytest.mark.parametrize("env", [{"GRAPHMEM_DAMPING": "abc"}, {"GRAPHMEM_DAMPING": "1.5"},
                                 {"GRAPHMEM_EXTRACTOR": "magic"},
                                 {"GRAPHMEM_EVOLVE_ON_ADD": "maybe"},
                                 {"GRAPHMEM_CHUNK_OVERLAP": "900"},
                                 {"GRAPHMEM_REWRITE_MAX_CHANGE": "2"},
                                 {"GRAPHMEM_LLM_MAX_ITEMS": "0"}])
def test_bad_values_are_refused(env):
    with pytest.raises(ConfigError):
        Config.from_env(env=env)


def test_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="unknown"):
        Config.from_env(env={}, no_such_knob=1)
