"""Shared fixtures: the real embedding model, the demo corpus, fresh stores on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never inherit a user's LLM endpoint: the LLM tests start their own server.
for var in ("GRAPHMEM_LLM_MODEL", "GRAPHMEM_LLM_BASE_URL", "GRAPHMEM_LLM_API_KEY",
            "OPENAI_API_KEY", "OPENAI_BASE_URL", "GRAPHMEM_STORE", "GRAPHMEM_EXTRACTOR"):
    os.environ.pop(var, None)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _backends() -> list[str]:
    names = ["sqlite"]
    from bolt_server import arcadedb_available

    if arcadedb_available():
        names.append("arcadedb")
    if os.environ.get("GRAPHMEM_TEST_NEO4J_URI"):
        names.append("neo4j")
    return names


@pytest.fixture(params=_backends())
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(backend, tmp_path, request):
    """A fresh, empty store of each backend (the contract suites run on every one)."""
    from bolt_server import open_test_store

    s = open_test_store(backend, tmp_path / "store", request)
    yield s
    s.close()


@pytest.fixture
def reopen(backend, tmp_path, request):
    """Open a second handle on the same store as ``store``."""
    from bolt_server import reopen_test_store

    opened = []

    def again(s):
        h = reopen_test_store(backend, s, request)
        opened.append(h)
        return h

    yield again
    for h in opened:
        h.close()


@pytest.fixture(scope="session")
def embedder():
    from graphmem.embeddings import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def demo_corpus() -> list[dict]:
    return json.loads((EXAMPLES / "demo_corpus.json").read_text())


@pytest.fixture(scope="session")
def demo_questions() -> list[dict]:
    return json.loads((EXAMPLES / "demo_questions.json").read_text())


@pytest.fixture
def make_memory(tmp_path, embedder):
    """Open Memory objects on fresh directories; closes them after the test."""
    from graphmem import Memory

    opened = []

    def factory(name: str = "mem", **overrides):
        mem = Memory(tmp_path / name, embedder=embedder, **overrides)
        opened.append(mem)
        return mem

    yield factory
    for mem in opened:
        mem.close()


@pytest.fixture(scope="session")
def demo_memory(tmp_path_factory, embedder):
    """The demo corpus indexed once with the offline extractor (read-only for tests)."""
    from graphmem import Memory

    mem = Memory(tmp_path_factory.mktemp("demo") / "store", embedder=embedder)
    mem.index(EXAMPLES / "demo_corpus.json")
    yield mem
    mem.close()


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """The real local model (Qwen2.5-Coder-0.5B, sha256-checked) served on 127.0.0.1."""
    from graphmem.llm.local import LocalServer, assemble

    log = tmp_path_factory.mktemp("llm") / "server.log"
    with LocalServer(assemble(), log_path=log) as server:
        yield server


def require_alive(server) -> None:
    """Fail at once, with the server's own last words, if the local model server died."""
    if not server.alive():
        pytest.fail(f"the local llama.cpp server died (exit code {server.returncode}); its "
                    f"log ends with:\n{server.log_tail()}", pytrace=False)


@pytest.fixture
def llm_memory(tmp_path, embedder, llm_server):
    """Memory objects wired to the real local model (short answers to keep tests quick).

    Few retries, so a dead server shows up in seconds; the server is checked before each
    memory is made and after the test, and its log tail is the failure message.
    """
    from graphmem import Memory

    opened = []

    def factory(name: str = "llm-mem", **overrides):
        require_alive(llm_server)
        overrides.setdefault("llm_max_tokens", 256)
        overrides.setdefault("llm_max_retries", 1)
        overrides.setdefault("llm_timeout", 120.0)
        mem = Memory(tmp_path / name, embedder=embedder, llm_model="qwen-0.5b",
                     llm_base_url=llm_server.base_url, llm_api_key="sk-local",
                     llm_concurrency=2, **overrides)
        opened.append(mem)
        return mem

    yield factory
    for mem in opened:
        mem.close()
    require_alive(llm_server)
