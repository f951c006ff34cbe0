"""The LLM client: any OpenAI-compatible endpoint, cached, counted, retried, concurrent.

Why a wrapper over the ``openai`` package rather than the package alone:

* **Cache.** Every call is stored in the memory's store under a hash of (model, messages,
  parameters), so re-indexing costs nothing and an interrupted run resumes without
  repeating a call.
* **Structured output that degrades.** JSON is asked for with OpenAI's ``json_schema``
  mode; servers that refuse it (llama.cpp answers HTTP 500) are asked with ``json_object``
  plus the schema, then with the prompt alone. The mode that worked is remembered. The
  answer is always parsed defensively and validated (``jsonparse``).
* **Retries.** 429, 5xx, timeouts and dropped connections are retried with exponential
  backoff and jitter, honouring ``Retry-After``; a wrong key or an unknown model fails at
  once with a message that says what to fix, and an unreachable endpoint says where it
  looked. The API key is never logged.
* **Accounting.** Prompt and completion tokens and calls are counted per kind of call
  (ner, triples, filter, answer, step, evolution) in the store.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from graphmem.config import Config, ConfigError
from graphmem.llm.errors import LLMError, LLMOutputError, LLMUnavailable
from graphmem.llm.jsonparse import parse_json

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

MODES = ("json_schema", "json_object", "plain")
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF = 30.0


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool


class LLMClient:
    """Calls one model at one endpoint; see the module docstring for what it adds."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 store: Any | None = None, timeout: float = 60.0, max_retries: int = 4,
                 concurrency: int = 4, max_tokens: int = 512, temperature: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from openai import OpenAI

        if not model:
            raise ConfigError("an LLM model name is needed (GRAPHMEM_LLM_MODEL)")
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.store = store
        self.max_retries = max_retries
        self.concurrency = max(1, concurrency)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._sleep = sleep
        self._mode = 0
        self._mode_lock = threading.Lock()
        self._client = OpenAI(base_url=self.base_url, api_key=api_key or "no-key-needed",
                              timeout=timeout, max_retries=0)

    @classmethod
    def from_config(cls, config: Config, store: Any | None = None) -> LLMClient:
        if not config.llm_configured:
            raise ConfigError("no LLM configured: set GRAPHMEM_LLM_MODEL and "
                              "GRAPHMEM_LLM_BASE_URL (or OPENAI_API_KEY)")
        return cls(model=config.llm_model or "", base_url=config.llm_base_url,
                   api_key=config.llm_api_key, store=store, timeout=config.llm_timeout,
                   max_retries=config.llm_max_retries, concurrency=config.llm_concurrency,
                   max_tokens=config.llm_max_tokens, temperature=config.llm_temperature)

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, base_url={self.base_url!r})"

    # --- public calls ---------------------------------------------------------------
    def chat(self, kind: str, messages: list[dict[str, str]],
             max_tokens: int | None = None) -> str:
        """Plain text answer (cached)."""
        return self._call(kind, messages, None, max_tokens).text

    def chat_json(self, kind: str, messages: list[dict[str, str]], schema: dict[str, Any],
                  max_tokens: int | None = None) -> Any:
        """A JSON answer validated against ``schema``; LLMOutputError if it is not one."""
        reply = self._call(kind, messages, schema, max_tokens)
        try:
            return parse_json(reply.text, schema)
        except LLMOutputError as exc:
            raise LLMOutputError(f"{kind}: {exc}") from None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over items with at most ``concurrency`` calls in flight, order kept."""
        items = list(items)
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(fn, items))

    # --- machinery ------------------------------------------------------------------
    def cache_key(self, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                  max_tokens: int) -> str:
        payload = {"model": self.model, "messages": messages, "schema": schema,
                   "max_tokens": max_tokens, "temperature": self.temperature}
        return hashlib.sha256(json.dumps(payload, sort_keys=True,
                                         ensure_ascii=False).encode()).hexdigest()

    def _call(self, kind: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
              max_tokens: int | None) -> Reply:
        max_tokens = max_tokens or self.max_tokens
        key = self.cache_key(messages, schema, max_tokens)
        if self.store is not None:
            hit = self.store.cache_get(key)
            if hit is not None:
                data = json.loads(hit)
                self.store.record_usage(self.model, kind, data.get("prompt_tokens", 0),
                                        data.get("completion_tokens", 0), cached=True)
                return Reply(data["text"], data.get("prompt_tokens", 0),
                             data.get("completion_tokens", 0), True)
        reply = self._live(kind, messages, schema, max_tokens)
        if self.store is not None:
            self.store.cache_put(key, self.model, kind, json.dumps(
                {"text": reply.text, "prompt_tokens": reply.prompt_tokens,
                 "completion_tokens": reply.completion_tokens}))
            self.store.record_usage(self.model, kind, reply.prompt_tokens,
                                    reply.completion_tokens, cached=False)
        return reply

    def _request(self, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                 max_tokens: int, mode: str) -> Any:
        extra: dict[str, Any] = {}
        if schema is not None and mode == "json_schema":
            extra["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": schema, "strict": False}}
        elif schema is not None and mode == "json_object":
            extra["response_format"] = {"type": "json_object", "schema": schema}
        return self._client.chat.completions.create(
            model=self.model, messages=messages, max_tokens=max_tokens,  # type: ignore[arg-type]
            temperature=self.temperature, **extra)

    def _live(self, kind: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
              max_tokens: int) -> Reply:
        import openai

        attempt = 0
        while True:
            mode = MODES[self._mode] if schema is not None else "plain"
            try:
                resp = self._request(messages, schema, max_tokens, mode)
                text = resp.choices[0].message.content or ""
                usage = resp.usage
                return Reply(text, getattr(usage, "prompt_tokens", 0) or 0,
                             getattr(usage, "completion_tokens", 0) or 0, False)
            except openai.AuthenticationError as exc:
                raise LLMUnavailable(f"the LLM endpoint {self.base_url} refused the API key "
                                     f"(HTTP {exc.status_code}); check GRAPHMEM_LLM_API_KEY "
                                     "or OPENAI_API_KEY") from None
            except openai.PermissionDeniedError as exc:
                raise LLMUnavailable(f"the LLM endpoint {self.base_url} denied access to model "
                                     f"{self.model!r} (HTTP {exc.status_code})") from None
            except openai.NotFoundError:
                raise LLMUnavailable(f"model {self.model!r} or the chat API was not found at "
                                     f"{self.base_url} (HTTP 404); check GRAPHMEM_LLM_MODEL "
                                     "and GRAPHMEM_LLM_BASE_URL") from None
            except openai.APIStatusError as exc:
                if schema is not None and self._downgrade(mode, exc.status_code):
                    continue
                if exc.status_code not in RETRY_STATUS or attempt >= self.max_retries:
                    raise LLMError(f"{kind} call failed: HTTP {exc.status_code} from "
                                   f"{self.base_url}: {_short(exc)}") from None
                wait = _retry_after(exc.response) or _backoff(attempt)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if attempt >= self.max_retries:
                    what = "timed out" if isinstance(exc, openai.APITimeoutError) else \
                        "could not connect"
                    tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                    raise LLMUnavailable(f"cannot reach the LLM endpoint {self.base_url} "
                                         f"({what} after {tries})") from None
                wait = _backoff(attempt)
            attempt += 1
            log.warning("%s call to %s failed; retry %d/%d in %.1fs", kind, self.base_url,
                        attempt, self.max_retries, wait)
            self._sleep(wait)

    def _downgrade(self, mode: str, status: int) -> bool:
        """After a refused structured-output request, try the next weaker mode."""
        if mode == "plain" or status not in (400, 422, 500, 501):
            return False
        with self._mode_lock:
            if MODES[self._mode] == mode:
                self._mode += 1
                log.info("endpoint %s refused %s output (HTTP %d); using %s", self.base_url,
                         mode, status, MODES[self._mode])
        return True


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF, 0.5 * 2 ** attempt) + random.uniform(0, 0.5)


def _retry_after(response: Any) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at 60."""
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return min(60.0, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(60.0, max(0.0, when.timestamp() - time.time()))


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return text.replace("\n", " ")[:200]
