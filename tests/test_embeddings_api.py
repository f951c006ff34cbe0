"""Embeddings from an OpenAI-compatible endpoint: the real local llama.cpp server with
embeddings on (pooling set by a GGUF metadata override), ``graphmem reembed``, and the
fault paths (a scripted server only injects faults)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_llm import FakeLLM, Step
from typer.testing import CliRunner

from graphmem import Memory
from graphmem.embeddings import EmbeddingError
from graphmem.embeddings_api import ApiEmbedder
from graphmem.store.base import StoreError

POOLING = ["--embedding", "true", "--kv_overrides", "qwen2.pooling_type=int:1"]
DOCS = [{"title": "Orrin Theatre", "text": "The Orrin Theatre in Halvard was designed by the "
         "architect Ada Quill in 1921."},
        {"title": "Night Tide", "text": "Night Tide is an opera that premiered in 1987."},
        {"title": "Bob", "text": "Bob works at Google and lives in Zurich."}]


def _server(tmp_path_factory, args: list[str]):
    from graphmem.llm.local import LocalServer, assemble

    log = tmp_path_factory.mktemp("embed") / "server.log"
    return LocalServer(assemble(), n_ctx=512, log_path=log, extra_args=args)


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory):
    with _server(tmp_path_factory, POOLING) as server:
        yield server


def test_one_flat_vector_per_input_from_a_real_server(embed_server):
    emb = ApiEmbedder("qwen2.5-coder-0.5b", embed_server.base_url, batch_size=2)
    texts = ["Bob works at Google.", "Bob is employed by Google.", "Night Tide premiered.",
             ""]
    vecs = emb.embed_documents(texts)
    assert vecs.shape == (4, emb.dim) and emb.dim > 100 and emb.calls == 2  # two batches
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs[:3] @ vecs[:3].T
    assert sims[0, 1] > sims[0, 2]  # paraphrases are closer than unrelated text
    before = emb.calls
    again = emb.embed_queries(["Bob works at Google."])  # alone, not in a batch: ~equal
    assert float(again[0] @ vecs[0]) > 0.999
    emb.embed_queries(["Bob works at Google."])
    assert emb.calls == before + 1  # a repeated query is answered from the cache


def test_server_without_pooling_is_refused_clearly(tmp_path_factory):
    with _server(tmp_path_factory, ["--embedding", "true"]) as server:
        emb = ApiEmbedder("qwen2.5-coder-0.5b", server.base_url)
        with pytest.raises(EmbeddingError, match="one vector per token.*pooling"):
            emb.embed_documents(["Bob works at Google."])


def test_memory_on_an_endpoint_indexes_searches_and_records_it(embed_server, tmp_path,
                                                                 embedder):
    where = tmp_path / "remote"
    conf = {"embedding_model": "qwen2.5-coder-0.5b",
            "embedding_base_url": embed_server.base_url}
    with Memory(where, **conf) as mem:
        mem.index(DOCS)
        assert mem.search("Who designed the Orrin Theatre?", k=3)[0].title == "Orrin Theatre"
        calls = mem.embedder.calls
        mem.index(DOCS)  # the same texts again: nothing is sent twice
        assert mem.embedder.calls == calls
        meta = mem.stats()
        assert meta["embedding_model"] == f"qwen2.5-coder-0.5b @ {embed_server.base_url}"
        assert mem.store.get_meta("embedding_dim") == str(mem.embedder.dim)
    with pytest.raises(StoreError, match="reembed"):  # MiniLM vectors would not fit
        Memory(where, embedder=embedder)

    # convert a local MiniLM store to the endpoint's model; the source stays as it was
    local = tmp_path / "local"
    with Memory(local, embedder=embedder) as mem:
        mem.index(DOCS)
        mem.add("Bob moved to Basel in 2024.")
        before = mem.stats()
    out = tmp_path / "converted"
    res = CliRunner().invoke(_app(), ["reembed", str(local), str(out), "--embedding-model",
                                      conf["embedding_model"], "--embedding-base-url",
                                      conf["embedding_base_url"], "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["dim"] > 384 and report["copied"]["vectors"] == before["vectors"]
    with Memory(out, **conf) as mem:
        after = mem.stats()
        for key in ("documents", "passages", "entities", "triples", "notes", "vectors"):
            assert after[key] == before[key], key
        assert mem.search("Where does Bob live now?", k=5)
    with Memory(local, embedder=embedder) as mem:
        assert mem.stats()["vectors"] == before["vectors"]


def _app():
    from graphmem.cli import app

    return app


def _reply(n: int, dim: int = 3, per_token: bool = False) -> str:
    vec = [[0.1] * dim, [0.2] * dim] if per_token else [0.1] * dim
    return json.dumps({"object": "list", "model": "m", "data": [
        {"object": "embedding", "index": i, "embedding": vec} for i in range(n)],
        "usage": {"prompt_tokens": 1, "total_tokens": 1}})


def test_faults_are_retried_or_refused_with_the_reason():
    with FakeLLM([Step(429, raw="{}", headers={"Retry-After": "0"}), Step(raw=_reply(2))]) as f:
        emb = ApiEmbedder("m", f.base_url, api_key="sk-secret-1")
        assert emb.embed_documents(["a", "b"]).shape == (2, 3) and len(f.requests) == 2
        assert "sk-secret" not in repr(emb)
    with FakeLLM([Step(raw=_reply(1))]) as f, \
            pytest.raises(EmbeddingError, match="1 vectors for 2 inputs"):  # too few
        ApiEmbedder("m", f.base_url).embed_documents(["a", "b"])
    with FakeLLM([Step(raw=_reply(1, per_token=True))]) as f, \
            pytest.raises(EmbeddingError, match="one vector per token"):
        ApiEmbedder("m", f.base_url).embed_documents(["a"])
    with FakeLLM([Step(raw=_reply(1, dim=3)), Step(raw=_reply(1, dim=4))]) as f:
        emb = ApiEmbedder("m", f.base_url)
        emb.embed_documents(["a"])
        with pytest.raises(EmbeddingError, match="dimension"):
            emb.embed_documents(["b"])
    with FakeLLM([Step(401, raw=json.dumps({"error": {"message": "bad key"}}))]) as f, \
            pytest.raises(EmbeddingError, match="HTTP 401"):
        ApiEmbedder("m", f.base_url, max_retries=1).embed_documents(["a"])
