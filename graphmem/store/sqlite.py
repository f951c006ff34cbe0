"""The embedded store: one directory per memory, SQLite (WAL) plus in-memory vectors.

Why SQLite: transactions give crash safety for free (a batch is committed or absent),
WAL lets a notebook read while the CLI indexes, and the file is the whole memory (copy
it, back it up, open it anywhere). Embeddings live in SQLite too, as float32 blobs keyed
by text hash, so every distinct string is embedded once across runs; searchable
matrices are assembled from them on first use and then kept current by appending.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.embeddings import text_hash
from graphmem.store.base import (
    VECTOR_KINDS,
    BatchResult,
    DeleteReport,
    DocumentInfo,
    EntityRow,
    FactRow,
    Store,
    StoreError,
    WriteBatch,
)
from graphmem.store.schema import connect
from graphmem.store.sqlite_notes import NotesMixin
from graphmem.store.vectors import VectorTable, blob_to_vec, vec_to_blob
from graphmem.types import Passage, content_id

log = logging.getLogger(__name__)

_VECTOR_SQL = {
    "passage": "SELECT t.id, v.vec FROM passages t JOIN vectors v ON v.key = t.vec_key",
    "entity": "SELECT t.id, v.vec FROM entities t JOIN vectors v ON v.key = t.vec_key",
    "fact": "SELECT t.id, v.vec FROM triples t JOIN vectors v ON v.key = t.vec_key",
    "note": "SELECT t.id, v.vec FROM notes t JOIN vectors v ON v.key = t.vec_key",
}
_CHUNK = 900  # stay below SQLite's bound-parameter limit


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def entity_id(name: str) -> str:
    return content_id("e:", name)


class SQLiteStore(NotesMixin, Store):
    """Default :class:`~graphmem.store.base.Store` backend (see module docstring)."""

    def __init__(self, directory: str | Path, embedding_model: str | None = None) -> None:
        self.directory = Path(directory)
        self._conn = connect(self.directory, embedding_model)
        self._lock = threading.RLock()
        self._vec: dict[str, VectorTable] = {}
        self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]

    # --- lifecycle and metadata ---------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_meta(self, key: str) -> str | None:
        row = self._q("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE "
                      "SET value=excluded.value", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def _q(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the generation counter moves with every commit."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                   "WHERE key='generation'")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _in(self, sql: str, ids: Iterable[str]) -> list[tuple]:
        """Run ``sql`` (containing ``{}`` for the placeholders) over ids in chunks."""
        out: list[tuple] = []
        for part in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(part))
            out.extend(self._q(sql.format(marks), part).fetchall())
        return out

    # --- writes ---------------------------------------------------------------------
    def missing_vectors(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        have = {r[0] for r in self._in("SELECT key FROM vectors WHERE key IN ({})", keys)}
        return keys - have

    def get_vectors(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        rows = self._in("SELECT key, vec FROM vectors WHERE key IN ({})", keys)
        return {k: blob_to_vec(v) for k, v in rows}

    def known_entities(self, ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in("SELECT id FROM entities WHERE id IN ({})", ids)}

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        res = BatchResult()
        stamp = now()
        new_ids: dict[str, list[str]] = {k: [] for k in VECTOR_KINDS}
        with self._tx() as c:
            c.executemany("INSERT OR IGNORE INTO vectors(key, vec) VALUES(?, ?)",
                          [(k, vec_to_blob(v)) for k, v in batch.vectors.items()])
            needed: set[str] = set()
            for rec in batch.documents:
                d = rec.document
                c.execute(
                    "INSERT INTO documents(id, title, source, n_passages, complete, metadata, "
                    "timestamp, created_at) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE "
                    "SET complete=excluded.complete, n_passages=excluded.n_passages",
                    (d.id, d.title, d.source, rec.n_passages, int(rec.complete),
                     json.dumps(d.metadata, default=str), d.timestamp, stamp))
            for p in batch.passages:
                c.execute("INSERT OR IGNORE INTO doc_passages(doc_id, idx, passage_id) "
                          "VALUES(?,?,?)", (p.doc_id, p.index, p.id))
                cur = c.execute("INSERT OR IGNORE INTO passages(id, title, text, vec_key, "
                                "timestamp, created_at) VALUES(?,?,?,?,?,?)",
                                (p.id, p.title, p.text, text_hash(p.embed_text), p.timestamp,
                                 stamp))
                if cur.rowcount:
                    res.passages_added += 1
                    res.passage_ids.append(p.id)
                    new_ids["passage"].append(p.id)
                    needed.add(text_hash(p.embed_text))
            for ex in batch.extractions:
                for name in ex.all_entities():
                    eid = entity_id(name)
                    cur = c.execute("INSERT OR IGNORE INTO entities(id, name, type, vec_key) "
                                    "VALUES(?,?,?,?)", (eid, name,
                                                        ex.entity_types.get(name, ""),
                                                        text_hash(name)))
                    if cur.rowcount:
                        res.entities_added.append(eid)
                        needed.add(text_hash(name))
                    c.execute("INSERT OR IGNORE INTO mentions(passage_id, entity_id) VALUES(?,?)",
                              (ex.passage_id, eid))
                for t in ex.triples:
                    cur = c.execute(
                        "INSERT OR IGNORE INTO triples(id, subject_id, predicate, object_id, "
                        "text, vec_key) VALUES(?,?,?,?,?,?)",
                        (t.id, entity_id(t.subject), t.predicate, entity_id(t.object), t.text,
                         text_hash(t.text)))
                    if cur.rowcount:
                        res.triples_added += 1
                        new_ids["fact"].append(t.id)
                        needed.add(text_hash(t.text))
                    c.execute("INSERT OR IGNORE INTO triple_sources(triple_id, passage_id, "
                              "extractor, created_at) VALUES(?,?,?,?)",
                              (t.id, ex.passage_id, ex.extractor, stamp))
            new_ids["entity"] = list(res.entities_added)
            for note in batch.notes:
                key = text_hash(note.embed_text())
                cur = c.execute(
                    "INSERT OR IGNORE INTO notes(id, keywords, tags, context, version, vec_key, "
                    "metadata, updated_at) VALUES(?,?,?,?,1,?,?,?)",
                    (note.id, json.dumps(note.keywords), json.dumps(note.tags), note.context,
                     key, json.dumps(note.metadata, default=str), stamp))
                if cur.rowcount:
                    c.execute("INSERT INTO note_versions(note_id, version, keywords, tags, "
                              "context, event_id, created_at) VALUES(?,1,?,?,?,NULL,?)",
                              (note.id, json.dumps(note.keywords), json.dumps(note.tags),
                               note.context, stamp))
                    new_ids["note"].append(note.id)
                    needed.add(key)
            for s in batch.synonyms:
                a, b = sorted((s.a, s.b))
                if a != b:
                    cur = c.execute("INSERT OR IGNORE INTO synonyms(a, b, score) VALUES(?,?,?)",
                                    (a, b, float(s.score)))
                    res.synonyms_added += cur.rowcount
            for link in batch.links:
                c.execute("INSERT OR IGNORE INTO links(src, dst, reason, event_id, created_at) "
                          "VALUES(?,?,?,?,?)", (link.src, link.dst, link.reason, link.event_id,
                                                stamp))
            missing = self.missing_vectors(needed)
            if missing:
                raise StoreError(f"batch lacks embeddings for {len(missing)} new strings")
            if batch.strings_embedded:
                c.execute("INSERT INTO meta(key, value) VALUES('strings_embedded', ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
                          (str(batch.strings_embedded), batch.strings_embedded))
        self._data_version_sync()
        self._append_vectors(new_ids)
        return res

    def _append_vectors(self, new_ids: dict[str, list[str]]) -> None:
        """Bring loaded matrices up to date: new IDs append, known IDs get their new row."""
        for kind, ids in new_ids.items():
            table = self._vec.get(kind)
            if table is None or not ids:
                continue
            sql = _VECTOR_SQL[kind] + " WHERE t.id IN ({})"
            rows = {r[0]: r[1] for r in self._in(sql, ids)}
            ordered = [i for i in ids if i in rows]
            if ordered:
                table.append(ordered, np.vstack([blob_to_vec(rows[i]) for i in ordered]))

    def _invalidate(self, kinds: Iterable[str] = VECTOR_KINDS) -> None:
        for k in kinds:
            self._vec.pop(k, None)

    def _data_version_sync(self) -> None:
        """Drop cached matrices if another connection committed since we last looked."""
        dv = self._q("PRAGMA data_version").fetchone()[0]
        if dv != self._data_version:
            self._data_version = dv
            self._invalidate()

    def delete_document(self, doc_id: str) -> DeleteReport:
        rep = DeleteReport(doc_id)
        with self._tx() as c:
            if c.execute("SELECT 1 FROM documents WHERE id=?", (doc_id,)).fetchone() is None:
                raise KeyError(f"no document {doc_id!r} in this store")
            own = [r[0] for r in c.execute(
                "SELECT DISTINCT passage_id FROM doc_passages WHERE doc_id=? AND passage_id NOT "
                "IN (SELECT passage_id FROM doc_passages WHERE doc_id != ?)", (doc_id, doc_id))]
            c.execute("DELETE FROM doc_passages WHERE doc_id=?", (doc_id,))
            c.execute("DELETE FROM documents WHERE id=?", (doc_id,))
            c.execute("CREATE TEMP TABLE IF NOT EXISTS gone(id TEXT PRIMARY KEY)")
            c.execute("DELETE FROM gone")
            c.executemany("INSERT OR IGNORE INTO gone(id) VALUES(?)", [(p,) for p in own])
            rep.passages = len(own)
            rep.edges += c.execute("DELETE FROM mentions WHERE passage_id IN gone").rowcount
            c.execute("DELETE FROM triple_sources WHERE passage_id IN gone")
            rep.edges += c.execute("DELETE FROM links WHERE src IN gone OR dst IN gone").rowcount
            for table in ("notes", "passages"):
                c.execute(f"DELETE FROM {table} WHERE id IN gone")
            c.execute("DELETE FROM note_versions WHERE note_id IN gone")
            c.execute("DELETE FROM events WHERE note_id IN gone")
            rep.triples = c.execute("DELETE FROM triples WHERE id NOT IN "
                                    "(SELECT triple_id FROM triple_sources)").rowcount
            rep.entities = c.execute("DELETE FROM entities WHERE id NOT IN "
                                     "(SELECT entity_id FROM mentions)").rowcount
            rep.edges += c.execute("DELETE FROM synonyms WHERE a NOT IN (SELECT id FROM entities)"
                                   " OR b NOT IN (SELECT id FROM entities)").rowcount
            c.execute("DELETE FROM gone")
        self._invalidate()
        return rep

    # --- documents and passages -----------------------------------------------------
    def document_status(self, doc_ids: Iterable[str]) -> dict[str, bool]:
        rows = self._in("SELECT id, complete FROM documents WHERE id IN ({})", doc_ids)
        return {r[0]: bool(r[1]) for r in rows}

    def documents(self) -> list[DocumentInfo]:
        rows = self._q("SELECT id, title, source, n_passages, complete, created_at "
                       "FROM documents ORDER BY rowid").fetchall()
        return [DocumentInfo(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def passage_ids(self, doc_id: str | None = None) -> list[str]:
        if doc_id is None:
            return [r[0] for r in self._q("SELECT id FROM passages ORDER BY rowid")]
        return [r[0] for r in self._q(
            "SELECT passage_id FROM doc_passages WHERE doc_id=? ORDER BY idx", (doc_id,))]

    def get_passages(self, ids: Iterable[str]) -> dict[str, Passage]:
        ids = list(ids)
        docs = self.passage_documents(ids)
        rows = self._in("SELECT p.id, p.title, p.text, p.timestamp, d.idx FROM passages p "
                        "LEFT JOIN doc_passages d ON d.passage_id = p.id "
                        "WHERE p.id IN ({})", ids)
        out = {}
        for pid, title, text, ts, idx in rows:
            if pid not in out:
                doc = docs.get(pid, [""])[0] if docs.get(pid) else ""
                out[pid] = Passage(title=title, text=text, doc_id=doc, index=idx or 0,
                                   timestamp=ts)
        return out

    def passage_documents(self, ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("SELECT passage_id, doc_id FROM doc_passages WHERE passage_id "
                             "IN ({}) ORDER BY rowid", ids)

    # --- graph ----------------------------------------------------------------------
    def entities(self) -> list[EntityRow]:
        rows = self._q("SELECT e.id, e.name, e.type, COUNT(m.passage_id) FROM entities e "
                       "LEFT JOIN mentions m ON m.entity_id = e.id GROUP BY e.id "
                       "ORDER BY e.rowid").fetchall()
        return [EntityRow(*r) for r in rows]

    def facts(self) -> list[FactRow]:
        rows = self._q("SELECT id, subject_id, predicate, object_id, text FROM triples "
                       "ORDER BY rowid").fetchall()
        return [FactRow(*r) for r in rows]

    def _grouped(self, sql: str, ids: Iterable[str]) -> dict[str, list[str]]:
        """Rows (key, value) of ``sql`` over ids, as key -> [values]."""
        out: dict[str, list[str]] = {}
        for key, value in self._in(sql, ids):
            out.setdefault(key, []).append(value)
        return out

    def passage_entities(self, passage_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("SELECT passage_id, entity_id FROM mentions "
                             "WHERE passage_id IN ({})", passage_ids)

    def entity_passages(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("SELECT entity_id, passage_id FROM mentions "
                             "WHERE entity_id IN ({})", entity_ids)

    def fact_passages(self, fact_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("SELECT triple_id, passage_id FROM triple_sources "
                             "WHERE triple_id IN ({})", fact_ids)

    def edges(self, kinds: Iterable[str] | None = None) -> Iterator[tuple[str, str, float, str]]:
        wanted = set(kinds) if kinds is not None else {"relation", "mention", "synonym", "link"}
        sql = {
            "relation": "SELECT MIN(t.subject_id, t.object_id), MAX(t.subject_id, t.object_id), "
                        "COUNT(*) FROM triples t JOIN triple_sources s ON s.triple_id = t.id "
                        "WHERE t.subject_id != t.object_id GROUP BY 1, 2",
            "mention": "SELECT passage_id, entity_id, 1.0 FROM mentions",
            "synonym": "SELECT a, b, score FROM synonyms",
            "link": "SELECT MIN(src, dst), MAX(src, dst), 1.0 FROM links WHERE src != dst "
                    "GROUP BY 1, 2",
        }
        for kind in ("relation", "mention", "synonym", "link"):
            if kind in wanted:
                for a, b, w in self._q(sql[kind]).fetchall():
                    yield a, b, float(w), kind

    def vectors(self, kind: str) -> tuple[list[str], np.ndarray]:
        if kind not in _VECTOR_SQL:
            raise ValueError(f"unknown vector kind {kind!r}; one of {VECTOR_KINDS}")
        self._data_version_sync()
        table = self._vec.get(kind)
        if table is None:
            rows = self._q(_VECTOR_SQL[kind] + " ORDER BY t.rowid").fetchall()
            dim = None
            if rows:
                mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                mat = mat.reshape(len(rows), -1)
                dim = mat.shape[1]
            else:
                mat = None
            table = VectorTable([r[0] for r in rows], mat, dim)
            self._vec[kind] = table
        return table.ids, table.matrix

    def stats(self) -> dict[str, Any]:
        count = {t: self._q(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                 for t in ("documents", "passages", "entities", "triples", "notes", "vectors",
                           "events")}
        edges = {"relation": self._q(
            "SELECT COUNT(*) FROM (SELECT DISTINCT MIN(subject_id, object_id), "
            "MAX(subject_id, object_id) FROM triples WHERE subject_id != object_id)").fetchone()[0],
            "mention": self._q("SELECT COUNT(*) FROM mentions").fetchone()[0],
            "synonym": self._q("SELECT COUNT(*) FROM synonyms").fetchone()[0],
            "link": self._q("SELECT COUNT(*) FROM (SELECT DISTINCT MIN(src, dst), MAX(src, dst) "
                            "FROM links WHERE src != dst)").fetchone()[0]}
        incomplete = self._q("SELECT COUNT(*) FROM documents WHERE complete=0").fetchone()[0]
        return {"store": str(self.directory), **count, "incomplete_documents": incomplete,
                "edges": edges, "strings_embedded": int(self.get_meta("strings_embedded") or 0),
                "embedding_model": self.get_meta("embedding_model"),
                "generation": self.generation}
