"""SQLite schema of the embedded store, and opening a database without ever misreading it.

Why so careful on open: a memory is private, paid-for data. A 0-byte or truncated file,
a deleted write-ahead log, dropped tables or a database from another store must be
*refused* with a message that says what is wrong and what to do, never silently opened
as an empty store (which the next write would then make permanent). A store written by
an older graphmem is upgraded in place, in one transaction, after a backup copy.

Every row that retrieval reads carries ``gen``, the generation that wrote it, so a reader
holding generation g can fetch exactly what changed since (``SQLiteStore.read_delta``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from graphmem.store.base import SCHEMA_VERSION, SchemaMismatch, StoreDamaged

log = logging.getLogger(__name__)

DB_NAME = "graphmem.sqlite"
IDENTITY_NAME = "store.json"
"""A small file beside the database naming the store (uuid, creation time): if the
database later looks empty or foreign, this is how we know it is damaged, not new."""

TABLES_V2 = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, n_passages INTEGER NOT NULL,
    complete INTEGER NOT NULL, metadata TEXT NOT NULL, timestamp TEXT, created_at TEXT NOT NULL,
    namespace TEXT NOT NULL DEFAULT '', source_key TEXT, gen INTEGER NOT NULL DEFAULT 0,
    event_at TEXT);
CREATE TABLE IF NOT EXISTS passages(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, vec_key TEXT NOT NULL,
    timestamp TEXT, created_at TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0,
    namespace TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS doc_passages(
    doc_id TEXT NOT NULL, idx INTEGER NOT NULL, passage_id TEXT NOT NULL,
    PRIMARY KEY(doc_id, idx));
CREATE TABLE IF NOT EXISTS entities(
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL, vec_key TEXT NOT NULL,
    gen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS mentions(
    passage_id TEXT NOT NULL, entity_id TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(passage_id, entity_id));
CREATE TABLE IF NOT EXISTS triples(
    id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, predicate TEXT NOT NULL,
    object_id TEXT NOT NULL, text TEXT NOT NULL, vec_key TEXT NOT NULL,
    gen INTEGER NOT NULL DEFAULT 0, valid_from TEXT, valid_to TEXT, superseded_by TEXT);
CREATE TABLE IF NOT EXISTS triple_sources(
    triple_id TEXT NOT NULL, passage_id TEXT NOT NULL, extractor TEXT NOT NULL,
    created_at TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(triple_id, passage_id));
CREATE TABLE IF NOT EXISTS synonyms(
    a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL, gen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(a, b));
CREATE TABLE IF NOT EXISTS notes(
    id TEXT PRIMARY KEY, keywords TEXT NOT NULL, tags TEXT NOT NULL, context TEXT NOT NULL,
    version INTEGER NOT NULL, vec_key TEXT NOT NULL, metadata TEXT NOT NULL,
    updated_at TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS note_versions(
    note_id TEXT NOT NULL, version INTEGER NOT NULL, keywords TEXT NOT NULL, tags TEXT NOT NULL,
    context TEXT NOT NULL, event_id TEXT, created_at TEXT NOT NULL,
    PRIMARY KEY(note_id, version));
CREATE TABLE IF NOT EXISTS links(
    src TEXT NOT NULL, dst TEXT NOT NULL, reason TEXT NOT NULL, event_id TEXT,
    created_at TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(src, dst));
CREATE TABLE IF NOT EXISTS events(
    id TEXT PRIMARY KEY, note_id TEXT NOT NULL, model TEXT NOT NULL, decision TEXT NOT NULL,
    created_at TEXT NOT NULL, reverted_at TEXT, kind TEXT NOT NULL DEFAULT 'evolution');
CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS llm_cache(
    key TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL, response TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llm_cache_refs(
    key TEXT NOT NULL, passage_id TEXT NOT NULL, PRIMARY KEY(key, passage_id));
CREATE TABLE IF NOT EXISTS llm_usage(
    model TEXT NOT NULL, kind TEXT NOT NULL, calls INTEGER NOT NULL, cached_calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    rejected INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(model, kind));
CREATE TABLE IF NOT EXISTS ingest_log(
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, source TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extraction_failures(
    passage_id TEXT PRIMARY KEY, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_evolution(note_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deletions(
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    reason TEXT NOT NULL, created_at TEXT NOT NULL);
"""

INDEXES_V2 = """
CREATE INDEX IF NOT EXISTS doc_passages_pid ON doc_passages(passage_id);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source_key);
CREATE INDEX IF NOT EXISTS documents_event_at ON documents(event_at);
CREATE INDEX IF NOT EXISTS triples_superseded_by ON triples(superseded_by);
CREATE INDEX IF NOT EXISTS mentions_eid ON mentions(entity_id);
CREATE INDEX IF NOT EXISTS triple_sources_pid ON triple_sources(passage_id);
CREATE INDEX IF NOT EXISTS triples_subject ON triples(subject_id);
CREATE INDEX IF NOT EXISTS triples_object ON triples(object_id);
CREATE INDEX IF NOT EXISTS synonyms_b ON synonyms(b);
CREATE INDEX IF NOT EXISTS links_dst ON links(dst);
CREATE INDEX IF NOT EXISTS note_versions_event ON note_versions(event_id);
CREATE INDEX IF NOT EXISTS llm_cache_refs_pid ON llm_cache_refs(passage_id);
CREATE INDEX IF NOT EXISTS passages_gen ON passages(gen);
CREATE INDEX IF NOT EXISTS entities_gen ON entities(gen);
CREATE INDEX IF NOT EXISTS triples_gen ON triples(gen);
CREATE INDEX IF NOT EXISTS triple_sources_gen ON triple_sources(gen);
CREATE INDEX IF NOT EXISTS mentions_gen ON mentions(gen);
CREATE INDEX IF NOT EXISTS synonyms_gen ON synonyms(gen);
CREATE INDEX IF NOT EXISTS notes_gen ON notes(gen);
CREATE INDEX IF NOT EXISTS links_gen ON links(gen);
"""

CORE_TABLES = ("meta", "documents", "passages", "doc_passages", "entities", "mentions",
               "triples", "triple_sources", "synonyms", "notes", "note_versions", "links",
               "events", "vectors")
"""Tables holding the user's data: if one is missing the store is damaged beyond repair."""
BOOKKEEPING_TABLES = ("llm_cache", "llm_cache_refs", "llm_usage", "ingest_log",
                      "extraction_failures", "pending_evolution", "deletions")
"""Tables that can be re-created empty without losing what the user gave."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def private_file(path: Path) -> None:
    """Create ``path`` (if absent) readable and writable by its owner only."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


def _configure(conn: sqlite3.Connection, read_only: bool) -> None:
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=OFF")
    if not read_only:
        conn.execute("PRAGMA synchronous=NORMAL")


def connect(path: Path, read_only: bool) -> sqlite3.Connection:
    """One connection (autocommit; transactions are explicit)."""
    try:
        if read_only:
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0,
                                       isolation_level=None, check_same_thread=False)
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.OperationalError:
                # a WAL database on read-only media: no -shm can be made; read as is
                conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                                       timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        _configure(conn, read_only)
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(f"cannot open {path}: {exc}") from exc
    return conn


def read_identity(directory: Path) -> dict | None:
    path = directory / IDENTITY_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_identity(directory: Path, store_uuid: str) -> None:
    path = directory / IDENTITY_NAME
    tmp = directory / f".{IDENTITY_NAME}.{uuid.uuid4().hex}"
    private_file(tmp)
    tmp.write_text(json.dumps({"uuid": store_uuid, "created_at": now(),
                               "format": "graphmem-sqlite"}))
    os.replace(tmp, path)


def existing_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def create_schema(conn: sqlite3.Connection, embedding_model: str | None) -> str:
    """A brand-new store: every table, the identity and the counters, in one transaction."""
    store_uuid = uuid.uuid4().hex
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript("BEGIN;" + TABLES_V2 + INDEXES_V2 + "COMMIT;")
    rows = [("schema_version", str(SCHEMA_VERSION)), ("generation", "0"),
            ("destructive_gen", "0"), ("uuid", store_uuid), ("created_at", now())]
    if embedding_model:
        rows.append(("embedding_model", embedding_model))
    conn.executemany("INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", rows)
    return store_uuid


def _wal_missing(directory: Path) -> bool:
    """A shared-memory file without its write-ahead log: the log was deleted. (The last
    connection to close removes the log a moment before the shared memory, so look a
    few times before concluding.)"""
    for _ in range(6):
        if (directory / f"{DB_NAME}-wal").exists() or \
                not (directory / f"{DB_NAME}-shm").exists():
            return False
        time.sleep(0.05)
    return True


def check_wal(directory: Path) -> None:
    """Refuse a database whose write-ahead log was deleted (call before connecting: the
    first read would create a new, empty log)."""
    if _wal_missing(directory):
        raise StoreDamaged(
            f"the write-ahead log {DB_NAME}-wal of {directory} is missing while its "
            f"shared-memory file remains: the log was deleted, and with it every change not "
            f"yet copied into {DB_NAME}. Restore the -wal file (or the whole directory) from a "
            "backup; opening now would silently lose those changes")


def check_database(directory: Path, conn: sqlite3.Connection) -> tuple[int, str | None]:
    """Refuse a database that is not a whole graphmem store; return (schema, uuid)."""
    db = directory / DB_NAME
    try:
        tables = existing_tables(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(
            f"{db} is not a readable SQLite database ({exc}): it is damaged or not a graphmem "
            "store. Restore it from a backup, or run `graphmem doctor` for details") from None
    identity = read_identity(directory)
    if "meta" not in tables:
        hint = ""
        what = (f"this directory was created as graphmem store {identity.get('uuid')} on "
                f"{identity.get('created_at')}, but" if identity else "")
        raise StoreDamaged(
            f"{what} {db} holds no graphmem tables.{hint} Restore the database (and its -wal "
            "file) from a backup; graphmem will not open it as a new empty store.".strip())
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(f"{db}: the meta table is unreadable ({exc})") from None
    if "schema_version" not in meta:
        raise StoreDamaged(f"{db} has no schema version: it is damaged or not a graphmem store")
    version = int(meta["schema_version"])
    if version > SCHEMA_VERSION:
        raise SchemaMismatch(
            f"store {directory} has schema version {version}, newer than this graphmem reads "
            f"({SCHEMA_VERSION}); upgrade graphmem to open it")
    if version < 1:
        raise SchemaMismatch(f"store {directory} has unknown schema version {version}")
    store_uuid = meta.get("uuid")
    if identity and store_uuid and identity.get("uuid") != store_uuid:
        raise StoreDamaged(
            f"{db} belongs to store {store_uuid}, but this directory was created as store "
            f"{identity.get('uuid')}: the database file was replaced. Restore the right file "
            f"or delete {IDENTITY_NAME} to adopt this database")
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing:
        raise StoreDamaged(
            f"{db} lacks the table(s) {', '.join(missing)}: the store is damaged and its data "
            "cannot be trusted. Restore it from a backup (`graphmem doctor` shows what is "
            "left)")
    if version >= 2:
        gone = [t for t in BOOKKEEPING_TABLES if t not in tables]
        if gone:
            raise StoreDamaged(
                f"{db} lacks the bookkeeping table(s) {', '.join(gone)}. No memory is lost: "
                "`graphmem doctor --repair` re-creates them (after a backup)")
    return version, store_uuid


def backup(directory: Path, conn: sqlite3.Connection, label: str) -> Path:
    """A consistent copy of the database beside it (SQLite's online backup)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = directory / f"{DB_NAME}.{label}-{stamp}.bak"
    private_file(target)
    dst = sqlite3.connect(str(target))
    try:
        conn.backup(dst)
    finally:
        dst.close()
    return target


_V1_GEN_TABLES = ("documents", "passages", "entities", "mentions", "triples", "triple_sources",
                  "synonyms", "notes", "links")


def upgrade(directory: Path, conn: sqlite3.Connection, version: int) -> Path | None:
    """Bring an older store to the current schema in place: backup, then one transaction."""
    if version == SCHEMA_VERSION:
        return None
    saved = backup(directory, conn, f"v{version}")
    log.warning("upgrading store %s from schema %d to %d (backup: %s)", directory, version,
                SCHEMA_VERSION, saved.name)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if version == 1:
            _upgrade_v1(conn)
        if version <= 2:
            _upgrade_v2(conn)
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return saved


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _upgrade_v1(conn: sqlite3.Connection) -> None:
    """v1 -> v2: generation columns, namespaces, source keys, validity, the new tables."""
    adds = {t: ["gen INTEGER NOT NULL DEFAULT 0"] for t in _V1_GEN_TABLES}
    _add_columns(conn, adds)  # the v2 tables below need these before their indexes
    adds["documents"] += ["namespace TEXT NOT NULL DEFAULT ''", "source_key TEXT"]
    adds["passages"] += ["namespace TEXT NOT NULL DEFAULT ''"]
    adds["triples"] += ["valid_from TEXT", "valid_to TEXT", "superseded_by TEXT"]
    adds["events"] = ["kind TEXT NOT NULL DEFAULT 'evolution'"]
    adds["llm_usage"] = ["rejected INTEGER NOT NULL DEFAULT 0"]
    _add_columns(conn, adds)
    for stmt in TABLES_V2.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    gen = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    gen_value = int(gen[0]) if gen else 0
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('uuid', ?)", (uuid.uuid4().hex,))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('destructive_gen', ?)",
                 (str(gen_value),))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('generation', ?)",
                 (str(gen_value),))
    # every v1 note was created before its first event: nothing is pending


def _add_columns(conn: sqlite3.Connection, adds: dict[str, list[str]]) -> None:
    for table, cols in adds.items():
        have = _columns(conn, table)
        for col in cols:
            if col.split()[0] not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col}")


def _upgrade_v2(conn: sqlite3.Connection) -> None:
    """v2 -> v3: each document's event time (from its timestamp, else ingestion time)."""
    from graphmem.when import event_time

    _add_columns(conn, {"documents": ["event_at TEXT"]})
    rows = conn.execute("SELECT id, timestamp, created_at, source FROM documents").fetchall()
    conn.executemany("UPDATE documents SET event_at=? WHERE id=?", [
        (event_time(ts, created if source == "add" else None), did)
        for did, ts, created, source in rows])
    conn.executemany("UPDATE triples SET valid_from=? WHERE id=?", [
        (t, tid) for tid, t in conn.execute(
            "SELECT s.triple_id, MIN(COALESCE(d.event_at, d.created_at)) FROM triple_sources s "
            "JOIN doc_passages dp "
            "ON dp.passage_id = s.passage_id JOIN documents d ON d.id = dp.doc_id "
            "GROUP BY s.triple_id").fetchall()])
    for stmt in INDEXES_V2.split(";"):
        if stmt.strip():
            conn.execute(stmt)
