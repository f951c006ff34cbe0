"""The embedded store: one directory per memory, SQLite (WAL) holding everything.

Why SQLite: transactions give crash safety (a batch is committed or absent), WAL lets
searches read while another thread or process writes, and the file is the whole memory
(copy it, back it up, open it anywhere). Embeddings live in it too, as float32 blobs keyed
by text hash. Files are created private (0600, directory 0700): memories are personal.

This facade owns the operations that span the five parts in one transaction: an
indexing batch, a deletion, and the consistent read retrieval builds its snapshot from.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from graphmem.embeddings import text_hash
from graphmem.store.base import (
    SCHEMA_VERSION,
    NotFound,
    SchemaMismatch,
    Store,
    StoreDamaged,
    StoreError,
    StoreNotFound,
)
from graphmem.store.records import (
    EDGE_KIND_CODES,
    BatchResult,
    DeleteReport,
    Delta,
    WriteBatch,
)
from graphmem.store.sqlite.db import Database, Tx
from graphmem.store.sqlite.graph import SQLiteGraph
from graphmem.store.sqlite.kv import SQLiteKV
from graphmem.store.sqlite.notes import SQLiteNotes, restore_event
from graphmem.store.sqlite.schema import (
    DB_NAME,
    check_database,
    check_wal,
    connect,
    create_schema,
    now,
    private_file,
    read_identity,
    upgrade,
    write_identity,
)
from graphmem.store.sqlite.timeline import SQLiteTimeline
from graphmem.store.sqlite.vectors import SQLiteVectors, blobs_to_matrix, vec_to_blob
from graphmem.text import cut_words
from graphmem.types import content_id
from graphmem.when import event_time

log = logging.getLogger(__name__)


def entity_id(name: str) -> str:
    return content_id("e:", name)


def _truncated(path: Path) -> str | None:
    """The SQLite header's page count against the file's size (a cheap truncation test)."""
    with path.open("rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        return "it does not start with a SQLite header"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]
    size = path.stat().st_size
    if valid and pages and size < pages * page:
        return f"it is {size:,} bytes but its header says {pages * page:,}"
    return None


class SQLiteStore(Store):
    """Default :class:`~graphmem.store.base.Store` backend (see module docstring)."""

    def __init__(self, directory: str | Path, embedding_model: str | None = None, *,
                 create: bool = True, read_only: bool | None = None) -> None:
        self.directory = Path(directory)
        self.location = str(self.directory)
        path = self.directory / DB_NAME
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreError(f"store path {self.directory} exists and is not a directory")
        if not path.exists():
            self._create(path, create, embedding_model)
        else:
            self._open_existing(path, read_only, embedding_model)
        self.graph = SQLiteGraph(self.db)
        self.vectors = SQLiteVectors(self.db)
        self.notes = SQLiteNotes(self.db)
        self.time = SQLiteTimeline(self.db)
        self.kv = SQLiteKV(self.db)

    # --- opening ------------------------------------------------------------------
    def _create(self, path: Path, create: bool, embedding_model: str | None) -> None:
        identity = read_identity(self.directory)
        if identity:
            raise StoreDamaged(
                f"{path} is missing, but this directory was created as graphmem store "
                f"{identity.get('uuid')} on {identity.get('created_at')}: the database was "
                "deleted or moved. Restore it from a backup; nothing was created")
        if not create:
            raise StoreNotFound(
                f"there is no graphmem memory at {self.directory} ({DB_NAME} not found); "
                "index something into it first, or point --store / GRAPHMEM_STORE at an "
                "existing memory")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_file(path)
        conn = connect(path, read_only=False)
        try:
            self._uuid = create_schema(conn, embedding_model)
        finally:
            conn.close()
        write_identity(self.directory, self._uuid)
        self.read_only = False
        self.db = Database(path, read_only=False)

    def _open_existing(self, path: Path, read_only: bool | None,
                       embedding_model: str | None) -> None:
        size = path.stat().st_size
        if size == 0:
            raise StoreDamaged(
                f"{path} is empty (0 bytes): the memory's data is gone or was never written. "
                "Restore it from a backup, or delete the directory to start a new memory")
        problem = _truncated(path)
        for _ in range(10):  # a checkpoint in another process may be growing the file
            if not problem:
                break
            time.sleep(0.05)
            problem = _truncated(path)
        if problem:
            raise StoreDamaged(f"{path} is damaged ({problem}); restore it from a backup "
                               "(`graphmem doctor` shows what can still be read)")
        if read_only is None:
            read_only = not (os.access(self.directory, os.W_OK) and os.access(path, os.W_OK))
        check_wal(self.directory)
        conn = connect(path, read_only)
        try:
            version, store_uuid = check_database(self.directory, conn)
            if version != int(_meta(conn, "schema_version") or 0):
                raise StoreDamaged(f"{path}: inconsistent schema version")
            if version < SCHEMA_VERSION:
                if read_only:
                    raise SchemaMismatch(
                        f"store {self.directory} uses schema {version} and must be upgraded, "
                        "but it is read-only; open it once with write access")
                upgrade(self.directory, conn, version)
                store_uuid = _meta(conn, "uuid")
            self._check_model(conn, embedding_model, read_only)
        finally:
            conn.close()
        self._uuid = store_uuid or ""
        if not read_only and read_identity(self.directory) is None:
            write_identity(self.directory, self._uuid)
        self.read_only = read_only
        self.db = Database(path, read_only=read_only)

    def _check_model(self, conn: sqlite3.Connection, model: str | None, read_only: bool) -> None:
        if not model:
            return
        stored = _meta(conn, "embedding_model")
        if stored is None and not read_only:
            conn.execute("INSERT INTO meta(key, value) VALUES('embedding_model', ?)", (model,))
        elif stored is not None and stored != model:
            raise StoreError(
                f"store {self.directory} was built with embedding model {stored!r}, not "
                f"{model!r}; vectors from different models cannot be mixed (convert it with "
                "`graphmem reembed`)")

    # --- lifecycle and metadata ---------------------------------------------------
    def close(self) -> None:
        self.db.close()

    @property
    def uuid(self) -> str:
        return self._uuid

    def get_meta(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key=?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.write() as tx:
            tx.c.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE "
                         "SET value=excluded.value", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # --- writes ---------------------------------------------------------------------
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        with self.db.write() as tx:
            res = self._write(tx, batch)
        return res

    def _write(self, tx: Tx, batch: WriteBatch) -> BatchResult:
        c, gen, stamp = tx.c, tx.gen, now()
        res = BatchResult()
        c.executemany("INSERT OR IGNORE INTO vectors(key, vec) VALUES(?, ?)",
                      [(k, vec_to_blob(v)) for k, v in batch.vectors.items()])
        if batch.vectors and _meta(c, "embedding_dim") is None:
            dim = len(next(iter(batch.vectors.values())))
            c.execute("INSERT INTO meta(key, value) VALUES('embedding_dim', ?)", (str(dim),))
        needed: set[str] = set()
        changed = 0  # rows of what retrieval reads that this batch really added
        doc_times = {rec.document.id: event_time(rec.document.timestamp, stamp if
                                                 rec.document.source == "add" else None)
                     for rec in batch.documents}
        times = {p.id: doc_times.get(p.doc_id) or stamp for p in batch.passages}
        for rec in batch.documents:
            d = rec.document
            key = d.metadata.get("source_key") if isinstance(d.metadata, dict) else None
            c.execute(
                "INSERT INTO documents(id, title, source, n_passages, complete, metadata, "
                "timestamp, created_at, namespace, source_key, gen, event_at) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "complete=excluded.complete, n_passages=excluded.n_passages",
                (d.id, d.title, d.source, rec.n_passages, int(rec.complete),
                 json.dumps(d.metadata, default=str), d.timestamp, stamp, d.namespace, key, gen,
                 doc_times[d.id]))
        for p in batch.passages:
            c.execute("INSERT OR IGNORE INTO doc_passages(doc_id, idx, passage_id) VALUES(?,?,?)",
                      (p.doc_id, p.index, p.id))
            cur = c.execute("INSERT OR IGNORE INTO passages(id, title, text, vec_key, timestamp, "
                            "created_at, gen, namespace) VALUES(?,?,?,?,?,?,?,?)",
                            (p.id, p.title, p.text, text_hash(p.embed_text), p.timestamp, stamp,
                             gen, p.namespace))
            if cur.rowcount:
                res.passages_added += 1
                res.passage_ids.append(p.id)
                needed.add(text_hash(p.embed_text))
        for ex in batch.extractions:
            for name in ex.all_entities():
                eid = entity_id(name)
                cur = c.execute("INSERT OR IGNORE INTO entities(id, name, type, vec_key, gen) "
                                "VALUES(?,?,?,?,?)", (eid, name, ex.entity_types.get(name, ""),
                                                      text_hash(name), gen))
                if cur.rowcount:
                    res.entities_added.append(eid)
                    needed.add(text_hash(name))
                changed += c.execute("INSERT OR IGNORE INTO mentions(passage_id, entity_id, gen) "
                                     "VALUES(?,?,?)", (ex.passage_id, eid, gen)).rowcount
            for t in ex.triples:
                cur = c.execute(
                    "INSERT OR IGNORE INTO triples(id, subject_id, predicate, object_id, text, "
                    "vec_key, gen, valid_from) VALUES(?,?,?,?,?,?,?,?)",
                    (t.id, entity_id(t.subject), t.predicate, entity_id(t.object), t.text,
                     text_hash(t.text), gen, times.get(ex.passage_id)))
                if cur.rowcount:
                    res.triples_added += 1
                    needed.add(text_hash(t.text))
                changed += c.execute(
                    "INSERT OR IGNORE INTO triple_sources(triple_id, passage_id, extractor, "
                    "created_at, gen) VALUES(?,?,?,?,?)",
                    (t.id, ex.passage_id, ex.extractor, stamp, gen)).rowcount
            if ex.failed is None:
                c.execute("DELETE FROM extraction_failures WHERE passage_id=?", (ex.passage_id,))
        for note in batch.notes:
            key = text_hash(note.embed_text())
            cur = c.execute(
                "INSERT OR IGNORE INTO notes(id, keywords, tags, context, version, vec_key, "
                "metadata, updated_at, gen) VALUES(?,?,?,?,1,?,?,?,?)",
                (note.id, json.dumps(note.keywords), json.dumps(note.tags), note.context, key,
                 json.dumps(note.metadata, default=str), stamp, gen))
            if cur.rowcount:
                c.execute("INSERT INTO note_versions(note_id, version, keywords, tags, context, "
                          "event_id, created_at) VALUES(?,1,?,?,?,NULL,?)",
                          (note.id, json.dumps(note.keywords), json.dumps(note.tags),
                           note.context, stamp))
                needed.add(key)
                changed += 1
        for s in batch.synonyms:
            a, b = sorted((s.a, s.b))
            if a != b:
                cur = c.execute("INSERT OR IGNORE INTO synonyms(a, b, score, gen) VALUES(?,?,?,?)",
                                (a, b, float(s.score), gen))
                res.synonyms_added += cur.rowcount
        for link in batch.links:
            changed += c.execute(
                "INSERT OR IGNORE INTO links(src, dst, reason, event_id, created_at, gen) "
                "VALUES(?,?,?,?,?,?)", (link.src, link.dst, link.reason, link.event_id, stamp,
                                        gen)).rowcount
        for pid, reason in batch.failures.items():
            c.execute("INSERT INTO extraction_failures(passage_id, reason, attempts, updated_at) "
                      "VALUES(?,?,1,?) ON CONFLICT(passage_id) DO UPDATE SET "
                      "reason=excluded.reason, attempts=attempts+1, "
                      "updated_at=excluded.updated_at", (pid, reason, stamp))
        c.executemany("INSERT OR IGNORE INTO pending_evolution(note_id, created_at) VALUES(?,?)",
                      [(n, stamp) for n in batch.pending_evolution])
        missing = self._missing_in(c, needed)
        if missing:
            raise StoreError(f"batch lacks embeddings for {len(missing)} new strings")
        if batch.strings_embedded:
            c.execute("INSERT INTO meta(key, value) VALUES('strings_embedded', ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
                      (str(batch.strings_embedded), batch.strings_embedded))
        tx.visible = bool(changed or res.passages_added or res.entities_added
                          or res.triples_added or res.synonyms_added)
        return res

    def _missing_in(self, c: sqlite3.Connection, keys: set[str]) -> set[str]:
        have = {r[0] for r in self.db.in_ids(c, "SELECT key FROM vectors WHERE key IN ({})",
                                             keys)}
        return keys - have

    # --- deletion -------------------------------------------------------------------
    def delete_document(self, doc_id: str) -> DeleteReport:
        from graphmem.store.sqlite.forget import forget_document

        with self.db.write() as tx:
            if tx.c.execute("SELECT 1 FROM documents WHERE id=?", (doc_id,)).fetchone() is None:
                raise NotFound(f"no document {doc_id!r} in this store")
            rep = forget_document(tx, doc_id, f"del:{uuid.uuid4().hex[:16]}", restore_event)
            tx.destructive = True
        self.scrub()
        return rep

    def scrub(self) -> None:
        """Push freed pages out of the write-ahead log so deleted text does not linger."""
        try:
            self.db.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # a reader still holds old pages: try again later
            log.debug("checkpoint after delete deferred: %s", exc)

    # --- what retrieval reads ---------------------------------------------------------
    def read_delta(self, since: int | None) -> Delta:
        with self.db.read() as c:
            gen = int(_meta(c, "generation") or 0)
            dgen = int(_meta(c, "destructive_gen") or 0)
            full = since is None or since < dgen or since > gen
            s = -1 if full else since
            dim = int(_meta(c, "embedding_dim") or 0)
            d = Delta(generation=gen, full=full, dim=dim)
            rows = c.execute("SELECT p.id, p.title, p.text, v.vec, p.timestamp, p.namespace "
                             "FROM passages p "
                             "JOIN vectors v ON v.key = p.vec_key WHERE p.gen > ? "
                             "ORDER BY p.rowid", (s,)).fetchall()
            d.passage_ids = [r[0] for r in rows]
            d.passage_labels = [r[1] or cut_words(r[2], 40) for r in rows]
            d.passage_vectors = blobs_to_matrix([r[3] for r in rows], dim)
            d.passage_times = [r[4] for r in rows]
            d.passage_namespaces = [r[5] for r in rows]
            rows = c.execute("SELECT e.id, e.name, v.vec FROM entities e JOIN vectors v "
                             "ON v.key = e.vec_key WHERE e.gen > ? ORDER BY e.rowid",
                             (s,)).fetchall()
            d.entity_ids, d.entity_names = [r[0] for r in rows], [r[1] for r in rows]
            d.entity_vectors = blobs_to_matrix([r[2] for r in rows], dim)
            rows = c.execute("SELECT t.id, t.subject_id, t.object_id, t.predicate, t.text, v.vec "
                             "FROM triples t JOIN vectors v ON v.key = t.vec_key WHERE t.gen > ? "
                             "ORDER BY t.rowid", (s,)).fetchall()
            d.fact_ids = [r[0] for r in rows]
            d.fact_subjects, d.fact_objects = [r[1] for r in rows], [r[2] for r in rows]
            d.fact_predicates, d.fact_texts = [r[3] for r in rows], [r[4] for r in rows]
            d.fact_vectors = blobs_to_matrix([r[5] for r in rows], dim)
            rows = c.execute("SELECT n.id, v.vec FROM notes n JOIN vectors v ON v.key = n.vec_key "
                             "WHERE n.gen > ? ORDER BY n.rowid", (s,)).fetchall()
            d.note_ids = [r[0] for r in rows]
            d.note_vectors = blobs_to_matrix([r[1] for r in rows], dim)
            edge_sql = (
                ("relation", "SELECT t.subject_id, t.object_id, 1.0 FROM triple_sources s JOIN "
                             "triples t ON t.id = s.triple_id WHERE s.gen > ? AND "
                             "t.subject_id != t.object_id ORDER BY s.rowid"),
                ("mention", "SELECT passage_id, entity_id, 1.0 FROM mentions WHERE gen > ? "
                            "ORDER BY rowid"),
                ("synonym", "SELECT a, b, score FROM synonyms WHERE gen > ? ORDER BY rowid"),
                ("link", "SELECT src, dst, 1.0 FROM links WHERE gen > ? AND src != dst "
                         "ORDER BY rowid"))
            for kind, sql in edge_sql:
                code = EDGE_KIND_CODES[kind]
                for a, b, w in c.execute(sql, (s,)):
                    d.edge_a.append(a)
                    d.edge_b.append(b)
                    d.edge_w.append(float(w))
                    d.edge_kind.append(code)
        if not d.dim:
            for name in ("passage", "entity", "fact", "note"):
                mat = getattr(d, f"{name}_vectors")
                if mat is not None and mat.ndim == 2 and mat.shape[0]:
                    d.dim = mat.shape[1]
                    break
        return d

    # --- inspection -------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.db.read() as c:
            count = {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("documents", "passages", "entities", "triples", "notes",
                               "vectors", "events")}
            edges = {
                "relation": c.execute("SELECT COUNT(*) FROM (SELECT DISTINCT subject_id, "
                                      "object_id FROM triples WHERE subject_id != object_id)"
                                      ).fetchone()[0],
                "mention": c.execute("SELECT COUNT(*) FROM mentions").fetchone()[0],
                "synonym": c.execute("SELECT COUNT(*) FROM synonyms").fetchone()[0],
                "link": c.execute("SELECT COUNT(*) FROM (SELECT DISTINCT MIN(src, dst), "
                                  "MAX(src, dst) FROM links WHERE src != dst)").fetchone()[0]}
            incomplete = c.execute("SELECT COUNT(*) FROM documents WHERE complete=0"
                                   ).fetchone()[0]
            failed = c.execute("SELECT COUNT(*) FROM extraction_failures").fetchone()[0]
            pending = c.execute("SELECT COUNT(*) FROM pending_evolution").fetchone()[0]
            meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        return {"store": self.location, "backend": "sqlite", **count,
                "incomplete_documents": incomplete, "failed_extractions": failed,
                "pending_evolution": pending, "edges": edges,
                "strings_embedded": int(meta.get("strings_embedded") or 0),
                "embedding_model": meta.get("embedding_model"),
                "generation": int(meta.get("generation") or 0), "uuid": meta.get("uuid"),
                "read_only": self.read_only}


def _meta(c: sqlite3.Connection, key: str) -> str | None:
    row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None
