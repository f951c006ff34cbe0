"""Commands that show what a memory holds: stats, entities, facts, notes, events, links,
history, and the two that change history: revert and export of the graph."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphmem.cli import app
from graphmem.cli.common import (
    JsonFlag,
    StoreOpt,
    console,
    emit_json,
    fail_cleanly,
    open_memory,
    plain,
    text,
)
from graphmem.text import cut_words

LimitOpt = Annotated[int, typer.Option("--limit", help="Show at most this many.")]
ContainsOpt = Annotated[str | None, typer.Option("--contains", help="Only those whose text "
                                                                    "contains this.")]


def _table(columns: list[str], rows: list[list[object]]) -> Table:
    table = Table(*columns)
    for r in rows:
        table.add_row(*(text(c) for c in r))
    return table


@app.command()
@fail_cleanly
def stats(store: StoreOpt = None, as_json: JsonFlag = False) -> None:
    """Counts of documents, passages, entities, triples and edges by kind; LLM usage."""
    mem = open_memory(store)
    s = mem.stats()
    usage = mem.store.kv.usage()
    if as_json:
        emit_json({**s, "llm_usage": usage})
        return
    table = Table(title=text(f"graphmem store {s['store']}"), show_header=False)
    for key in ("documents", "passages", "entities", "triples", "notes", "events", "vectors",
                "strings_embedded", "incomplete_documents", "failed_extractions",
                "pending_evolution", "embedding_model"):
        table.add_row(key, text(s.get(key)))
    for kind, n in s["edges"].items():
        table.add_row(f"{kind} edges", str(n))
    console.print(table)
    if usage:
        from graphmem.llm.usage import usage_table

        console.print(usage_table(usage, mem.config.llm_prices))


@app.command()
@fail_cleanly
def entities(store: StoreOpt = None, contains: ContainsOpt = None, limit: LimitOpt = 50,
             as_json: JsonFlag = False) -> None:
    """Entities (graph nodes), with how many passages mention each."""
    rows = open_memory(store).store.graph.entities(contains=contains, limit=limit)
    if as_json:
        emit_json([dataclasses.asdict(e) for e in rows])
        return
    console.print(_table(["id", "name", "type", "passages"],
                         [[e.id, e.name, e.type, e.n_passages] for e in rows]))


@app.command()
@fail_cleanly
def facts(store: StoreOpt = None,
          entity: Annotated[str | None, typer.Option(
              "--entity", help="Only facts about this entity (name or ID).")] = None,
          contains: ContainsOpt = None, limit: LimitOpt = 50, as_json: JsonFlag = False) -> None:
    """Facts (subject, relation, object), with their direction and validity."""
    from graphmem.indexing.normalize import normalize_phrase
    from graphmem.store import entity_id

    eid = None
    if entity:
        eid = entity if entity.startswith("e:") else entity_id(normalize_phrase(entity))
    rows = open_memory(store).store.graph.facts(entity_id=eid, contains=contains, limit=limit)
    if as_json:
        emit_json([dataclasses.asdict(f) for f in rows])
        return
    console.print(_table(["subject", "relation", "object", "valid from", "valid to", "id"],
                         [[f.subject, f.predicate, f.object, f.valid_from or "",
                           f.valid_to or "", f.id] for f in rows]))


@app.command()
@fail_cleanly
def notes(store: StoreOpt = None,
          doc: Annotated[str | None, typer.Option("--doc", help="Only this document's notes.")]
          = None,
          contains: ContainsOpt = None, limit: LimitOpt = 50, as_json: JsonFlag = False) -> None:
    """Notes (each passage is one): keywords, tags, context, links, version."""
    mem = open_memory(store)
    ids = mem.store.graph.passage_ids(doc)
    found = []
    for start in range(0, len(ids), 500):
        part = mem.store.notes.get(ids[start:start + 500])
        for nid in ids[start:start + 500]:
            n = part.get(nid)
            if n is None:
                continue
            hay = " ".join([n.content, n.context, *n.keywords, *n.tags]).lower()
            if contains and contains.lower() not in hay:
                continue
            found.append(n)
            if len(found) >= limit:
                break
        if len(found) >= limit:
            break
    if as_json:
        emit_json([dataclasses.asdict(n) for n in found])
        return
    console.print(_table(["id", "version", "content", "tags", "context", "links"],
                         [[n.id, n.version, cut_words(n.content, 60), ", ".join(n.tags),
                           cut_words(n.context, 60),
                           len(n.links)] for n in found]))


@app.command()
@fail_cleanly
def events(store: StoreOpt = None,
           note: Annotated[str | None, typer.Option("--note", help="Only events about this "
                                                                   "note.")] = None,
           limit: LimitOpt = 50, as_json: JsonFlag = False) -> None:
    """Evolution events: which note caused them, what they linked and rewrote."""
    rows = open_memory(store).store.notes.events(note, limit=limit)
    if as_json:
        emit_json([dataclasses.asdict(e) for e in rows])
        return
    console.print(_table(
        ["id", "kind", "note", "model", "linked", "rewrote", "rejected", "when", "reverted"],
        [[e.id, e.kind, e.note_id, e.model, len(e.decision.get("links", [])),
          len(e.decision.get("rewrote", [])), len(e.decision.get("rejected", [])),
          e.created_at[:19], (e.reverted_at or "")[:19]] for e in rows]))


@app.command()
@fail_cleanly
def links(store: StoreOpt = None,
          note: Annotated[str | None, typer.Option("--note", help="Only links of this note.")]
          = None,
          limit: LimitOpt = 50, as_json: JsonFlag = False) -> None:
    """Note-to-note links made by evolution, with the reason given."""
    rows = open_memory(store).store.notes.links(note)[:limit]
    if as_json:
        emit_json([dataclasses.asdict(lk) for lk in rows])
        return
    console.print(_table(["from", "to", "event", "reason"],
                         [[lk.src, lk.dst, lk.event_id or "", cut_words(lk.reason, 80)]
                          for lk in rows]))


@app.command()
@fail_cleanly
def history(note_id: Annotated[str, typer.Argument(help="Note (passage) ID.")],
            store: StoreOpt = None, as_json: JsonFlag = False) -> None:
    """Every version of a note, with the evolution event that produced it."""
    mem = open_memory(store)
    note = mem.note(note_id)
    versions = mem.history(note_id)
    if as_json:
        emit_json({"note": dataclasses.asdict(note),
                   "versions": [dataclasses.asdict(v) for v in versions]})
        return
    console.print(text(note.content, "bold"))
    console.print(_table(["version", "event", "when", "tags", "context"],
                         [[v.version, v.event_id or "(created)", v.created_at[:19],
                           ", ".join(v.tags), cut_words(v.context, 80)] for v in versions]))


@app.command()
@fail_cleanly
def revert(event_id: Annotated[str, typer.Argument(help="Evolution event ID.")],
           store: StoreOpt = None, as_json: JsonFlag = False) -> None:
    """Undo an evolution event (its links go; rewritten notes get their old attributes)."""
    restored = open_memory(store).revert(event_id)
    if as_json:
        emit_json({"event_id": event_id, "restored": restored})
        return
    console.print(f"reverted {plain(event_id)}: restored {len(restored)} note(s)")


@app.command()
@fail_cleanly
def export(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="graphml | gexf | json")] = "graphml",
    store: StoreOpt = None,
) -> None:
    """Export the graph (passages, entities, every edge with its kind; facts keep their
    predicate and direction) for Gephi, networkx, etc."""
    from graphmem.export import FORMATS, export_graph

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    path = export_graph(open_memory(store).store, out, fmt)
    console.print(text(f"wrote {path}"))
