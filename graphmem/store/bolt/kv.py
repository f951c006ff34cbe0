"""The embedding cache and the key-value side (LLM cache, usage, ingest log) on Bolt.

They live on the server with the rest of the memory: every process and machine sharing
the memory shares what was already embedded and what the LLM was already paid for, and
``graphmem migrate`` carries them along. None of these writes moves the generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from graphmem.store.base import KVStore, VectorStore
from graphmem.store.bolt.codec import decode
from graphmem.store.bolt.conn import Bolt, Tx
from graphmem.store.sqlite.schema import now
from graphmem.types import IngestProblem

USAGE_KEYS = ("model", "kind", "calls", "cached_calls", "prompt_tokens", "completion_tokens",
              "rejected")


class BoltVectors(VectorStore):
    def __init__(self, db: Bolt) -> None:
        self.db = db

    def missing(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        if not keys:
            return set()
        rows = self.db.q("UNWIND $keys AS k MATCH (v:GMVector {key: k}) WHERE v.vec IS NOT NULL "
                         "RETURN v.key AS k", keys=list(keys))
        return keys - {r["k"] for r in rows}

    def get(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        rows = self.db.q("UNWIND $keys AS k MATCH (v:GMVector {key: k}) WHERE v.vec IS NOT NULL "
                         "RETURN v.key AS k, v.vec AS vec", keys=list(set(keys)))
        return {r["k"]: decode(r["vec"]) for r in rows}


class BoltKV(KVStore):
    def __init__(self, db: Bolt) -> None:
        self.db = db

    def _w(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        return self.db.write(lambda t: t.run(cypher, **params))

    def cache_get(self, key: str) -> str | None:
        rows = self.db.q("MATCH (c:GMCache {key: $k}) RETURN c.response AS r", k=key)
        return rows[0]["r"] if rows else None

    def cache_put(self, key: str, model: str, kind: str, response: str,
                  refs: Iterable[str] = ()) -> None:
        self._w("MERGE (c:GMCache {key: $k}) SET c.model = $m, c.kind = $kind, c.response = $r, "
                "c.created_at = $at, c.refs = $refs", k=key, m=model, kind=kind, r=response,
                at=now(), refs=list(dict.fromkeys(refs)))

    def cache_clear(self, kind: str | None = None) -> int:
        where = " WHERE c.kind = $kind" if kind else ""
        rows = self._w(f"MATCH (c:GMCache){where} WITH c, c.key AS k DELETE c "
                       "RETURN count(k) AS n", kind=kind)
        return int(rows[0]["n"]) if rows else 0

    def cache_stats(self) -> list[dict[str, Any]]:
        rows = self.db.q("MATCH (c:GMCache) RETURN c.model AS model, c.kind AS kind, "
                         "count(c) AS entries, sum(size(c.response)) AS bytes "
                         "ORDER BY model, kind")
        return [{"model": r["model"], "kind": r["kind"], "entries": int(r["entries"]),
                 "bytes": int(r["bytes"] or 0)} for r in rows]

    def record_usage(self, model: str, kind: str, prompt_tokens: int, completion_tokens: int,
                     cached: bool) -> None:
        self._w("MERGE (u:GMUsage {model: $m, kind: $k}) ON CREATE SET u.calls = 0, "
                "u.cached_calls = 0, u.prompt_tokens = 0, u.completion_tokens = 0, "
                "u.rejected = 0 SET u.calls = u.calls + $c, u.cached_calls = u.cached_calls + $cc,"
                " u.prompt_tokens = u.prompt_tokens + $p, "
                "u.completion_tokens = u.completion_tokens + $o",
                m=model, k=kind, c=0 if cached else 1, cc=1 if cached else 0,
                p=0 if cached else prompt_tokens, o=0 if cached else completion_tokens)

    def record_rejection(self, model: str, kind: str) -> None:
        self._w("MERGE (u:GMUsage {model: $m, kind: $k}) ON CREATE SET u.calls = 0, "
                "u.cached_calls = 0, u.prompt_tokens = 0, u.completion_tokens = 0, "
                "u.rejected = 0 SET u.rejected = u.rejected + 1", m=model, k=kind)

    def usage(self) -> list[dict[str, Any]]:
        rows = self.db.q("MATCH (u:GMUsage) RETURN properties(u) AS u ORDER BY u.model, u.kind")
        return [{k: r["u"].get(k, 0) for k in USAGE_KEYS} for r in rows]

    def log_ingest(self, run_id: str, problems: list[IngestProblem]) -> None:
        if not problems:
            return

        def fn(t: Tx) -> None:
            base = t.run("MATCH (s:GMStore {key: 'store'}) SET s.log_seq = "
                         "coalesce(s.log_seq, 0) + $n RETURN s.log_seq - $n AS b",
                         n=len(problems))[0]["b"]
            t.run("UNWIND $rows AS r CREATE (:GMLog {seq: r.seq, run_id: $run, source: r.src, "
                  "status: r.status, reason: r.reason, created_at: $at})", run=run_id, at=now(),
                  rows=[{"seq": base + i, "src": p.source, "status": p.status,
                         "reason": p.reason} for i, p in enumerate(problems)])

        self.db.write(fn)

    def ingest_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.q("MATCH (x:GMLog) RETURN x.run_id AS run_id, x.source AS source, "
                         "x.status AS status, x.reason AS reason, x.created_at AS created_at "
                         "ORDER BY x.seq DESC LIMIT $n", n=int(limit))
        return [dict(r) for r in rows]
