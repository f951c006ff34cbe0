"""The SQLite store's notes, evolution events, LLM cache and ingest log.

Kept apart from the graph half of the store because it changes for different reasons
(evolution and the LLM layer) and so each file stays readable. Every rewrite of a note
adds a version row; nothing here updates history in place. A rewritten note's vector
replaces its row in the in-memory note matrix at once (``_append`` overwrites known IDs).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from graphmem.embeddings import text_hash
from graphmem.store.base import NoteUpdate, StoreError
from graphmem.store.vectors import VectorTable, vec_to_blob
from graphmem.types import EvolutionEvent, IngestProblem, Link, Note, NoteVersion


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class NotesMixin:
    """Methods of :class:`SQLiteStore` about notes, events, the LLM cache and ingest log."""

    _conn: sqlite3.Connection
    _lock: threading.RLock
    _vec: dict[str, VectorTable]

    # _q, _in, _tx, _data_version_sync and _append_vectors are provided by SQLiteStore.

    # --- notes ----------------------------------------------------------------------
    def get_notes(self, ids: Iterable[str]) -> dict[str, Note]:
        ids = list(ids)
        rows = self._in(
            "SELECT n.id, p.text, p.title, p.timestamp, n.keywords, n.tags, n.context, "
            "n.version, n.metadata FROM notes n JOIN passages p ON p.id = n.id "
            "WHERE n.id IN ({})", ids)
        links: dict[str, list[str]] = {}
        for src, dst in self._in("SELECT src, dst FROM links WHERE src IN ({}) ORDER BY rowid",
                                 ids):
            links.setdefault(src, []).append(dst)
        return {r[0]: Note(id=r[0], content=r[1], title=r[2], timestamp=r[3],
                           keywords=json.loads(r[4]), tags=json.loads(r[5]), context=r[6],
                           links=links.get(r[0], []), version=r[7], metadata=json.loads(r[8]))
                for r in rows}

    def note_history(self, note_id: str) -> list[NoteVersion]:
        rows = self._q("SELECT note_id, version, keywords, tags, context, event_id, created_at "
                       "FROM note_versions WHERE note_id=? ORDER BY version", (note_id,))
        return [NoteVersion(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5], r[6])
                for r in rows.fetchall()]

    def _write_version(self, c: sqlite3.Connection, note: Note, version: int,
                       event_id: str | None, stamp: str) -> None:
        key = text_hash(note.embed_text())
        c.execute("UPDATE notes SET keywords=?, tags=?, context=?, version=?, vec_key=?, "
                  "updated_at=? WHERE id=?",
                  (json.dumps(note.keywords), json.dumps(note.tags), note.context, version, key,
                   stamp, note.id))
        c.execute("INSERT INTO note_versions(note_id, version, keywords, tags, context, event_id, "
                  "created_at) VALUES(?,?,?,?,?,?,?)",
                  (note.id, version, json.dumps(note.keywords), json.dumps(note.tags),
                   note.context, event_id, stamp))

    def apply_event(self, event: EvolutionEvent, updates: list[NoteUpdate], links: list[Link],
                    vectors: dict[str, np.ndarray]) -> None:
        stamp = _now()
        with self._tx() as c:
            c.executemany("INSERT OR IGNORE INTO vectors(key, vec) VALUES(?, ?)",
                          [(k, vec_to_blob(v)) for k, v in vectors.items()])
            c.execute("INSERT INTO events(id, note_id, model, decision, created_at) "
                      "VALUES(?,?,?,?,?)", (event.id, event.note_id, event.model,
                                            json.dumps(event.decision), stamp))
            for up in updates:
                row = c.execute("SELECT version FROM notes WHERE id=?", (up.note.id,)).fetchone()
                if row is None:
                    raise StoreError(f"note {up.note.id} does not exist")
                if row[0] != up.previous_version:
                    raise StoreError(f"note {up.note.id} changed (version {row[0]}, expected "
                                     f"{up.previous_version}); evolution event not applied")
                key = text_hash(up.note.embed_text())
                if c.execute("SELECT 1 FROM vectors WHERE key=?", (key,)).fetchone() is None:
                    raise StoreError(f"no embedding given for the new text of note {up.note.id}")
                self._write_version(c, up.note, row[0] + 1, event.id, stamp)
            for link in links:
                for end in (link.src, link.dst):
                    if c.execute("SELECT 1 FROM notes WHERE id=?", (end,)).fetchone() is None:
                        raise StoreError(f"link to unknown note {end}")
                c.execute("INSERT OR IGNORE INTO links(src, dst, reason, event_id, created_at) "
                          "VALUES(?,?,?,?,?)", (link.src, link.dst, link.reason, event.id, stamp))
        self._data_version_sync()
        self._append_vectors({"note": [u.note.id for u in updates]})

    def revert_event(self, event_id: str) -> list[str]:
        stamp = _now()
        restored: list[str] = []
        with self._tx() as c:
            ev = c.execute("SELECT reverted_at FROM events WHERE id=?", (event_id,)).fetchone()
            if ev is None:
                raise KeyError(f"no evolution event {event_id!r}")
            if ev[0] is not None:
                raise StoreError(f"event {event_id} was already reverted at {ev[0]}")
            changed = c.execute("SELECT note_id, version FROM note_versions WHERE event_id=?",
                                (event_id,)).fetchall()
            for note_id, version in changed:
                current = c.execute("SELECT version FROM notes WHERE id=?",
                                    (note_id,)).fetchone()[0]
                if current != version:
                    raise StoreError(
                        f"note {note_id} was rewritten again after event {event_id} (now at "
                        f"version {current}); revert the later events first")
                prev = c.execute("SELECT keywords, tags, context FROM note_versions "
                                 "WHERE note_id=? AND version=?", (note_id, version - 1)).fetchone()
                title, content = c.execute("SELECT title, text FROM passages WHERE id=?",
                                           (note_id,)).fetchone()
                note = Note(id=note_id, content=content, title=title,
                            keywords=json.loads(prev[0]), tags=json.loads(prev[1]),
                            context=prev[2])
                self._write_version(c, note, current + 1, f"revert:{event_id}", stamp)
                restored.append(note_id)
            c.execute("DELETE FROM links WHERE event_id=?", (event_id,))
            c.execute("UPDATE events SET reverted_at=? WHERE id=?", (stamp, event_id))
        self._data_version_sync()
        self._append_vectors({"note": restored})
        return restored

    def events(self, note_id: str | None = None) -> list[EvolutionEvent]:
        sql = "SELECT id, note_id, model, decision, created_at, reverted_at FROM events"
        params: tuple = ()
        if note_id is not None:
            sql += (" WHERE note_id=? OR id IN (SELECT event_id FROM note_versions "
                    "WHERE note_id=?)")
            params = (note_id, note_id)
        rows = self._q(sql + " ORDER BY rowid", params).fetchall()
        return [EvolutionEvent(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def links(self, note_id: str | None = None) -> list[Link]:
        sql = "SELECT src, dst, reason, event_id FROM links"
        params: tuple = ()
        if note_id is not None:
            sql += " WHERE src=? OR dst=?"
            params = (note_id, note_id)
        return [Link(*r) for r in self._q(sql + " ORDER BY rowid", params).fetchall()]

    # --- LLM cache and accounting ---------------------------------------------------
    def cache_get(self, key: str) -> str | None:
        row = self._q("SELECT response FROM llm_cache WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def cache_put(self, key: str, model: str, kind: str, response: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO llm_cache(key, model, kind, response, created_at) "
                      "VALUES(?,?,?,?,?)", (key, model, kind, response, _now()))

    def record_usage(self, model: str, kind: str, prompt_tokens: int, completion_tokens: int,
                     cached: bool) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO llm_usage(model, kind, calls, cached_calls, prompt_tokens, "
                "completion_tokens) VALUES(?,?,?,?,?,?) ON CONFLICT(model, kind) DO UPDATE SET "
                "calls = calls + excluded.calls, cached_calls = cached_calls + "
                "excluded.cached_calls, prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
                "completion_tokens = completion_tokens + excluded.completion_tokens",
                (model, kind, 0 if cached else 1, 1 if cached else 0,
                 0 if cached else prompt_tokens, 0 if cached else completion_tokens))

    def usage(self) -> list[dict[str, Any]]:
        rows = self._q("SELECT model, kind, calls, cached_calls, prompt_tokens, "
                       "completion_tokens FROM llm_usage ORDER BY model, kind").fetchall()
        keys = ("model", "kind", "calls", "cached_calls", "prompt_tokens", "completion_tokens")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- ingest log -----------------------------------------------------------------
    def log_ingest(self, run_id: str, problems: list[IngestProblem]) -> None:
        if not problems:
            return
        stamp = _now()
        with self._tx() as c:
            c.executemany("INSERT INTO ingest_log(run_id, source, status, reason, created_at) "
                          "VALUES(?,?,?,?,?)",
                          [(run_id, p.source, p.status, p.reason, stamp) for p in problems])

    def ingest_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._q("SELECT run_id, source, status, reason, created_at FROM ingest_log "
                       "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        keys = ("run_id", "source", "status", "reason", "created_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

