"""The Bolt timeline: documents' event times and facts' validity (see ``TimelineStore``).

Event times are ``Document.event_at`` (indexed); ISO strings compare as text in Cypher
as they do in SQL, so both backends answer windows the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from graphmem.store.base import TimelineStore
from graphmem.store.bolt.conn import Bolt, Tx
from graphmem.store.records import FactRow
from graphmem.store.sqlite.schema import now
from graphmem.types import EvolutionEvent

_FACT_RETURN = ("OPTIONAL MATCH (s:Entity {id: f.subject_id}) "
                "OPTIONAL MATCH (o:Entity {id: f.object_id}) RETURN DISTINCT f.id AS id, "
                "f.subject_id AS si, f.predicate AS p, f.object_id AS oi, f.text AS t, "
                "s.name AS s, o.name AS o, f.valid_from AS vf, f.valid_to AS vt, f.seq AS seq "
                "ORDER BY seq")


def _facts(rows: list[dict]) -> list[FactRow]:
    return [FactRow(r["id"], r["si"], r["p"], r["oi"], r["t"], r["s"] or "", r["o"] or "",
                    r["vf"], r["vt"]) for r in rows]


class BoltTimeline(TimelineStore):
    def __init__(self, db: Bolt) -> None:
        self.db = db

    def passages_in_window(self, start: str | None, end: str | None,
                           namespace: str | None = None) -> set[str]:
        where = ["true"]
        if start is not None:
            where.append("coalesce(d.event_at, d.created_at) >= $start")
        if end is not None:
            where.append("coalesce(d.event_at, d.created_at) < $end")
        if namespace is not None:
            where.append("d.namespace = $ns")
        rows = self.db.q("MATCH (d:Document)-[:HAS]->(p:Passage) WHERE " + " AND ".join(where)
                         + " RETURN DISTINCT p.id AS id", start=start, end=end, ns=namespace)
        return {r["id"] for r in rows}

    def passage_times(self, ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self.db.q("UNWIND $ids AS id MATCH (d:Document)-[:HAS]->(p:Passage {id: id}) "
                         "WHERE d.event_at IS NOT NULL RETURN p.id AS id, d.event_at AS t",
                         ids=list(dict.fromkeys(ids)))
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(r["id"], []).append(r["t"])
        return {k: sorted(v) for k, v in out.items()}

    def latest_event(self, namespace: str | None = None) -> str | None:
        where = " WHERE d.namespace = $ns" if namespace is not None else ""
        rows = self.db.q(f"MATCH (d:Document){where} RETURN max(d.event_at) AS t", ns=namespace)
        return rows[0]["t"] if rows else None

    def fact_validity(self, ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        rows = self.db.q("UNWIND $ids AS id MATCH (f:Fact {id: id}) RETURN f.id AS id, "
                         "f.valid_from AS vf, f.valid_to AS vt", ids=list(dict.fromkeys(ids)))
        return {r["id"]: (r["vf"], r["vt"]) for r in rows}

    def passage_facts(self, passage_ids: Iterable[str]) -> list[FactRow]:
        return _facts(self.db.q("UNWIND $ids AS pid MATCH (f:Fact)-[:FROM]->(:Passage {id: pid}) "
                                "WITH DISTINCT f " + _FACT_RETURN,
                                ids=list(dict.fromkeys(passage_ids))))

    def current_facts(self, subject_ids: Iterable[str]) -> list[FactRow]:
        return _facts(self.db.q("UNWIND $ids AS sid MATCH (f:Fact {subject_id: sid}) "
                                "WHERE f.valid_to IS NULL WITH DISTINCT f " + _FACT_RETURN,
                                ids=list(dict.fromkeys(subject_ids))))

    def supersede(self, pairs: list[tuple[str, str]], event: EvolutionEvent) -> None:
        stamp = now()

        def fn(t: Tx) -> None:
            t.run("UNWIND $pairs AS p MATCH (old:Fact {id: p[0]}), (new:Fact {id: p[1]}) "
                  "WHERE old.valid_to IS NULL "
                  "SET old.valid_to = coalesce(new.valid_from, $at), old.superseded_by = new.id",
                  pairs=[list(p) for p in pairs], at=stamp)
            seq = t.run("MATCH (s:GMStore {key: 'store'}) SET s.seq = s.seq + 1 "
                        "RETURN s.seq AS s")[0]["s"]
            t.run("CREATE (:Event {id: $id, note_id: $note, model: $model, decision: $d, "
                  "created_at: $at, kind: 'supersede', seq: $seq})", id=event.id,
                  note=event.note_id, model=event.model, d=json.dumps(event.decision), at=stamp,
                  seq=seq)

        self.db.write(fn)
