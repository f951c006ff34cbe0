"""Reads of the SQLite graph: documents, passages, entities, facts, edges.

Writes that span the graph, the vectors and the notes (an indexing batch, a deletion)
live in the facade (``store.py``), where they share one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from graphmem.store.base import GraphStore
from graphmem.store.records import DocumentInfo, EntityRow, FactRow
from graphmem.store.sqlite.db import Database
from graphmem.types import Passage

EDGE_SQL = {
    "relation": "SELECT t.subject_id, t.object_id, COUNT(*) FROM triples t JOIN triple_sources s "
                "ON s.triple_id = t.id WHERE t.subject_id != t.object_id GROUP BY 1, 2",
    "mention": "SELECT passage_id, entity_id, 1.0 FROM mentions",
    "synonym": "SELECT a, b, score FROM synonyms",
    "link": "SELECT MIN(src, dst), MAX(src, dst), COUNT(*) FROM links WHERE src != dst "
            "GROUP BY 1, 2",
}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SQLiteGraph(GraphStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def _grouped(self, sql: str, ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self.db.q_in(sql, ids):
            out.setdefault(key, []).append(value)
        return out

    # --- documents and passages -----------------------------------------------------
    def document_status(self, doc_ids: Iterable[str]) -> dict[str, bool]:
        rows = self.db.q_in("SELECT id, complete FROM documents WHERE id IN ({})", doc_ids)
        return {r[0]: bool(r[1]) for r in rows}

    def documents(self, source: str | None = None, namespace: str | None = None,
                  limit: int | None = None) -> list[DocumentInfo]:
        sql = ("SELECT id, title, source, n_passages, complete, created_at, timestamp, "
               "namespace, metadata FROM documents")
        where, params = [], []
        if source is not None:
            where.append("source_key = ?")
            params.append(source)
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [DocumentInfo(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7],
                             json.loads(r[8] or "{}"))
                for r in self.db.q(sql, params)]

    def passage_ids(self, doc_id: str | None = None) -> list[str]:
        if doc_id is None:
            return [r[0] for r in self.db.q("SELECT id FROM passages ORDER BY rowid")]
        return [r[0] for r in self.db.q(
            "SELECT passage_id FROM doc_passages WHERE doc_id=? ORDER BY idx", (doc_id,))]

    def get_passages(self, ids: Iterable[str]) -> dict[str, Passage]:
        ids = list(ids)
        rows = self.db.q_in(
            "SELECT p.id, p.title, p.text, p.timestamp, d.idx, d.doc_id, p.namespace "
            "FROM passages p LEFT JOIN doc_passages d ON d.passage_id = p.id WHERE p.id IN ({}) "
            "ORDER BY d.rowid", ids)
        out: dict[str, Passage] = {}
        for pid, title, text, ts, idx, doc, ns in rows:
            if pid not in out:
                out[pid] = Passage(title=title, text=text, doc_id=doc or "", index=idx or 0,
                                   timestamp=ts, namespace=ns or "")
        return out

    def passage_documents(self, ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("SELECT passage_id, doc_id FROM doc_passages WHERE passage_id "
                             "IN ({}) ORDER BY rowid", ids)

    # --- graph ----------------------------------------------------------------------
    def entities(self, contains: str | None = None, limit: int | None = None
                 ) -> list[EntityRow]:
        sql = ("SELECT e.id, e.name, e.type, (SELECT COUNT(*) FROM mentions m "
               "WHERE m.entity_id = e.id) FROM entities e")
        params: list = []
        if contains:
            sql += " WHERE e.name LIKE ? ESCAPE '\\'"
            params.append(_like(contains.lower()))
        sql += " ORDER BY e.rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [EntityRow(*r) for r in self.db.q(sql, params)]

    def facts(self, entity_id: str | None = None, contains: str | None = None,
              limit: int | None = None) -> list[FactRow]:
        sql = ("SELECT t.id, t.subject_id, t.predicate, t.object_id, t.text, s.name, o.name, "
               "t.valid_from, t.valid_to FROM triples t LEFT JOIN entities s ON s.id = "
               "t.subject_id LEFT JOIN entities o ON o.id = t.object_id")
        where, params = [], []
        if entity_id is not None:
            where.append("(t.subject_id = ? OR t.object_id = ?)")
            params += [entity_id, entity_id]
        if contains:
            where.append("t.text LIKE ? ESCAPE '\\'")
            params.append(_like(contains.lower()))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY t.rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [FactRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6] or "", r[7], r[8])
                for r in self.db.q(sql, params)]

    def known_entities(self, ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self.db.q_in("SELECT id FROM entities WHERE id IN ({})", ids)}

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
        wanted = set(kinds) if kinds is not None else set(EDGE_SQL)
        with self.db.read() as c:
            rows = {k: c.execute(EDGE_SQL[k]).fetchall() for k in EDGE_SQL if k in wanted}
        for kind, found in rows.items():
            for a, b, w in found:
                yield a, b, float(w), kind

    def failed_passages(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        if doc_ids is None:
            rows = self.db.q("SELECT passage_id, reason FROM extraction_failures")
        else:
            rows = self.db.q_in(
                "SELECT f.passage_id, f.reason FROM extraction_failures f JOIN doc_passages d "
                "ON d.passage_id = f.passage_id WHERE d.doc_id IN ({})", doc_ids)
        return dict(rows)
