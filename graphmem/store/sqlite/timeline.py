"""The SQLite timeline: documents' event times and facts' validity (see ``TimelineStore``).

Event times sit on ``documents.event_at`` (indexed), not on passages: a passage is stored
once however often it is said, but each saying has its own time. A document without one
(indexed with no date) falls in a time window by its ingestion time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from graphmem.store.base import TimelineStore
from graphmem.store.records import FactRow
from graphmem.store.sqlite.db import Database
from graphmem.store.sqlite.schema import now
from graphmem.types import EvolutionEvent

_FACT_COLS = ("SELECT t.id, t.subject_id, t.predicate, t.object_id, t.text, s.name, o.name, "
              "t.valid_from, t.valid_to FROM triples t LEFT JOIN entities s ON s.id = "
              "t.subject_id LEFT JOIN entities o ON o.id = t.object_id")


def _fact(r: tuple) -> FactRow:
    return FactRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6] or "", r[7], r[8])


class SQLiteTimeline(TimelineStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def passages_in_window(self, start: str | None, end: str | None,
                           namespace: str | None = None) -> set[str]:
        where, params = [], []
        if start is not None:
            where.append("COALESCE(d.event_at, d.created_at) >= ?")
            params.append(start)
        if end is not None:
            where.append("COALESCE(d.event_at, d.created_at) < ?")
            params.append(end)
        if namespace is not None:
            where.append("d.namespace = ?")
            params.append(namespace)
        sql = ("SELECT DISTINCT dp.passage_id FROM documents d JOIN doc_passages dp ON "
               "dp.doc_id = d.id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        return {r[0] for r in self.db.q(sql, params)}

    def passage_times(self, ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for pid, t in self.db.q_in(
                "SELECT dp.passage_id, d.event_at FROM doc_passages dp JOIN documents d ON "
                "d.id = dp.doc_id WHERE dp.passage_id IN ({}) ORDER BY d.event_at", ids):
            if t is not None:
                out.setdefault(pid, []).append(t)
        return out

    def latest_event(self, namespace: str | None = None) -> str | None:
        if namespace is None:
            row = self.db.one("SELECT MAX(event_at) FROM documents")
        else:
            row = self.db.one("SELECT MAX(event_at) FROM documents WHERE namespace = ?",
                              (namespace,))
        return row[0] if row else None

    def fact_validity(self, ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        return {r[0]: (r[1], r[2]) for r in self.db.q_in(
            "SELECT id, valid_from, valid_to FROM triples WHERE id IN ({})", ids)}

    def passage_facts(self, passage_ids: Iterable[str]) -> list[FactRow]:
        return [_fact(r) for r in self.db.q_in(
            _FACT_COLS + " WHERE t.id IN (SELECT triple_id FROM triple_sources WHERE "
            "passage_id IN ({})) ORDER BY t.rowid", passage_ids)]

    def current_facts(self, subject_ids: Iterable[str]) -> list[FactRow]:
        return [_fact(r) for r in self.db.q_in(
            _FACT_COLS + " WHERE t.subject_id IN ({}) AND t.valid_to IS NULL ORDER BY t.rowid",
            subject_ids)]

    def supersede(self, pairs: list[tuple[str, str]], event: EvolutionEvent) -> None:
        stamp = now()
        with self.db.write() as tx:
            c = tx.c
            for old, new in pairs:
                row = c.execute("SELECT valid_from FROM triples WHERE id=?", (new,)).fetchone()
                if row is None:
                    continue
                c.execute("UPDATE triples SET valid_to=?, superseded_by=? WHERE id=? AND "
                          "valid_to IS NULL", (row[0] or stamp, new, old))
            c.execute("INSERT INTO events(id, note_id, model, decision, created_at, kind) "
                      "VALUES(?,?,?,?,?,?)", (event.id, event.note_id, event.model,
                                              json.dumps(event.decision), stamp, "supersede"))
