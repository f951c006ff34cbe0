"""The operations the servers offer, once, over one shared :class:`~graphmem.Memory`.

Why a layer between the servers and ``Memory``: REST and MCP expose the same nine
operations with the same inputs, JSON results and errors. Each function here validates
what a remote caller sent (types, sizes, non-empty text), calls ``Memory`` and returns
plain JSON; every failure a caller can cause becomes an :class:`OpError` with an HTTP-like
status and a message to act on, so neither server ever answers with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from graphmem import jsonable
from graphmem.config import ConfigError
from graphmem.errors import InputError
from graphmem.llm.errors import LLMError
from graphmem.store.base import NotFound, ReadOnlyStore, StoreError

log = logging.getLogger(__name__)

MAX_K = 100
MAX_TEXT = 1_000_000


class OpError(Exception):
    """A request that cannot be served, with the status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OpError(422, f"{what} must be a non-empty string")
    if len(value) > limit:
        raise OpError(413, f"{what} is {len(value):,} characters; the limit is {limit:,}")
    return value


def _k(k: Any) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise OpError(422, f"k must be an integer from 1 to {MAX_K}")
    return k


def guarded(fn: Any) -> Any:
    """Map the errors of the rooms below to OpError (and log the unexpected ones)."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpError:
            raise
        except NotFound as exc:
            raise OpError(404, str(exc)) from None
        except (InputError, ConfigError) as exc:
            raise OpError(422, str(exc)) from None
        except ReadOnlyStore as exc:
            raise OpError(409, str(exc)) from None
        except LLMError as exc:
            raise OpError(502, str(exc)) from None
        except StoreError as exc:
            raise OpError(409 if "already" in str(exc) or "rewritten" in str(exc) else 503,
                          str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a server answers, it does not crash
            log.exception("internal error in %s", fn.__name__)
            raise OpError(500, f"internal error ({type(exc).__name__}); see the server "
                               "log") from None
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class Service:
    """The operations, bound to one memory."""

    def __init__(self, memory: Any) -> None:
        from graphmem.retrieval.ppr import load_kernels

        self.memory = memory
        load_kernels()  # a server walks many times: numba's kernels from the first request

    @guarded
    def search(self, query: str, k: int = 5, recipe: str | None = None, namespace: str = "",
               filters: dict[str, Any] | None = None, as_of: str | None = None,
               since: str | None = None, until: str | None = None) -> dict[str, Any]:
        hits = self.memory.search(_text(query, "query", 10_000), k=_k(k), recipe=recipe,
                                  namespace=namespace or "", filters=filters or None,
                                  as_of=as_of, since=since, until=until)
        return {"query": query, "hits": [jsonable.hit(h) for h in hits]}

    @guarded
    def ask(self, question: str, k: int = 5, multi_hop: bool = False,
            recipe: str | None = None, namespace: str = "",
            filters: dict[str, Any] | None = None, as_of: str | None = None,
            since: str | None = None, until: str | None = None) -> dict[str, Any]:
        ans = self.memory.ask(_text(question, "question", 10_000), k=_k(k),
                              multi_hop=bool(multi_hop), recipe=recipe,
                              namespace=namespace or "", filters=filters or None,
                              as_of=as_of, since=since, until=until)
        return jsonable.answer(ans)

    @guarded
    def add_memory(self, text: str, timestamp: str | None = None,
                   metadata: dict[str, Any] | None = None,
                   namespace: str = "") -> dict[str, Any]:
        if metadata is not None and not isinstance(metadata, dict):
            raise OpError(422, "metadata must be an object")
        added = self.memory.add(_text(text, "text"), timestamp=timestamp, metadata=metadata,
                                namespace=namespace or "")
        return jsonable.added(added)

    @guarded
    def index_text(self, title: str, text: str, namespace: str = "",
                   metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        record = {"title": title or "", "text": _text(text, "text"), **(metadata or {})}
        report = self.memory.index([record], namespace=namespace or "")
        out = jsonable.plain(report)
        out.pop("new_passage_ids", None)
        docs = self.memory.store.graph.documents(namespace=namespace or "")
        out["doc_id"] = next((d.id for d in reversed(docs) if d.title == (title or "")), None)
        return out

    @guarded
    def get_note(self, note_id: str) -> dict[str, Any]:
        return jsonable.plain(self.memory.note(_text(note_id, "note_id", 200)))

    @guarded
    def history(self, note_id: str) -> dict[str, Any]:
        versions = self.memory.history(_text(note_id, "note_id", 200))
        return {"note_id": note_id, "versions": jsonable.plain(versions)}

    @guarded
    def revert(self, event_id: str) -> dict[str, Any]:
        restored = self.memory.revert(_text(event_id, "event_id", 200))
        return {"event_id": event_id, "restored": restored}

    @guarded
    def delete_document(self, doc_id: str) -> dict[str, Any]:
        return jsonable.plain(self.memory.delete(_text(doc_id, "doc_id", 200)))

    @guarded
    def stats(self) -> dict[str, Any]:
        s = self.memory.stats()
        return {**s, "llm_usage": self.memory.store.kv.usage()}
