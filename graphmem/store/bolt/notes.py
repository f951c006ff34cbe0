"""Notes, versions, evolution events and links on a Bolt server.

Same rules as the SQLite note store: every change is a new ``NoteVersion`` tied to its
event, links and re-embedded notes move the generation, a revert is destructive (readers
re-read everything). The restore step is shared with document deletion (``forget.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np

from graphmem.embeddings import text_hash
from graphmem.store.base import NoteStore, NotFound, StoreError
from graphmem.store.bolt.codec import encode
from graphmem.store.bolt.conn import Bolt, Tx
from graphmem.store.records import NoteUpdate
from graphmem.store.sqlite.schema import now
from graphmem.types import EvolutionEvent, Link, Note, NoteVersion


def write_version(t: Tx, note: Note, version: int, event_id: str | None, stamp: str) -> None:
    key = text_hash(note.embed_text())
    t.run("MATCH (n:Note {id: $id}) OPTIONAL MATCH (v:GMVector {key: $key}) SET n.keywords = "
          "$kw, n.tags = $tags, n.context = $ctx, n.version = $ver, n.vec_key = $key, "
          "n.vec = coalesce(v.vec, n.vec), n.updated_at = $at, n.gen = $gen", id=note.id,
          key=key, kw=json.dumps(note.keywords), tags=json.dumps(note.tags), ctx=note.context,
          ver=version, at=stamp, gen=t.gen)
    t.run("CREATE (:NoteVersion {note_id: $id, version: $ver, keywords: $kw, tags: $tags, "
          "context: $ctx, event_id: $ev, created_at: $at})", id=note.id, ver=version,
          kw=json.dumps(note.keywords), tags=json.dumps(note.tags), ctx=note.context,
          ev=event_id, at=stamp)


def restore_event(t: Tx, event_id: str, marker: str, stamp: str) -> list[str]:
    """Give every note ``event_id`` rewrote its previous attributes back (as a version tied
    to ``marker``) and drop the event's links; StoreError if rewritten again since."""
    restored = []
    changed = t.run("MATCH (v:NoteVersion {event_id: $ev}) RETURN v.note_id AS id, "
                    "v.version AS ver", ev=event_id)
    for row in changed:
        cur = t.run("MATCH (n:Note {id: $id}) OPTIONAL MATCH (p:Passage {id: $id}) "
                    "RETURN n.version AS ver, p.title AS title, p.text AS text", id=row["id"])
        if not cur:
            continue
        if cur[0]["ver"] != row["ver"]:
            raise StoreError(f"note {row['id']} was rewritten again after event {event_id} "
                             f"(now at version {cur[0]['ver']}); revert the later events first")
        prev = t.run("MATCH (v:NoteVersion {note_id: $id, version: $ver}) RETURN "
                     "v.keywords AS kw, v.tags AS tags, v.context AS ctx",
                     id=row["id"], ver=row["ver"] - 1)[0]
        note = Note(id=row["id"], content=cur[0]["text"] or "", title=cur[0]["title"] or "",
                    keywords=json.loads(prev["kw"]), tags=json.loads(prev["tags"]),
                    context=prev["ctx"])
        write_version(t, note, cur[0]["ver"] + 1, marker, stamp)
        restored.append(row["id"])
    t.run("MATCH ()-[x:LINK {event_id: $ev}]->() DELETE x", ev=event_id)
    t.run("MATCH (e:Event {id: $ev}) SET e.reverted_at = $at", ev=event_id, at=stamp)
    return restored


class BoltNotes(NoteStore):
    def __init__(self, db: Bolt) -> None:
        self.db = db

    def get(self, ids: Iterable[str]) -> dict[str, Note]:
        rows = self.db.q(
            "UNWIND $ids AS id MATCH (n:Note {id: id}) MATCH (p:Passage {id: id}) "
            "OPTIONAL MATCH (n)-[l:LINK]->(m:Note) WITH n, p, l, m ORDER BY l.seq, l.created_at "
            "RETURN n.id AS id, p.text AS text, p.title AS title, p.timestamp AS ts, "
            "n.keywords AS kw, n.tags AS tags, n.context AS ctx, n.version AS ver, "
            "n.metadata AS meta, collect(m.id) AS links", ids=list(dict.fromkeys(ids)))
        return {r["id"]: Note(id=r["id"], content=r["text"], title=r["title"] or "",
                              timestamp=r["ts"], keywords=json.loads(r["kw"]),
                              tags=json.loads(r["tags"]), context=r["ctx"] or "",
                              links=[x for x in r["links"] if x], version=int(r["ver"]),
                              metadata=json.loads(r["meta"] or "{}")) for r in rows}

    def with_tags(self, tags: Iterable[str]) -> list[str]:
        wanted = [t.strip().lower() for t in tags if t.strip()]
        if not wanted:
            return []
        rows = self.db.q("MATCH (n:Note) WHERE any(t IN $tags WHERE toLower(n.tags) CONTAINS t) "
                         "RETURN n.id AS id, n.tags AS tags", tags=[json.dumps(t) for t in wanted])
        return [r["id"] for r in rows if set(wanted) & {x.lower() for x in json.loads(r["tags"])}]

    def history(self, note_id: str) -> list[NoteVersion]:
        rows = self.db.q("MATCH (v:NoteVersion {note_id: $id}) RETURN properties(v) AS v "
                         "ORDER BY v.version", id=note_id)
        return [NoteVersion(v["note_id"], int(v["version"]), json.loads(v["keywords"]),
                            json.loads(v["tags"]), v["context"], v.get("event_id"),
                            v["created_at"]) for v in (r["v"] for r in rows)]

    def events(self, note_id: str | None = None, limit: int | None = None
               ) -> list[EvolutionEvent]:
        if note_id is None:
            rows = self.db.q("MATCH (e:Event) RETURN properties(e) AS e ORDER BY e.seq")
        else:
            evs = [r["ev"] for r in self.db.q("MATCH (v:NoteVersion {note_id: $id}) WHERE "
                                              "v.event_id IS NOT NULL RETURN v.event_id AS ev",
                                              id=note_id)]
            rows = self.db.q("MATCH (e:Event) WHERE e.note_id = $id OR e.id IN $evs "
                             "RETURN properties(e) AS e ORDER BY e.seq", id=note_id, evs=evs)
        evs = [EvolutionEvent(e["id"], e["note_id"], e["model"], json.loads(e["decision"]),
                              e["created_at"], e.get("reverted_at"), e.get("kind", "evolution"))
               for e in (r["e"] for r in rows)]
        return evs[-limit:] if limit is not None else evs

    def links(self, note_id: str | None = None) -> list[Link]:
        where = " WHERE a.id = $id OR b.id = $id" if note_id is not None else ""
        rows = self.db.q(f"MATCH (a:Note)-[x:LINK]->(b:Note){where} RETURN a.id AS src, "
                         "b.id AS dst, x.reason AS reason, x.event_id AS ev "
                         "ORDER BY x.created_at, x.seq", id=note_id)
        return [Link(r["src"], r["dst"], r["reason"] or "", r["ev"]) for r in rows]

    def apply_event(self, event: EvolutionEvent, updates: list[NoteUpdate], links: list[Link],
                    vectors: dict[str, np.ndarray]) -> None:
        stamp = now()

        def fn(t: Tx) -> None:
            t.run("UNWIND $rows AS r MERGE (v:GMVector {key: r.key}) ON CREATE SET v.vec = r.vec",
                  rows=[{"key": k, "vec": encode(v)} for k, v in vectors.items()])
            seq = t.run("MATCH (s:GMStore {key: 'store'}) SET s.seq = s.seq + 1 "
                        "RETURN s.seq AS s")[0]["s"]
            t.run("CREATE (:Event {id: $id, note_id: $note, model: $model, decision: $d, "
                  "created_at: $at, kind: $kind, seq: $seq})", id=event.id, note=event.note_id,
                  model=event.model, d=json.dumps(event.decision), at=stamp, kind=event.kind,
                  seq=seq)
            for up in updates:
                row = t.run("MATCH (n:Note {id: $id}) RETURN n.version AS v", id=up.note.id)
                if not row:
                    raise StoreError(f"note {up.note.id} does not exist")
                if row[0]["v"] != up.previous_version:
                    raise StoreError(f"note {up.note.id} changed (version {row[0]['v']}, "
                                     f"expected {up.previous_version}); evolution event not "
                                     "applied")
                key = text_hash(up.note.embed_text())
                if not t.run("MATCH (v:GMVector {key: $k}) WHERE v.vec IS NOT NULL "
                             "RETURN 1 AS x", k=key):
                    raise StoreError(f"no embedding given for the new text of note {up.note.id}")
                write_version(t, up.note, row[0]["v"] + 1, event.id, stamp)
                t.touched("Note", [up.note.id])
                t.visible = True
            for i, link in enumerate(links):
                ends = t.run("UNWIND $ids AS id MATCH (n:Note {id: id}) RETURN n.id AS id",
                             ids=[link.src, link.dst])
                if len({r["id"] for r in ends}) < len({link.src, link.dst}):
                    raise StoreError(f"link between unknown notes {link.src} -> {link.dst}")
                made = t.run("MATCH (a:Note {id: $s}), (b:Note {id: $d}) MERGE (a)-[x:LINK]->(b) "
                             "ON CREATE SET x.reason = $r, x.event_id = $ev, x.created_at = $at, "
                             "x.gen = $gen, x.seq = $seq RETURN x.gen = $gen AS created",
                             s=link.src, d=link.dst, r=link.reason, ev=event.id, at=stamp,
                             gen=t.gen, seq=seq * 1000 + i)
                t.visible = t.visible or bool(made and made[0]["created"])
                t.notes.add(link.src)
            t.run("MATCH (x:GMPending {note_id: $id}) DELETE x", id=event.note_id)

        self.db.write(fn)

    def revert_event(self, event_id: str) -> list[str]:
        stamp = now()

        def fn(t: Tx) -> list[str]:
            ev = t.run("MATCH (e:Event {id: $id}) RETURN e.reverted_at AS r, e.kind AS kind, "
                       "e.decision AS d", id=event_id)
            if not ev:
                raise NotFound(f"no evolution event {event_id!r} in this store")
            if ev[0]["r"] is not None:
                raise StoreError(f"event {event_id} was already reverted at {ev[0]['r']}")
            if ev[0]["kind"] == "supersede":  # the older facts hold again
                t.run("UNWIND $pairs AS p MATCH (f:Fact {id: p[0]}) WHERE f.superseded_by = p[1] "
                      "SET f.valid_to = null, f.superseded_by = null",
                      pairs=json.loads(ev[0]["d"]).get("pairs", []))
            t.destructive = True
            return restore_event(t, event_id, f"revert:{event_id}", stamp)

        return self.db.write(fn)

    def pending_evolution(self) -> list[str]:
        return [r["id"] for r in self.db.q("MATCH (x:GMPending) RETURN x.note_id AS id "
                                           "ORDER BY x.created_at")]

    def finish_evolution(self, note_id: str, outcome: str) -> None:
        self.db.write(lambda t: t.run("MATCH (x:GMPending {note_id: $id}) DELETE x", id=note_id))
