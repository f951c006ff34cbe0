"""The graph model of a memory on a Bolt server, and opening it.

One memory per database. Nodes: ``Document``, ``Passage``, ``Entity``, ``Fact`` (a
triple, with ``subject_id`` / ``object_id``), ``Note`` (a passage's Zettelkasten side),
``NoteVersion``, ``Event``; bookkeeping nodes ``GMStore`` (identity and counters),
``GMMeta``, ``GMVector`` (embedding cache), ``GMCache`` / ``GMUsage`` / ``GMLog`` (LLM
and ingest bookkeeping), ``GMFailure``, ``GMPending``, ``GMDeletion``. Relationships
always run one way (ArcadeDB's undirected MERGE is unreliable, and a canonical direction
makes every pair unique): ``(Document)-[:HAS {idx}]->(Passage)``,
``(Passage)-[:MENTIONS]->(Entity)``, ``(Fact)-[:FROM]->(Passage)``,
``(Entity)-[:RELATES {fact_id, predicate}]->(Entity)`` (for people browsing the graph),
``(Entity)-[:SYNONYM]->(Entity)`` (lower id first), ``(Note)-[:LINK]->(Note)``.
Vectors are float32 bytes, base64-encoded (``codec.py``), on the nodes that own them.
Every node and relationship retrieval reads carries ``gen``; ``seq`` keeps insertion
order.
"""

from __future__ import annotations

import uuid

from graphmem.store.base import SCHEMA_VERSION, SchemaMismatch, StoreError, StoreNotFound
from graphmem.store.bolt.conn import STORE_MATCH, Bolt, Tx
from graphmem.store.sqlite.schema import now

UNIQUE = [("GMStore", "key"), ("GMMeta", "key"), ("Document", "id"), ("Passage", "id"),
          ("Entity", "id"), ("Fact", "id"), ("Note", "id"), ("Event", "id"),
          ("GMVector", "key"), ("GMCache", "key"), ("GMFailure", "passage_id"),
          ("GMPending", "note_id"), ("GMDeletion", "id")]
INDEXED = [("Document", "source_key"), ("Document", "namespace"), ("Document", "event_at"),
           ("Fact", "superseded_by"), ("Passage", "gen"),
           ("Entity", "gen"), ("Entity", "name"), ("Fact", "gen"), ("Fact", "subject_id"),
           ("Fact", "object_id"), ("Note", "gen"), ("GMChange", "gen"),
           ("NoteVersion", "note_id"),
           ("NoteVersion", "event_id"), ("Event", "note_id"), ("GMLog", "seq"),
           ("GMUsage", "model")]


def ensure_schema(db: Bolt) -> None:
    """Uniqueness constraints and indexes (idempotent; Neo4j 5 syntax)."""
    with db.driver.session(database=db.database) as s:
        for label, prop in UNIQUE:
            s.run(f"CREATE CONSTRAINT gm_{label.lower()}_{prop} IF NOT EXISTS "
                  f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE").consume()
        for label, prop in INDEXED:
            s.run(f"CREATE INDEX gm_{label.lower()}_{prop} IF NOT EXISTS "
                  f"FOR (n:{label}) ON (n.{prop})").consume()


def open_or_create(db: Bolt, create: bool, embedding_model: str | None) -> dict:
    """The store node's properties, after creating the store if asked and needed."""
    rows = db.q(f"{STORE_MATCH} RETURN properties(s) AS p")
    if not rows:
        if not create:
            raise StoreNotFound(f"there is no graphmem memory in database {db.database!r} at "
                                f"{db.location}; index something into it first")
        if db.read_only:
            raise StoreError(f"cannot create a memory at {db.location}: opened read-only")
        ensure_schema(db)
        props = {"uuid": uuid.uuid4().hex, "schema_version": SCHEMA_VERSION, "generation": 0,
                 "destructive_gen": 0, "seq": 0, "strings_embedded": 0, "created_at": now(),
                 "embedding_model": embedding_model}
        with db.driver.session(database=db.database) as s:
            s.execute_write(lambda tx: tx.run(
                "MERGE (s:GMStore {key: 'store'}) ON CREATE SET s += $p", p=props).consume())
        rows = db.q(f"{STORE_MATCH} RETURN properties(s) AS p")
    props = rows[0]["p"]
    version = int(props.get("schema_version") or 0)
    if version == 2 and not db.read_only:
        _upgrade_v2(db)
        version = SCHEMA_VERSION
    if version != SCHEMA_VERSION:
        raise SchemaMismatch(f"the memory at {db.location} has schema version {version}; this "
                             f"graphmem reads version {SCHEMA_VERSION}")
    stored = props.get("embedding_model")
    if embedding_model and stored and stored != embedding_model:
        raise StoreError(f"the memory at {db.location} was built with embedding model "
                         f"{stored!r}, not {embedding_model!r}; vectors from different models "
                         "cannot be mixed (convert it with `graphmem reembed`)")
    if embedding_model and not stored and not db.read_only:
        db.write(lambda t: t.run(f"{STORE_MATCH} SET s.embedding_model = $m",
                                 m=embedding_model), lock=False)
    return props


def _upgrade_v2(db: Bolt) -> None:
    """v2 -> v3: each document's event time (from its timestamp, else ingestion time)."""
    from graphmem.when import event_time

    ensure_schema(db)
    docs = db.q("MATCH (d:Document) RETURN d.id AS id, d.timestamp AS ts, d.created_at AS c, "
                "d.source AS src")
    rows = [{"id": d["id"], "t": event_time(d["ts"], d["c"] if d["src"] == "add" else None)}
            for d in docs]

    def fn(t: Tx) -> None:
        t.run("UNWIND $rows AS r MATCH (d:Document {id: r.id}) SET d.event_at = r.t", rows=rows)
        t.run(f"{STORE_MATCH} SET s.schema_version = $v", v=SCHEMA_VERSION)

    db.write(fn, lock=False)
