"""The SQLite key-value side: LLM response cache, token usage, ingest log.

None of this is read by retrieval, so no write here moves the store's generation: an
``ask`` or an extraction run never makes the next search rebuild its graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphmem.store.base import KVStore
from graphmem.store.sqlite.db import Database
from graphmem.store.sqlite.schema import now
from graphmem.types import IngestProblem

USAGE_KEYS = ("model", "kind", "calls", "cached_calls", "prompt_tokens", "completion_tokens",
              "rejected")


class SQLiteKV(KVStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def cache_get(self, key: str) -> str | None:
        row = self.db.one("SELECT response FROM llm_cache WHERE key=?", (key,))
        return row[0] if row else None

    def cache_put(self, key: str, model: str, kind: str, response: str,
                  refs: Iterable[str] = ()) -> None:
        with self.db.write() as tx:
            tx.c.execute("INSERT OR REPLACE INTO llm_cache(key, model, kind, response, "
                         "created_at) VALUES(?,?,?,?,?)", (key, model, kind, response, now()))
            tx.c.executemany("INSERT OR IGNORE INTO llm_cache_refs(key, passage_id) VALUES(?,?)",
                             [(key, p) for p in dict.fromkeys(refs)])

    def cache_clear(self, kind: str | None = None) -> int:
        with self.db.write() as tx:
            if kind is None:
                n = tx.c.execute("DELETE FROM llm_cache").rowcount
                tx.c.execute("DELETE FROM llm_cache_refs")
            else:
                tx.c.execute("DELETE FROM llm_cache_refs WHERE key IN (SELECT key FROM "
                             "llm_cache WHERE kind=?)", (kind,))
                n = tx.c.execute("DELETE FROM llm_cache WHERE kind=?", (kind,)).rowcount
        return n

    def cache_stats(self) -> list[dict[str, Any]]:
        rows = self.db.q("SELECT model, kind, COUNT(*), SUM(LENGTH(response)) FROM llm_cache "
                         "GROUP BY model, kind ORDER BY model, kind")
        return [{"model": r[0], "kind": r[1], "entries": r[2], "bytes": r[3] or 0}
                for r in rows]

    def record_usage(self, model: str, kind: str, prompt_tokens: int, completion_tokens: int,
                     cached: bool) -> None:
        with self.db.write() as tx:
            tx.c.execute(
                "INSERT INTO llm_usage(model, kind, calls, cached_calls, prompt_tokens, "
                "completion_tokens) VALUES(?,?,?,?,?,?) ON CONFLICT(model, kind) DO UPDATE SET "
                "calls = calls + excluded.calls, cached_calls = cached_calls + "
                "excluded.cached_calls, prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = completion_tokens + excluded.completion_tokens",
                (model, kind, 0 if cached else 1, 1 if cached else 0,
                 0 if cached else prompt_tokens, 0 if cached else completion_tokens))

    def record_rejection(self, model: str, kind: str) -> None:
        with self.db.write() as tx:
            tx.c.execute(
                "INSERT INTO llm_usage(model, kind, calls, cached_calls, prompt_tokens, "
                "completion_tokens, rejected) VALUES(?,?,0,0,0,0,1) ON CONFLICT(model, kind) "
                "DO UPDATE SET rejected = rejected + 1", (model, kind))

    def usage(self) -> list[dict[str, Any]]:
        rows = self.db.q("SELECT model, kind, calls, cached_calls, prompt_tokens, "
                         "completion_tokens, rejected FROM llm_usage ORDER BY model, kind")
        return [dict(zip(USAGE_KEYS, r, strict=True)) for r in rows]

    def log_ingest(self, run_id: str, problems: list[IngestProblem]) -> None:
        if not problems:
            return
        stamp = now()
        with self.db.write() as tx:
            tx.c.executemany("INSERT INTO ingest_log(run_id, source, status, reason, created_at) "
                             "VALUES(?,?,?,?,?)",
                             [(run_id, p.source, p.status, p.reason, stamp) for p in problems])

    def ingest_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.q("SELECT run_id, source, status, reason, created_at FROM ingest_log "
                         "ORDER BY id DESC LIMIT ?", (limit,))
        keys = ("run_id", "source", "status", "reason", "created_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]
