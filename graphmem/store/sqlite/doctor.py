"""``graphmem doctor``: check a SQLite store thoroughly, and repair what is safe to repair.

Why separate from opening: opening a store runs only cheap checks (header, tables,
identity) so every command starts fast; the doctor reads every page (SQLite's
``integrity_check``), counts what is there, and finds inconsistencies the open cannot see
(mentions of passages that are gone, version rows pointing at no event, ...). What it
repairs is only what loses nothing the user gave: bookkeeping tables re-created empty,
missing indexes, rows that point at nothing, stale graph caches. Anything else is
reported with what to do.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from graphmem.store.sqlite.schema import (
    BOOKKEEPING_TABLES,
    CORE_TABLES,
    DB_NAME,
    INDEXES_V2,
    TABLES_V2,
    backup,
    existing_tables,
    read_identity,
)

ORPHAN_CHECKS = {
    "mentions of missing passages":
        ("mentions", "passage_id NOT IN (SELECT id FROM passages)"),
    "mentions of missing entities":
        ("mentions", "entity_id NOT IN (SELECT id FROM entities)"),
    "fact sources of missing passages":
        ("triple_sources", "passage_id NOT IN (SELECT id FROM passages)"),
    "links to missing notes":
        ("links", "src NOT IN (SELECT id FROM notes) OR dst NOT IN (SELECT id FROM notes)"),
    "synonyms of missing entities":
        ("synonyms", "a NOT IN (SELECT id FROM entities) OR b NOT IN (SELECT id FROM entities)"),
    "note versions of missing notes":
        ("note_versions", "note_id NOT IN (SELECT id FROM notes)"),
    "note versions pointing at no event":
        ("note_versions", "event_id IS NOT NULL AND event_id NOT IN (SELECT id FROM events) "
                          "AND event_id NOT IN (SELECT id FROM deletions) AND event_id NOT LIKE "
                          "'revert:%' AND event_id NOT LIKE 'del:%'"),
}


@dataclass
class Report:
    path: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    repairable: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    backup: str | None = None


def examine(directory: Path, repair: bool = False) -> Report:
    """Check the store in ``directory``; with ``repair``, fix what is safely fixable
    (after a backup copy of the database)."""
    db = directory / DB_NAME
    rep = Report(str(db))
    if not db.exists():
        rep.ok = False
        ident = read_identity(directory)
        rep.problems.append(f"{DB_NAME} is missing" + (
            f" (this directory was store {ident.get('uuid')})" if ident else ""))
        return rep
    if db.stat().st_size == 0:
        rep.ok = False
        rep.problems.append(f"{DB_NAME} is empty (0 bytes): restore it from a backup")
        return rep
    try:
        conn = sqlite3.connect(str(db), isolation_level=None)
        check = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        rep.ok = False
        rep.problems.append(f"not a readable SQLite database ({exc}): restore it from a backup")
        return rep
    try:
        if check != ["ok"]:
            rep.ok = False
            rep.problems += [f"integrity: {c}" for c in check]
        tables = existing_tables(conn)
        for t in CORE_TABLES:
            if t not in tables:
                rep.ok = False
                rep.problems.append(f"table {t} is missing: its data is lost; restore the "
                                    "store from a backup")
        for t in BOOKKEEPING_TABLES:
            if t not in tables:
                rep.repairable.append(f"re-create the missing bookkeeping table {t} (empty)")
        for name in ("documents", "passages", "entities", "triples", "notes", "events",
                     "vectors", "links"):
            if name in tables:
                rep.counts[name] = conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        for what, (table, where) in ORPHAN_CHECKS.items():
            if table not in tables:
                continue
            try:
                n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if n:
                rep.repairable.append(f"delete {n} {what}")
        cache = directory / "cache"
        if cache.is_dir() and any(cache.iterdir()):
            rep.repairable.append("clear the graph cache (rebuilt on the next search)")
        if repair and rep.repairable and not any(p.startswith("table ") for p in rep.problems):
            rep.backup = str(backup(directory, conn, "doctor"))
            _repair(conn, tables, rep)
            if cache.is_dir():
                shutil.rmtree(cache, ignore_errors=True)
                rep.repaired.append("cleared the graph cache")
    finally:
        conn.close()
    rep.ok = rep.ok and not rep.problems
    return rep


def _repair(conn: sqlite3.Connection, tables: set[str], rep: Report) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in (TABLES_V2 + INDEXES_V2).split(";"):
            if stmt.strip():
                conn.execute(stmt)
        for t in BOOKKEEPING_TABLES:
            if t not in tables:
                rep.repaired.append(f"re-created table {t}")
        for what, (table, where) in ORPHAN_CHECKS.items():
            if table in tables:
                n = conn.execute(f"DELETE FROM {table} WHERE {where}").rowcount
                if n:
                    rep.repaired.append(f"deleted {n} {what}")
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key IN "
                     "('generation', 'destructive_gen')")
        conn.execute("UPDATE meta SET value = (SELECT value FROM meta WHERE key='generation') "
                     "WHERE key='destructive_gen'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
