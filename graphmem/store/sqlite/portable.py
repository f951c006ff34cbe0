"""Dump and load the SQLite store as the logical tables of ``store/portable.py``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from graphmem.store.portable import TABLES, Rows

_GEN_TABLES = {"documents", "passages", "entities", "mentions", "triples", "triple_sources",
               "synonyms", "notes", "links"}


def dump(store: Any, table: str, chunk: int) -> Iterator[Rows]:
    cols = [c for c in TABLES[table] if c != "refs"]
    with store.db.read() as c:
        cur = c.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid")
        while True:
            part = cur.fetchmany(chunk)
            if not part:
                return
            rows = [dict(zip(cols, r, strict=True)) for r in part]
            if table == "llm_cache":
                refs: dict[str, list[str]] = {}
                keys = [r["key"] for r in rows]
                for key, pid in store.db.in_ids(
                        c, "SELECT key, passage_id FROM llm_cache_refs WHERE key IN ({})", keys):
                    refs.setdefault(key, []).append(pid)
                for r in rows:
                    r["refs"] = refs.get(r["key"], [])
            yield rows


def load(store: Any, table: str, rows: Rows) -> None:
    cols = [c for c in TABLES[table] if c != "refs"]
    if table in _GEN_TABLES:
        cols = [*cols, "gen"]
        rows = [{**r, "gen": 1} for r in rows]
    marks = ", ".join("?" * len(cols))
    with store.db.write() as tx:
        if table == "meta":
            tx.c.executemany("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO "
                             "UPDATE SET value=excluded.value",
                             [(r["key"], str(r["value"])) for r in rows])
            return
        tx.c.executemany(f"INSERT OR IGNORE INTO {table}({', '.join(cols)}) VALUES({marks})",
                         [tuple(_cell(r.get(c)) for c in cols) for r in rows])
        if table == "llm_cache":
            tx.c.executemany("INSERT OR IGNORE INTO llm_cache_refs(key, passage_id) "
                             "VALUES(?, ?)", [(r["key"], p) for r in rows
                                              for p in r.get("refs") or []])


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def finish(store: Any) -> None:
    """Every copied row is generation 1, and no snapshot of the empty store survives."""
    with store.db.write() as tx:
        tx.gen = max(tx.gen, 1)
        tx.destructive = True
