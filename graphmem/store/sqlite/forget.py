"""Forgetting a document for real, in one transaction.

Why this is more than ``DELETE FROM passages``: a memory leaves traces. Its passages
have vectors; the LLM cache holds answers about its text; evolution copied words from it
into neighbouring notes (and into the events that did so); the ingest log may quote it.
Deleting a document removes all of that: its passages, notes and their versions, the
facts, entities and edges only it supported, their vectors, cached answers about it and
log lines about it. Neighbours its evolution rewrote get their earlier attributes back
as a new version tied to a recorded deletion (``deletions`` table), and the versions and
events that carried derived text are redacted, so every version row still points at an
existing event or at that deletion. The caller checkpoints the WAL afterwards, and
``secure_delete`` zeroes freed pages, so the text does not linger in the files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from graphmem.embeddings import text_hash
from graphmem.store.base import StoreError
from graphmem.store.records import DeleteReport
from graphmem.store.sqlite.db import Tx
from graphmem.store.sqlite.schema import now
from graphmem.types import Note

REDACTED = "(removed with a deleted memory)"


def _note_keys(c: sqlite3.Connection, where: str, params: tuple) -> set[str]:
    """Embedding keys of every version of some notes (their text as it was embedded)."""
    keys: set[str] = set()
    rows = c.execute("SELECT v.note_id, v.keywords, v.tags, v.context, p.title, p.text FROM "
                     f"note_versions v LEFT JOIN passages p ON p.id = v.note_id WHERE {where}",
                     params).fetchall()
    for _nid, kw, tags, ctx, title, text in rows:
        note = Note(id="", content=text or "", title=title or "", keywords=json.loads(kw),
                    tags=json.loads(tags), context=ctx)
        keys.add(text_hash(note.embed_text()))
    return keys


def forget_document(tx: Tx, doc_id: str, deletion_id: str,
                    restore: Callable[[sqlite3.Connection, str, str, str, int], list[str]]
                    ) -> DeleteReport:
    c, stamp = tx.c, now()
    c.execute("PRAGMA secure_delete=ON")
    rep = DeleteReport(doc_id)
    own = [r[0] for r in c.execute(
        "SELECT DISTINCT passage_id FROM doc_passages WHERE doc_id=? AND passage_id NOT IN "
        "(SELECT passage_id FROM doc_passages WHERE doc_id != ?)", (doc_id, doc_id))]
    c.execute("CREATE TEMP TABLE IF NOT EXISTS gone(id TEXT PRIMARY KEY)")
    c.execute("DELETE FROM gone")
    c.executemany("INSERT OR IGNORE INTO gone(id) VALUES(?)", [(p,) for p in own])
    c.execute("INSERT INTO deletions(id, doc_id, title, source, reason, created_at) "
              "VALUES(?,?,'','',?,?)", (deletion_id, doc_id, "document deleted", stamp))
    keys = {r[0] for r in c.execute("SELECT vec_key FROM passages WHERE id IN gone")}
    keys |= _note_keys(c, "v.note_id IN gone", ())

    # evolution caused by the deleted notes: undo it on the neighbours, then redact it
    caused = c.execute("SELECT id, reverted_at FROM events WHERE note_id IN gone "
                       "ORDER BY rowid DESC").fetchall()
    for ev_id, reverted in caused:
        keys |= _note_keys(c, "v.event_id = ?", (ev_id,))
        if reverted is None:
            try:
                restore(c, ev_id, deletion_id, stamp, tx.gen)
            except StoreError:  # rewritten again since: keep the later text, redact below
                c.execute("DELETE FROM links WHERE event_id=?", (ev_id,))
            rep.reverted_events.append(ev_id)
        c.execute("UPDATE note_versions SET keywords='[]', tags='[]', context=?, event_id=? "
                  "WHERE event_id=? AND note_id NOT IN gone", (REDACTED, deletion_id, ev_id))
        c.execute("UPDATE note_versions SET event_id=? WHERE event_id=?",
                  (deletion_id, f"revert:{ev_id}"))
        c.execute("DELETE FROM events WHERE id=?", (ev_id,))
    # events of other notes that touched the deleted ones keep only what remains
    for ev_id, decision in c.execute("SELECT id, decision FROM events").fetchall():
        d = json.loads(decision)
        touched = set(d.get("links", [])) | set(d.get("rewrote", []))
        if touched & set(own):
            c.execute("UPDATE events SET decision=? WHERE id=?", (json.dumps({
                "links": [x for x in d.get("links", []) if x not in own],
                "rewrote": [x for x in d.get("rewrote", []) if x not in own],
                "redacted": deletion_id}), ev_id))

    c.execute("DELETE FROM doc_passages WHERE doc_id=?", (doc_id,))
    c.execute("DELETE FROM documents WHERE id=?", (doc_id,))
    rep.passages = len(own)
    rep.edges += c.execute("DELETE FROM mentions WHERE passage_id IN gone").rowcount
    c.execute("DELETE FROM triple_sources WHERE passage_id IN gone")
    rep.edges += c.execute("DELETE FROM links WHERE src IN gone OR dst IN gone").rowcount
    keys |= {r[0] for r in c.execute("SELECT vec_key FROM notes WHERE id IN gone")}
    for table in ("notes", "passages"):
        c.execute(f"DELETE FROM {table} WHERE id IN gone")
    c.execute("DELETE FROM note_versions WHERE note_id IN gone")
    c.execute("DELETE FROM pending_evolution WHERE note_id IN gone")
    c.execute("DELETE FROM extraction_failures WHERE passage_id IN gone")
    keys |= {r[0] for r in c.execute("SELECT vec_key FROM triples WHERE id NOT IN "
                                      "(SELECT triple_id FROM triple_sources)")}
    rep.triples = c.execute("DELETE FROM triples WHERE id NOT IN "
                            "(SELECT triple_id FROM triple_sources)").rowcount
    # a fact superseded only by what was just forgotten holds again
    c.execute("UPDATE triples SET valid_to=NULL, superseded_by=NULL WHERE superseded_by "
              "IS NOT NULL AND superseded_by NOT IN (SELECT id FROM triples)")
    keys |= {r[0] for r in c.execute("SELECT vec_key FROM entities WHERE id NOT IN "
                                      "(SELECT entity_id FROM mentions)")}
    rep.entities = c.execute("DELETE FROM entities WHERE id NOT IN "
                             "(SELECT entity_id FROM mentions)").rowcount
    rep.edges += c.execute("DELETE FROM synonyms WHERE a NOT IN (SELECT id FROM entities)"
                           " OR b NOT IN (SELECT id FROM entities)").rowcount

    # vectors nothing current refers to any more, cached answers and log lines about it
    c.execute("CREATE TEMP TABLE IF NOT EXISTS gone_keys(key TEXT PRIMARY KEY)")
    c.execute("DELETE FROM gone_keys")
    c.executemany("INSERT OR IGNORE INTO gone_keys(key) VALUES(?)", [(k,) for k in keys])
    for table in ("passages", "notes", "entities", "triples"):
        c.execute(f"DELETE FROM gone_keys WHERE key IN (SELECT vec_key FROM {table})")
    rep.vectors = c.execute("DELETE FROM vectors WHERE key IN gone_keys").rowcount
    cache_keys = [r[0] for r in c.execute(
        "SELECT DISTINCT key FROM llm_cache_refs WHERE passage_id IN gone")]
    for k in cache_keys:
        rep.cache_entries += c.execute("DELETE FROM llm_cache WHERE key=?", (k,)).rowcount
        c.execute("DELETE FROM llm_cache_refs WHERE key=?", (k,))
    c.execute("DELETE FROM ingest_log WHERE source IN gone OR source LIKE ? ESCAPE '\\'",
              (doc_id.replace("_", "\\_").replace("%", "\\%") + "#%",))
    c.execute("DELETE FROM gone")
    c.execute("DELETE FROM gone_keys")
    return rep
