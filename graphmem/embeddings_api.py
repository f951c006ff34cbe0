"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama,
llama.cpp ``--embedding``), in place of the bundled MiniLM.

Why a separate embedder and not a flag on the local ones: a remote model has no tokenizer
or weights here, answers over the network, and fails in network ways. What it must do:

* **Batching.** Texts go in batches of ``batch_size`` (one request each), so indexing a
  corpus costs a request per batch, not per string.
* **Retries.** 429, 5xx, timeouts and dropped connections are retried with exponential
  backoff (honouring ``Retry-After``); anything else is an :class:`EmbeddingError` that
  names the endpoint and the status, never the key.
* **One flat vector per input, checked.** Servers without a pooling setting (llama.cpp on
  a model with no pooling metadata) answer with one vector *per token*; others reorder the
  batch, return fewer rows, or change dimension between calls. Each of these is refused
  with a message that says what to change, never stored.
* **Caching.** Documents are cached by the store under a hash of their text (an unchanged
  string is never sent twice, across runs); queries are cached here, in a small in-process
  LRU, because an agent repeats them.

Vectors are L2-normalised like the local models', so scores mean the same everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from graphmem.embeddings import EmbeddingError, text_hash
from graphmem.llm.retry import RETRY_STATUS, backoff, retry_after, short_error

log = logging.getLogger(__name__)

QUERY_CACHE = 1024


class ApiEmbedder:
    """An :class:`~graphmem.embeddings.Embedder` backed by ``POST {base_url}/embeddings``."""

    def __init__(self, model_name: str, base_url: str, api_key: str | None = None,
                 batch_size: int = 64, timeout: float = 60.0, max_retries: int = 4,
                 dim: int | None = None) -> None:
        import openai

        self.model_name = model_name
        self.base_url = base_url.rstrip("/")
        self.batch_size = max(1, batch_size)
        self.max_retries = max_retries
        self.calls = 0
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "no-key-needed",
                                     timeout=timeout, max_retries=0)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._dim = dim

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return f"ApiEmbedder(model={self.model_name!r}, base_url={self.base_url!r})"

    @property
    def dim(self) -> int:
        """The endpoint's dimension (asked once, with a one-word probe, if not yet seen)."""
        if self._dim is None:
            self._call(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        parts = [self._call(texts[i:i + self.batch_size])
                 for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        keys = [text_hash(t) for t in texts]
        with self._lock:
            known = {k: self._queries[k] for k in keys if k in self._queries}
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        if todo:
            fresh = self.embed_documents(todo)
            with self._lock:
                for t, v in zip(todo, fresh, strict=True):
                    known[text_hash(t)] = v
                    self._queries[text_hash(t)] = v
                while len(self._queries) > QUERY_CACHE:
                    self._queries.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([known[k] for k in keys])

    # --- one request ----------------------------------------------------------------
    def _call(self, texts: list[str]) -> np.ndarray:
        resp = self._request([t if t.strip() else " " for t in texts])
        return self._check(resp, len(texts))

    def _request(self, texts: list[str]) -> Any:
        import openai

        attempt = 0
        while True:
            try:
                self.calls += 1
                return self._client.embeddings.create(model=self.model_name, input=texts,
                                                      encoding_format="float")
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status not in RETRY_STATUS or attempt >= self.max_retries:
                    raise EmbeddingError(f"embedding call failed: HTTP {status} from "
                                         f"{self.base_url}: {short_error(exc)}") from None
                wait = retry_after(exc.response) or backoff(attempt)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if attempt >= self.max_retries:
                    what = "timed out" if isinstance(exc, openai.APITimeoutError) else \
                        "could not connect"
                    raise EmbeddingError(f"cannot reach the embedding endpoint {self.base_url} "
                                         f"({what} after {attempt + 1} attempts)") from None
                wait = backoff(attempt)
            except openai.OpenAIError as exc:  # e.g. a reply that is not JSON
                raise EmbeddingError(f"unusable reply from the embedding endpoint "
                                     f"{self.base_url}: {short_error(exc)}") from None
            attempt += 1
            log.warning("embedding call to %s failed; retry %d/%d in %.1fs", self.base_url,
                        attempt, self.max_retries, wait)
            time.sleep(wait)

    def _check(self, resp: Any, n: int) -> np.ndarray:
        data = sorted(getattr(resp, "data", None) or [], key=lambda d: d.index)
        if len(data) != n or [d.index for d in data] != list(range(n)):
            raise EmbeddingError(f"the embedding endpoint {self.base_url} returned {len(data)} "
                                 f"vectors for {n} inputs")
        rows = []
        for d in data:
            vec = d.embedding
            if isinstance(vec, list) and vec and isinstance(vec[0], list):
                raise EmbeddingError(
                    f"the embedding endpoint {self.base_url} returned one vector per token "
                    f"({len(vec)} for one input), not one per text: the server does no "
                    "pooling. Turn pooling on (llama.cpp: `--pooling mean`; llama-cpp-python: "
                    "a model whose GGUF sets pooling_type, or "
                    "`--kv_overrides <arch>.pooling_type=int:1`)")
            if not isinstance(vec, list) or not vec or \
                    not all(isinstance(x, int | float) for x in vec):
                raise EmbeddingError(f"the embedding endpoint {self.base_url} returned a "
                                     "vector that is not a list of numbers")
            rows.append(vec)
        dims = {len(r) for r in rows}
        if len(dims) != 1 or (self._dim is not None and dims != {self._dim}):
            raise EmbeddingError(f"the embedding endpoint {self.base_url} returned vectors of "
                                 f"dimension {sorted(dims)}, expected {self._dim or 'one size'}")
        out = np.asarray(rows, dtype=np.float32)
        if not np.isfinite(out).all():
            raise EmbeddingError(f"the embedding endpoint {self.base_url} returned NaN or "
                                 "infinite values")
        self._dim = out.shape[1]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
