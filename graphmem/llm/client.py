"""The LLM client: any OpenAI-compatible endpoint, cached, counted, retried, bounded.

Why a wrapper over the ``openai`` package rather than the package alone:

* **Cache, of good answers only.** Every call is stored in the memory's store under a
  hash of (model, messages, parameters), so re-indexing costs nothing and an interrupted
  run resumes without repeating a call. A JSON answer is cached only after it parsed and
  validated: a malformed answer is never served again from the cache.
* **Structured output that degrades only when the server cannot do it.** JSON is asked
  for with OpenAI's ``json_schema`` mode; a server that refuses it is asked with
  ``json_object`` plus the schema, then with the prompt alone. A mode is given up only
  when the server shows it cannot do it: a 400/422 naming ``response_format`` or the
  schema, or a 500 that repeats after retries on the mode's first use (llama.cpp's server
  answers ``json_schema`` with 500). Once a mode has worked, 5xx, 429 and timeouts are
  retried with backoff and the mode is kept. The mode that works is remembered per
  endpoint and model, in the process and in the store.
* **Bounds.** An answer longer than ``llm_max_reply_chars`` or with more than
  ``llm_max_items`` items in any list is rejected: counted, logged, and nothing of it is
  cached or stored.
* **Retries.** 429, 5xx, timeouts and dropped connections are retried with exponential
  backoff and jitter, honouring ``Retry-After``; a wrong key or an unknown model fails at
  once with a message that says what to fix. The API key is never logged.
* **Accounting.** Tokens, calls, cached calls and rejected answers per kind of call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from graphmem.config import Config, ConfigError
from graphmem.llm.errors import LLMError, LLMOutputError, LLMUnavailable
from graphmem.llm.jsonparse import parse_json
from graphmem.llm.retry import RETRY_STATUS, backoff, retry_after, short_error

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

MODES = ("json_schema", "json_object", "plain")
PROBE_RETRIES = 2
"""Retries of a 500 on a structured-output mode that has never worked, before giving it up."""
_MODE_WORDS = ("response_format", "json_schema", "schema", "json_object", "grammar",
               "structured")
_KNOWN_MODES: dict[tuple[str, str], int] = {}
_KNOWN_LOCK = threading.Lock()


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool


def _max_list(value: Any) -> int:
    """The length of the longest list anywhere inside a JSON value."""
    if isinstance(value, list):
        return max([len(value), *(_max_list(v) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_max_list(v) for v in value.values())])
    return 0


class LLMClient:
    """Calls one model at one endpoint; see the module docstring for what it adds."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 store: Any | None = None, timeout: float = 60.0, max_retries: int = 4,
                 concurrency: int = 4, max_tokens: int = 512, temperature: float = 0.0,
                 max_reply_chars: int = 32_000, max_items: int = 100,
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
        self.max_reply_chars = max_reply_chars
        self.max_items = max_items
        self._sleep = sleep
        self._mode_lock = threading.Lock()
        self._mode = self._remembered_mode()
        self._mode_ok: set[str] = set()
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
                   max_tokens=config.llm_max_tokens, temperature=config.llm_temperature,
                   max_reply_chars=config.llm_max_reply_chars, max_items=config.llm_max_items)

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def mode(self) -> str:
        return MODES[self._mode]

    # --- remembering the structured-output mode -------------------------------------
    def _mode_key(self) -> str:
        return f"llm_mode:{self.base_url}:{self.model}"

    def _remembered_mode(self) -> int:
        with _KNOWN_LOCK:
            if (self.base_url, self.model) in _KNOWN_MODES:
                return _KNOWN_MODES[(self.base_url, self.model)]
        if self.store is not None:
            try:
                saved = self.store.get_meta(self._mode_key())
            except Exception:  # noqa: BLE001 - a hint only
                saved = None
            if saved in MODES:
                return MODES.index(saved)
        return 0

    def _remember_mode(self) -> None:
        with _KNOWN_LOCK:
            _KNOWN_MODES[(self.base_url, self.model)] = self._mode
        if self.store is not None and not getattr(self.store, "read_only", False):
            try:
                self.store.set_meta(self._mode_key(), MODES[self._mode])
            except Exception as exc:  # noqa: BLE001 - a hint only
                log.debug("could not remember the LLM mode: %s", exc)

    # --- public calls ---------------------------------------------------------------
    def chat(self, kind: str, messages: list[dict[str, str]], max_tokens: int | None = None,
             refs: Iterable[str] = ()) -> str:
        """Plain text answer (cached)."""
        return self._call(kind, messages, None, max_tokens, refs)[1].text

    def chat_json(self, kind: str, messages: list[dict[str, str]], schema: dict[str, Any],
                  max_tokens: int | None = None, refs: Iterable[str] = ()) -> Any:
        """A JSON answer validated against ``schema``; LLMOutputError if it is not one (and
        then nothing is cached)."""
        value, _ = self._call(kind, messages, schema, max_tokens, refs)
        return value

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

    def _check(self, kind: str, text: str, schema: dict[str, Any] | None) -> Any:
        """The parsed answer, or LLMOutputError if it is too big, malformed or too long."""
        if len(text) > self.max_reply_chars:
            raise LLMOutputError(f"{kind}: answer of {len(text):,} characters is above the "
                                 f"limit of {self.max_reply_chars:,} (llm_max_reply_chars)")
        if schema is None:
            return text
        try:
            value = parse_json(text, schema)
        except LLMOutputError as exc:
            raise LLMOutputError(f"{kind}: {exc}") from None
        longest = _max_list(value)
        if longest > self.max_items:
            raise LLMOutputError(f"{kind}: answer lists {longest:,} items, above the limit of "
                                 f"{self.max_items} (llm_max_items)")
        return value

    def _reject(self, kind: str, exc: LLMOutputError) -> None:
        log.warning("rejected %s answer from %s: %s", kind, self.model, exc)
        if self.store is not None:
            self.store.kv.record_rejection(self.model, kind)

    def _call(self, kind: str, messages: list[dict[str, str]], schema: dict[str, Any] | None,
              max_tokens: int | None, refs: Iterable[str]) -> tuple[Any, Reply]:
        max_tokens = max_tokens or self.max_tokens
        key = self.cache_key(messages, schema, max_tokens)
        kv = self.store.kv if self.store is not None else None
        if kv is not None:
            hit = kv.cache_get(key)
            if hit is not None:
                data = json.loads(hit)
                try:
                    value = self._check(kind, data["text"], schema)
                except LLMOutputError:  # written by an older, laxer graphmem: ask again
                    value = None
                if value is not None:
                    reply = Reply(data["text"], data.get("prompt_tokens", 0),
                                  data.get("completion_tokens", 0), True)
                    kv.record_usage(self.model, kind, reply.prompt_tokens,
                                    reply.completion_tokens, cached=True)
                    return value, reply
        reply = self._live(kind, messages, schema, max_tokens)
        if kv is not None:
            kv.record_usage(self.model, kind, reply.prompt_tokens, reply.completion_tokens,
                            cached=False)
        try:
            value = self._check(kind, reply.text, schema)
        except LLMOutputError as exc:
            self._reject(kind, exc)
            raise
        if kv is not None:
            kv.cache_put(key, self.model, kind, json.dumps(
                {"text": reply.text, "prompt_tokens": reply.prompt_tokens,
                 "completion_tokens": reply.completion_tokens}), refs)
        return value, reply

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
        probes = 0
        while True:
            mode = MODES[self._mode] if schema is not None else "plain"
            try:
                resp = self._request(messages, schema, max_tokens, mode)
                text = resp.choices[0].message.content or ""
                usage = resp.usage
                if schema is not None and mode not in self._mode_ok:
                    self._mode_ok.add(mode)
                    self._remember_mode()
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
                status = exc.status_code
                if schema is not None and mode != "plain" and mode not in self._mode_ok:
                    refused = status in (400, 422) and _names_mode(exc)
                    if status in (500, 501) and probes < PROBE_RETRIES:
                        probes += 1
                        self._sleep(0.2 * probes)
                        continue
                    if refused or status in (500, 501):
                        self._downgrade(mode, status)
                        probes = 0
                        continue
                if status not in RETRY_STATUS or attempt >= self.max_retries:
                    raise LLMError(f"{kind} call failed: HTTP {status} from {self.base_url}: "
                                   f"{short_error(exc)}") from None
                wait = retry_after(exc.response) or backoff(attempt)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if attempt >= self.max_retries:
                    what = "timed out" if isinstance(exc, openai.APITimeoutError) else \
                        "could not connect"
                    tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                    raise LLMUnavailable(f"cannot reach the LLM endpoint {self.base_url} "
                                         f"({what} after {tries})") from None
                wait = backoff(attempt)
            attempt += 1
            log.warning("%s call to %s failed; retry %d/%d in %.1fs", kind, self.base_url,
                        attempt, self.max_retries, wait)
            self._sleep(wait)

    def _downgrade(self, mode: str, status: int) -> None:
        """The server showed it cannot do ``mode``: use the next weaker one from now on."""
        with self._mode_lock:
            if MODES[self._mode] == mode and self._mode < len(MODES) - 1:
                self._mode += 1
                log.info("endpoint %s cannot do %s output (HTTP %d); using %s", self.base_url,
                         mode, status, MODES[self._mode])
                self._remember_mode()


def _names_mode(exc: Exception) -> bool:
    """Whether an error's text says the structured-output request itself was the problem."""
    body = json.dumps(getattr(exc, "body", None) or "") + str(getattr(exc, "message", ""))
    low = body.lower()
    return any(w in low for w in _MODE_WORDS)
