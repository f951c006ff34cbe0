"""The SQLite note store: notes, versions, evolution events, links, pending evolution.

Every rewrite of a note adds a version row tied to the event that caused it; nothing here
updates history in place. Links and rewritten note vectors are what retrieval reads, so
they move the generation; a revert removes links, which a reader cannot apply as an
addition, so it is recorded as a destructive change (readers rebuild from scratch).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

import numpy as np

from graphmem.embeddings import text_hash
from graphmem.store.base import NoteStore, NotFound, StoreError
from graphmem.store.records import NoteUpdate
from graphmem.store.sqlite.db import Database
from graphmem.store.sqlite.schema import now
from graphmem.store.sqlite.vectors import vec_to_blob
from graphmem.types import EvolutionEvent, Link, Note, NoteVersion


def write_version(c: sqlite3.Connection, note: Note, version: int, event_id: str | None,
                  stamp: str, gen: int) -> None:
    """Make ``note``'s attributes current as ``version`` and keep them in the history."""
    key = text_hash(note.embed_text())
    c.execute("UPDATE notes SET keywords=?, tags=?, context=?, version=?, vec_key=?, "
              "updated_at=?, gen=? WHERE id=?",
              (json.dumps(note.keywords), json.dumps(note.tags), note.context, version, key,
               stamp, gen, note.id))
    c.execute("INSERT INTO note_versions(note_id, version, keywords, tags, context, event_id, "
              "created_at) VALUES(?,?,?,?,?,?,?)",
              (note.id, version, json.dumps(note.keywords), json.dumps(note.tags),
               note.context, event_id, stamp))


def restore_event(c: sqlite3.Connection, event_id: str, marker: str, stamp: str,
                  gen: int) -> list[str]:
    """Give every note ``event_id`` rewrote its previous attributes back, as a new version
    tied to ``marker``; drop the event's links. Raises StoreError if a later event rewrote
    one of those notes again."""
    restored: list[str] = []
    changed = c.execute("SELECT note_id, version FROM note_versions WHERE event_id=?",
                        (event_id,)).fetchall()
    for note_id, version in changed:
        cur = c.execute("SELECT version FROM notes WHERE id=?", (note_id,)).fetchone()
        if cur is None:
            continue  # the note itself is gone (its document was deleted)
        if cur[0] != version:
            raise StoreError(f"note {note_id} was rewritten again after event {event_id} (now "
                             f"at version {cur[0]}); revert the later events first")
        prev = c.execute("SELECT keywords, tags, context FROM note_versions WHERE note_id=? "
                         "AND version=?", (note_id, version - 1)).fetchone()
        title, content = c.execute("SELECT title, text FROM passages WHERE id=?",
                                   (note_id,)).fetchone()
        note = Note(id=note_id, content=content, title=title, keywords=json.loads(prev[0]),
                    tags=json.loads(prev[1]), context=prev[2])
        write_version(c, note, cur[0] + 1, marker, stamp, gen)
        restored.append(note_id)
    c.execute("DELETE FROM links WHERE event_id=?", (event_id,))
    c.execute("UPDATE events SET reverted_at=? WHERE id=?", (stamp, event_id))
    return restored


class SQLiteNotes(NoteStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, ids: Iterable[str]) -> dict[str, Note]:
        ids = list(ids)
        with self.db.read():
            rows = self.db.q_in(
                "SELECT n.id, p.text, p.title, p.timestamp, n.keywords, n.tags, n.context, "
                "n.version, n.metadata FROM notes n JOIN passages p ON p.id = n.id "
                "WHERE n.id IN ({})", ids)
            links: dict[str, list[str]] = {}
            for src, dst in self.db.q_in("SELECT src, dst FROM links WHERE src IN ({}) "
                                         "ORDER BY rowid", ids):
                links.setdefault(src, []).append(dst)
        return {r[0]: Note(id=r[0], content=r[1], title=r[2], timestamp=r[3],
                           keywords=json.loads(r[4]), tags=json.loads(r[5]), context=r[6],
                           links=links.get(r[0], []), version=r[7], metadata=json.loads(r[8]))
                for r in rows}

    def with_tags(self, tags: Iterable[str]) -> list[str]:
        wanted = [t.strip().lower() for t in tags if t.strip()]
        if not wanted:
            return []
        return [r[0] for r in self.db.q_in(
            "SELECT DISTINCT n.id FROM notes n, json_each(n.tags) t WHERE lower(t.value) IN "
            "({})", wanted)]

    def history(self, note_id: str) -> list[NoteVersion]:
        rows = self.db.q("SELECT note_id, version, keywords, tags, context, event_id, created_at "
                         "FROM note_versions WHERE note_id=? ORDER BY version", (note_id,))
        return [NoteVersion(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5], r[6])
                for r in rows]

    def events(self, note_id: str | None = None, limit: int | None = None
               ) -> list[EvolutionEvent]:
        sql = "SELECT id, note_id, model, decision, created_at, reverted_at, kind FROM events"
        params: list = []
        if note_id is not None:
            sql += (" WHERE note_id=? OR id IN (SELECT event_id FROM note_versions "
                    "WHERE note_id=?)")
            params += [note_id, note_id]
        sql += " ORDER BY rowid"
        if limit is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT ?) ORDER BY created_at"
            params.append(int(limit))
        return [EvolutionEvent(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6])
                for r in self.db.q(sql, params)]

    def links(self, note_id: str | None = None) -> list[Link]:
        sql = "SELECT src, dst, reason, event_id FROM links"
        params: tuple = ()
        if note_id is not None:
            sql += " WHERE src=? OR dst=?"
            params = (note_id, note_id)
        return [Link(*r) for r in self.db.q(sql + " ORDER BY rowid", params)]

    def apply_event(self, event: EvolutionEvent, updates: list[NoteUpdate], links: list[Link],
                    vectors: dict[str, np.ndarray]) -> None:
        stamp = now()
        with self.db.write() as tx:
            c = tx.c
            c.executemany("INSERT OR IGNORE INTO vectors(key, vec) VALUES(?, ?)",
                          [(k, vec_to_blob(v)) for k, v in vectors.items()])
            c.execute("INSERT INTO events(id, note_id, model, decision, created_at, kind) "
                      "VALUES(?,?,?,?,?,?)", (event.id, event.note_id, event.model,
                                              json.dumps(event.decision), stamp, event.kind))
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
                write_version(c, up.note, row[0] + 1, event.id, stamp, tx.gen)
                tx.visible = True
            for link in links:
                for end in (link.src, link.dst):
                    if c.execute("SELECT 1 FROM notes WHERE id=?", (end,)).fetchone() is None:
                        raise StoreError(f"link to unknown note {end}")
                cur = c.execute("INSERT OR IGNORE INTO links(src, dst, reason, event_id, "
                                "created_at, gen) VALUES(?,?,?,?,?,?)",
                                (link.src, link.dst, link.reason, event.id, stamp, tx.gen))
                tx.visible = tx.visible or bool(cur.rowcount)
            c.execute("DELETE FROM pending_evolution WHERE note_id=?", (event.note_id,))

    def revert_event(self, event_id: str) -> list[str]:
        stamp = now()
        with self.db.write() as tx:
            ev = tx.c.execute("SELECT reverted_at, kind, decision FROM events WHERE id=?",
                              (event_id,)).fetchone()
            if ev is None:
                raise NotFound(f"no evolution event {event_id!r} in this store")
            if ev[0] is not None:
                raise StoreError(f"event {event_id} was already reverted at {ev[0]}")
            if ev[1] == "supersede":  # the older facts hold again
                for old, new in json.loads(ev[2]).get("pairs", []):
                    tx.c.execute("UPDATE triples SET valid_to=NULL, superseded_by=NULL WHERE "
                                 "id=? AND superseded_by=?", (old, new))
            restored = restore_event(tx.c, event_id, f"revert:{event_id}", stamp, tx.gen)
            tx.destructive = True
        return restored

    def pending_evolution(self) -> list[str]:
        return [r[0] for r in self.db.q("SELECT note_id FROM pending_evolution ORDER BY rowid")]

    def finish_evolution(self, note_id: str, outcome: str) -> None:
        with self.db.write() as tx:
            tx.c.execute("DELETE FROM pending_evolution WHERE note_id=?", (note_id,))
