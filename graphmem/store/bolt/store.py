"""A memory on a Bolt server (Neo4j 5.x, ArcadeDB) through the official ``neo4j`` driver.

What runs where: the graph, the vectors (float32 bytes on their nodes), the notes and
their history, the LLM cache and the ingest log live on the server, shared by every
process and machine. Retrieval stays local: each process keeps a snapshot of what it
reads (ids, vectors, edges), cached on local disk under
``<cache_dir>/bolt/<hash of URI and database>/``, keyed by the store's UUID and
generation, and refreshed by fetching only what changed since (``read_delta``); PPR runs
in numba over that snapshot. Nothing requires GDS.

Consistency of reads: Neo4j reads are read-committed, not snapshots. Writers commit one
at a time in generation order (each takes the store node's lock first), so a reader that
fetches only rows with ``gen <= G`` (G read first) sees exactly generation G; a deletion
meanwhile (``destructive_gen`` moves) makes it read again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.store.base import NotFound, Store, StoreError
from graphmem.store.bolt.codec import matrix
from graphmem.store.bolt.conn import STORE_MATCH, Bolt, Tx
from graphmem.store.bolt.forget import forget_document
from graphmem.store.bolt.graph import BoltGraph
from graphmem.store.bolt.kv import BoltKV, BoltVectors
from graphmem.store.bolt.notes import BoltNotes
from graphmem.store.bolt.schema import open_or_create
from graphmem.store.bolt.timeline import BoltTimeline
from graphmem.store.bolt.write import write_batch
from graphmem.store.records import EDGE_KIND_CODES, BatchResult, DeleteReport, Delta, WriteBatch
from graphmem.text import cut_words

log = logging.getLogger(__name__)

_DELTA = {
    "passage": "MATCH (p:Passage) WHERE p.gen > $s AND p.gen <= $g RETURN p.id AS id, "
               "p.title AS title, p.text AS text, p.vec AS vec, p.timestamp AS ts, "
               "p.namespace AS ns "
               "ORDER BY p.seq",
    "entity": "MATCH (e:Entity) WHERE e.gen > $s AND e.gen <= $g RETURN e.id AS id, "
              "e.name AS name, e.vec AS vec ORDER BY e.seq",
    "fact": "MATCH (f:Fact) WHERE f.gen > $s AND f.gen <= $g RETURN f.id AS id, "
            "f.subject_id AS sub, f.object_id AS obj, f.predicate AS pred, f.text AS text, "
            "f.vec AS vec ORDER BY f.seq",
    "note": "MATCH (n:Note) WHERE n.gen > $s AND n.gen <= $g RETURN n.id AS id, n.vec AS vec "
            "ORDER BY n.seq",
}
_EDGES = (
    ("relation", "MATCH (f:Fact)-[x:FROM]->(:Passage) WHERE x.gen > $s AND x.gen <= $g AND "
                 "f.subject_id <> f.object_id RETURN f.subject_id AS a, f.object_id AS b, "
                 "1.0 AS w"),
    ("mention", "MATCH (p:Passage)-[x:MENTIONS]->(e:Entity) WHERE x.gen > $s AND x.gen <= $g "
                "RETURN p.id AS a, e.id AS b, 1.0 AS w"),
    ("synonym", "MATCH (a:Entity)-[x:SYNONYM]->(b:Entity) WHERE x.gen > $s AND x.gen <= $g "
                "RETURN a.id AS a, b.id AS b, x.score AS w"),
    ("link", "MATCH (a:Note)-[x:LINK]->(b:Note) WHERE x.gen > $s AND x.gen <= $g AND "
             "a.id <> b.id RETURN a.id AS a, b.id AS b, 1.0 AS w"),
)


_DELTA_BY_ID = {kind: "UNWIND $ids AS id " + cypher.replace(
    f"({v}:{label})", f"({v}:{label} {{id: id}})", 1)
    for (kind, cypher), (v, label) in zip(_DELTA.items(), (("p", "Passage"), ("e", "Entity"),
                                                          ("f", "Fact"), ("n", "Note")),
                                          strict=True)}
"""The same node queries, for the ids the change log names."""
_IN = "x.gen > $s AND x.gen <= $g"
_NEW_EDGES = (
    ("relation", "p", "UNWIND $ids AS id MATCH (f:Fact)-[x:FROM]->(:Passage {id: id}) WHERE "
                      f"{_IN} AND f.subject_id <> f.object_id RETURN f.subject_id AS a, "
                      "f.object_id AS b, 1.0 AS w"),
    ("mention", "p", "UNWIND $ids AS id MATCH (p:Passage {id: id})-[x:MENTIONS]->(e:Entity) "
                     f"WHERE {_IN} RETURN p.id AS a, e.id AS b, 1.0 AS w"),
    ("synonym", "e", "UNWIND $ids AS id MATCH (a:Entity {id: id})-[x:SYNONYM]->(b:Entity) "
                     f"WHERE {_IN} RETURN a.id AS a, b.id AS b, x.score AS w"),
    ("link", "n", "UNWIND $ids AS id MATCH (a:Note {id: id})-[x:LINK]->(b:Note) WHERE "
                  f"{_IN} AND a.id <> b.id RETURN a.id AS a, b.id AS b, 1.0 AS w"),
)
"""Edges of one generation range, by the ids the change log recorded (``conn.Tx``)."""


def _matrix(rows: list[dict], dim: int) -> np.ndarray:
    return matrix([r["vec"] for r in rows], dim)


class BoltStore(Store):
    """See the module docstring."""

    def __init__(self, uri: str, embedding_model: str | None = None, *, create: bool = True,
                 user: str | None = None, password: str | None = None,
                 database: str = "neo4j", cache_root: Path | None = None,
                 read_only: bool | None = None) -> None:
        self.db = Bolt(uri, user, password, database, bool(read_only))
        self.location = f"{self.db.location} (database {database})"
        self.read_only = bool(read_only)
        try:
            props = open_or_create(self.db, create, embedding_model)
        except BaseException:
            self.db.close()
            raise
        self._uuid = str(props["uuid"])
        self.graph = BoltGraph(self.db)
        self.vectors = BoltVectors(self.db)
        self.notes = BoltNotes(self.db)
        self.time = BoltTimeline(self.db)
        self.kv = BoltKV(self.db)
        root = Path(cache_root or "~/.cache/graphmem").expanduser()
        key = hashlib.sha256(f"{self.db.location}\x00{database}".encode()).hexdigest()[:16]
        self.cache_directory = root / "bolt" / key

    # --- lifecycle and metadata ---------------------------------------------------
    def close(self) -> None:
        self.db.close()

    @property
    def uuid(self) -> str:
        return self._uuid

    @property
    def generation(self) -> int:
        rows = self.db.q(f"{STORE_MATCH} RETURN s.generation AS g")
        return int(rows[0]["g"]) if rows else 0

    def get_meta(self, key: str) -> str | None:
        rows = self.db.q("MATCH (m:GMMeta {key: $k}) RETURN m.value AS v", k=key)
        if rows:
            return rows[0]["v"]
        rows = self.db.q(f"{STORE_MATCH} RETURN properties(s) AS p")
        value = rows[0]["p"].get(key) if rows else None
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.db.write(lambda t: t.run("MERGE (m:GMMeta {key: $k}) SET m.value = $v",
                                      k=key, v=value))

    # --- writes ---------------------------------------------------------------------
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        return self.db.write(lambda t: write_batch(t, batch))

    def delete_document(self, doc_id: str) -> DeleteReport:
        deletion = f"del:{uuid.uuid4().hex[:16]}"

        def fn(t: Tx) -> DeleteReport:
            if not t.run("MATCH (d:Document {id: $id}) RETURN d.id AS id", id=doc_id):
                raise NotFound(f"no document {doc_id!r} in this store")
            t.destructive = True
            return forget_document(t, doc_id, deletion)

        return self.db.write(fn)

    # --- what retrieval reads ---------------------------------------------------------
    def read_delta(self, since: int | None) -> Delta:
        for _ in range(5):
            delta = self.db.read(lambda tx: self._delta(tx, since))
            if delta is not None:
                return delta
        raise StoreError(f"could not read a consistent state of {self.location}: it keeps "
                         "changing under deletions; try again")

    def _delta(self, tx: Any, since: int | None) -> Delta | None:
        s0 = tx.run(f"{STORE_MATCH} RETURN s.generation AS g, s.destructive_gen AS dg, "
                    "s.embedding_dim AS dim").single()
        gen, dgen, dim = int(s0["g"]), int(s0["dg"] or 0), int(s0["dim"] or 0)
        full = since is None or since < dgen or since > gen
        s = -1 if full else since
        d = Delta(generation=gen, full=full, dim=dim)

        log = {} if full else self._change_log(tx, s, gen)

        def fetch(kind: str) -> list[dict]:
            if full:
                return tx.run(_DELTA[kind], s=s, g=gen).data()
            ids = log.get(f"new_{kind}", [])
            return tx.run(_DELTA_BY_ID[kind], s=s, g=gen, ids=ids).data() if ids else []

        rows = fetch("passage")
        d.passage_ids = [r["id"] for r in rows]
        d.passage_labels = [r["title"] or cut_words(r["text"] or "", 40) for r in rows]
        d.passage_times = [r["ts"] for r in rows]
        d.passage_namespaces = [r["ns"] or "" for r in rows]
        d.passage_vectors = _matrix(rows, dim)
        rows = fetch("entity")
        d.entity_ids, d.entity_names = [r["id"] for r in rows], [r["name"] for r in rows]
        d.entity_vectors = _matrix(rows, dim)
        rows = fetch("fact")
        d.fact_ids = [r["id"] for r in rows]
        d.fact_subjects, d.fact_objects = [r["sub"] for r in rows], [r["obj"] for r in rows]
        d.fact_predicates, d.fact_texts = [r["pred"] for r in rows], [r["text"] for r in rows]
        d.fact_vectors = _matrix(rows, dim)
        rows = fetch("note")
        d.note_ids, d.note_vectors = [r["id"] for r in rows], _matrix(rows, dim)
        if full:
            edges = [(kind, tx.run(cypher, s=s, g=gen).data()) for kind, cypher in _EDGES]
        else:
            edges = self._new_edges(tx, s, gen, log)
        for kind, found in edges:
            code = EDGE_KIND_CODES[kind]
            for r in found:
                d.edge_a.append(r["a"])
                d.edge_b.append(r["b"])
                d.edge_w.append(float(r["w"]))
                d.edge_kind.append(code)
        s1 = tx.run(f"{STORE_MATCH} RETURN s.destructive_gen AS dg").single()
        if int(s1["dg"] or 0) != dgen:
            return None  # something was deleted while we read: read again
        return d

    @staticmethod
    def _change_log(tx: Any, s: int, gen: int) -> dict[str, list[str]]:
        """Ids from the change log of generations s+1..gen, by field."""
        logs = tx.run("MATCH (c:GMChange) WHERE c.gen > $s AND c.gen <= $g RETURN "
                      "properties(c) AS c", s=s, g=gen).data()
        out: dict[str, set[str]] = {}
        for r in logs:
            for key, value in r["c"].items():
                if isinstance(value, list):
                    out.setdefault(key, set()).update(value)
        return {k: sorted(v) for k, v in out.items()}

    @staticmethod
    def _new_edges(tx: Any, s: int, gen: int, log: dict[str, list[str]]
                   ) -> list[tuple[str, list[dict]]]:
        """Edges added after generation ``s``, found by the ids they hang on (no scan of
        every relationship)."""
        ids = {"p": log.get("passages", []), "n": log.get("notes", []),
               "e": log.get("entities", [])}

        def fetch(cypher: str, key: str) -> list[dict]:
            if not ids[key]:
                return []
            return tx.run(cypher, s=s, g=gen, ids=ids[key]).data()

        return [(kind, fetch(cypher, key)) for kind, key, cypher in _NEW_EDGES]

    # --- inspection -------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        def count(cypher: str) -> int:
            return int(self.db.q(cypher)[0]["n"])

        label = {"documents": "Document", "passages": "Passage", "entities": "Entity",
                 "triples": "Fact", "notes": "Note", "vectors": "GMVector", "events": "Event"}
        out: dict[str, Any] = {k: count(f"MATCH (x:{v}) RETURN count(x) AS n")
                               for k, v in label.items()}
        out["edges"] = {
            "relation": count("MATCH (f:Fact) WHERE f.subject_id <> f.object_id WITH DISTINCT "
                              "f.subject_id AS a, f.object_id AS b RETURN count(*) AS n"),
            "mention": count("MATCH ()-[x:MENTIONS]->() RETURN count(x) AS n"),
            "synonym": count("MATCH ()-[x:SYNONYM]->() RETURN count(x) AS n"),
            "link": count("MATCH (a:Note)-[:LINK]->(b:Note) WHERE a.id <> b.id WITH DISTINCT "
                          "CASE WHEN a.id < b.id THEN a.id ELSE b.id END AS x, CASE WHEN a.id < "
                          "b.id THEN b.id ELSE a.id END AS y RETURN count(*) AS n")}
        props = self.db.q(f"{STORE_MATCH} RETURN properties(s) AS p")[0]["p"]
        return {"store": self.location, "backend": "bolt", **out,
                "incomplete_documents": count("MATCH (d:Document) WHERE NOT d.complete "
                                              "RETURN count(d) AS n"),
                "failed_extractions": count("MATCH (x:GMFailure) RETURN count(x) AS n"),
                "pending_evolution": count("MATCH (x:GMPending) RETURN count(x) AS n"),
                "strings_embedded": int(props.get("strings_embedded") or 0),
                "embedding_model": props.get("embedding_model"),
                "generation": int(props.get("generation") or 0), "uuid": props.get("uuid"),
                "read_only": self.read_only}
