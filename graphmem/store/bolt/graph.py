"""Reads of the graph on a Bolt server (see ``schema.py`` for the model)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from graphmem.store.base import GraphStore
from graphmem.store.bolt.conn import Bolt
from graphmem.store.records import DocumentInfo, EntityRow, FactRow
from graphmem.types import Passage

EDGE_CYPHER = {
    "relation": "MATCH (f:Fact)-[:FROM]->(:Passage) WHERE f.subject_id <> f.object_id "
                "RETURN f.subject_id AS a, f.object_id AS b, count(*) AS w",
    "mention": "MATCH (p:Passage)-[:MENTIONS]->(e:Entity) RETURN p.id AS a, e.id AS b, 1.0 AS w",
    "synonym": "MATCH (a:Entity)-[x:SYNONYM]->(b:Entity) RETURN a.id AS a, b.id AS b, "
               "x.score AS w",
    "link": "MATCH (a:Note)-[:LINK]->(b:Note) WHERE a.id <> b.id WITH CASE WHEN a.id < b.id "
            "THEN a.id ELSE b.id END AS a, CASE WHEN a.id < b.id THEN b.id ELSE a.id END AS b "
            "RETURN a, b, count(*) AS w",
}


def _limit(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit is not None else ""


class BoltGraph(GraphStore):
    def __init__(self, db: Bolt) -> None:
        self.db = db

    def document_status(self, doc_ids: Iterable[str]) -> dict[str, bool]:
        rows = self.db.q("UNWIND $ids AS id MATCH (d:Document {id: id}) "
                         "RETURN d.id AS id, d.complete AS c", ids=list(dict.fromkeys(doc_ids)))
        return {r["id"]: bool(r["c"]) for r in rows}

    def documents(self, source: str | None = None, namespace: str | None = None,
                  limit: int | None = None) -> list[DocumentInfo]:
        where = []
        if source is not None:
            where.append("d.source_key = $source")
        if namespace is not None:
            where.append("coalesce(d.namespace, '') = $ns")
        rows = self.db.q("MATCH (d:Document)" + (" WHERE " + " AND ".join(where) if where
                                                 else "") +
                         " RETURN properties(d) AS d ORDER BY d.seq" + _limit(limit),
                         source=source, ns=namespace)
        out = []
        for r in rows:
            d = r["d"]
            out.append(DocumentInfo(d["id"], d.get("title", ""), d.get("source", ""),
                                    int(d.get("n_passages") or 0), bool(d.get("complete")),
                                    d.get("created_at", ""), d.get("timestamp"),
                                    d.get("namespace") or "",
                                    json.loads(d.get("metadata") or "{}")))
        return out

    def passage_ids(self, doc_id: str | None = None) -> list[str]:
        if doc_id is None:
            return [r["id"] for r in self.db.q("MATCH (p:Passage) RETURN p.id AS id "
                                               "ORDER BY p.seq")]
        return [r["id"] for r in self.db.q(
            "MATCH (:Document {id: $d})-[h:HAS]->(p:Passage) RETURN p.id AS id ORDER BY h.idx",
            d=doc_id)]

    def get_passages(self, ids: Iterable[str]) -> dict[str, Passage]:
        return self.passages_and_documents(ids)[0]

    def passages_and_documents(self, ids: Iterable[str]
                               ) -> tuple[dict[str, Passage], dict[str, list[str]]]:
        rows = self.db.q(
            "UNWIND $ids AS id MATCH (p:Passage {id: id}) OPTIONAL MATCH (d:Document)-[h:HAS]->(p) "
            "WITH p, d, h ORDER BY d.seq RETURN p.id AS id, p.title AS title, p.text AS text, "
            "p.timestamp AS ts, p.namespace AS ns, collect([d.id, h.idx]) AS docs",
            ids=list(dict.fromkeys(ids)))
        out, by_doc = {}, {}
        for r in rows:
            docs = [x for x in r["docs"] if x[0] is not None]
            doc, idx = docs[0] if docs else ("", 0)
            out[r["id"]] = Passage(title=r["title"] or "", text=r["text"], doc_id=doc or "",
                                   index=idx or 0, timestamp=r["ts"], namespace=r["ns"] or "")
            if docs:
                by_doc[r["id"]] = list(dict.fromkeys(d for d, _ in docs))
        return out, by_doc

    def passage_documents(self, ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self.db.q("UNWIND $ids AS id MATCH (d:Document)-[:HAS]->(p:Passage {id: id}) "
                         "WITH p, d ORDER BY d.seq RETURN p.id AS id, collect(d.id) AS docs",
                         ids=list(dict.fromkeys(ids)))
        return {r["id"]: list(dict.fromkeys(r["docs"])) for r in rows}

    def entities(self, contains: str | None = None, limit: int | None = None
                 ) -> list[EntityRow]:
        where = " WHERE e.name CONTAINS $s" if contains else ""
        rows = self.db.q(f"MATCH (e:Entity){where} WITH e ORDER BY e.seq{_limit(limit)} "
                         "OPTIONAL MATCH (p:Passage)-[:MENTIONS]->(e) "
                         "RETURN e.id AS id, e.name AS name, e.type AS type, count(p) AS n, "
                         "e.seq AS seq ORDER BY seq", s=(contains or "").lower())
        return [EntityRow(r["id"], r["name"], r["type"] or "", int(r["n"])) for r in rows]

    def facts(self, entity_id: str | None = None, contains: str | None = None,
              limit: int | None = None) -> list[FactRow]:
        where = []
        if entity_id is not None:
            where.append("(f.subject_id = $e OR f.object_id = $e)")
        if contains:
            where.append("f.text CONTAINS $s")
        rows = self.db.q(
            "MATCH (f:Fact)" + (" WHERE " + " AND ".join(where) if where else "") +
            f" WITH f ORDER BY f.seq{_limit(limit)} OPTIONAL MATCH (s:Entity {{id: f.subject_id}}) "
            "OPTIONAL MATCH (o:Entity {id: f.object_id}) RETURN f.id AS id, "
            "f.subject_id AS si, f.predicate AS p, f.object_id AS oi, f.text AS t, s.name AS s, "
            "o.name AS o, f.valid_from AS vf, f.valid_to AS vt, f.seq AS seq ORDER BY seq",
            e=entity_id, s=(contains or "").lower())
        return [FactRow(r["id"], r["si"], r["p"], r["oi"], r["t"], r["s"] or "", r["o"] or "",
                        r["vf"], r["vt"]) for r in rows]

    def known_entities(self, ids: Iterable[str]) -> set[str]:
        rows = self.db.q("UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id",
                         ids=list(dict.fromkeys(ids)))
        return {r["id"] for r in rows}

    def _grouped(self, cypher: str, ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self.db.q(cypher, ids=list(dict.fromkeys(ids)))
        return {r["k"]: list(r["v"]) for r in rows if r["v"]}

    def passage_entities(self, passage_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("UNWIND $ids AS id MATCH (p:Passage {id: id})-[:MENTIONS]->"
                             "(e:Entity) RETURN p.id AS k, collect(e.id) AS v", passage_ids)

    def entity_passages(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("UNWIND $ids AS id MATCH (p:Passage)-[:MENTIONS]->"
                             "(e:Entity {id: id}) RETURN e.id AS k, collect(p.id) AS v",
                             entity_ids)

    def fact_passages(self, fact_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._grouped("UNWIND $ids AS id MATCH (f:Fact {id: id})-[:FROM]->(p:Passage) "
                             "RETURN f.id AS k, collect(p.id) AS v", fact_ids)

    def edges(self, kinds: Iterable[str] | None = None) -> Iterator[tuple[str, str, float, str]]:
        wanted = set(kinds) if kinds is not None else set(EDGE_CYPHER)
        for kind, cypher in EDGE_CYPHER.items():
            if kind in wanted:
                for r in self.db.q(cypher):
                    yield r["a"], r["b"], float(r["w"]), kind

    def failed_passages(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        if doc_ids is None:
            rows = self.db.q("MATCH (x:GMFailure) RETURN x.passage_id AS id, x.reason AS r")
        else:
            rows = self.db.q("UNWIND $ids AS d MATCH (:Document {id: d})-[:HAS]->(p:Passage) "
                             "MATCH (x:GMFailure {passage_id: p.id}) RETURN x.passage_id AS id, "
                             "x.reason AS r", ids=list(doc_ids))
        return {r["id"]: r["r"] for r in rows}
