"""SQLite schema of the embedded store, and opening a database safely.

Why WAL and explicit transactions: readers never block the writer, and every batch is
one transaction, so ``kill -9`` at any instant leaves the last committed batch intact
and nothing of the one in flight. The schema version is stored in ``meta`` and checked
on open: an old graphmem never misreads a newer store, and vice versa.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from graphmem.store.base import SCHEMA_VERSION, SchemaMismatch, StoreError

DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, n_passages INTEGER NOT NULL,
    complete INTEGER NOT NULL, metadata TEXT NOT NULL, timestamp TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, vec_key TEXT NOT NULL,
    timestamp TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doc_passages(
    doc_id TEXT NOT NULL, idx INTEGER NOT NULL, passage_id TEXT NOT NULL,
    PRIMARY KEY(doc_id, idx));
CREATE INDEX IF NOT EXISTS doc_passages_pid ON doc_passages(passage_id);
CREATE TABLE IF NOT EXISTS entities(
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL, vec_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mentions(
    passage_id TEXT NOT NULL, entity_id TEXT NOT NULL, PRIMARY KEY(passage_id, entity_id));
CREATE INDEX IF NOT EXISTS mentions_eid ON mentions(entity_id);
CREATE TABLE IF NOT EXISTS triples(
    id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, predicate TEXT NOT NULL,
    object_id TEXT NOT NULL, text TEXT NOT NULL, vec_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS triple_sources(
    triple_id TEXT NOT NULL, passage_id TEXT NOT NULL, extractor TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY(triple_id, passage_id));
CREATE INDEX IF NOT EXISTS triple_sources_pid ON triple_sources(passage_id);
CREATE TABLE IF NOT EXISTS synonyms(
    a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY(a, b));
CREATE INDEX IF NOT EXISTS synonyms_b ON synonyms(b);
CREATE TABLE IF NOT EXISTS notes(
    id TEXT PRIMARY KEY, keywords TEXT NOT NULL, tags TEXT NOT NULL, context TEXT NOT NULL,
    version INTEGER NOT NULL, vec_key TEXT NOT NULL, metadata TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS note_versions(
    note_id TEXT NOT NULL, version INTEGER NOT NULL, keywords TEXT NOT NULL, tags TEXT NOT NULL,
    context TEXT NOT NULL, event_id TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY(note_id, version));
CREATE TABLE IF NOT EXISTS links(
    src TEXT NOT NULL, dst TEXT NOT NULL, reason TEXT NOT NULL, event_id TEXT,
    created_at TEXT NOT NULL, PRIMARY KEY(src, dst));
CREATE INDEX IF NOT EXISTS links_dst ON links(dst);
CREATE TABLE IF NOT EXISTS events(
    id TEXT PRIMARY KEY, note_id TEXT NOT NULL, model TEXT NOT NULL, decision TEXT NOT NULL,
    created_at TEXT NOT NULL, reverted_at TEXT);
CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS llm_cache(
    key TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL, response TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llm_usage(
    model TEXT NOT NULL, kind TEXT NOT NULL, calls INTEGER NOT NULL, cached_calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    PRIMARY KEY(model, kind));
CREATE TABLE IF NOT EXISTS ingest_log(
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, source TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL);
"""

DB_NAME = "graphmem.sqlite"


def connect(directory: Path, embedding_model: str | None) -> sqlite3.Connection:
    """Open (creating if needed) the store database and check its schema and model.

    ``embedding_model`` is recorded on first write; opening with a different model is an
    error because every stored vector would be incomparable with new ones.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"store path {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DB_NAME
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        row = conn.execute(
            "SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.OperationalError:
        row = None  # no meta table yet: a new store
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path} is not a graphmem store ({exc})") from exc
    if row is not None and int(row[0]) != SCHEMA_VERSION:
        conn.close()
        raise SchemaMismatch(
            f"store {directory} has schema version {row[0]}, this graphmem reads version "
            f"{SCHEMA_VERSION}; re-index into a new store or use the matching graphmem release"
        )
    conn.executescript("BEGIN;" + DDL + "COMMIT;")
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                 (str(SCHEMA_VERSION),))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('generation', '0')")
    if embedding_model:
        stored = conn.execute("SELECT value FROM meta WHERE key='embedding_model'").fetchone()
        if stored is None:
            conn.execute("INSERT INTO meta(key, value) VALUES('embedding_model', ?)",
                         (embedding_model,))
        elif stored[0] != embedding_model:
            conn.close()
            raise StoreError(
                f"store {directory} was built with embedding model {stored[0]!r}, not "
                f"{embedding_model!r}; vectors from different models cannot be mixed"
            )
    return conn
