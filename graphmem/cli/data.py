"""Commands that put things into a memory or take them out: index, add, delete, docs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphmem import jsonable
from graphmem.cli import app
from graphmem.cli.common import (
    JsonFlag,
    NamespaceOpt,
    StoreOpt,
    console,
    emit_json,
    fail_cleanly,
    open_memory,
    plain,
    progress_bars,
    text,
)
from graphmem.text import cut_words


@app.command()
@fail_cleanly
def index(
    path: Annotated[Path | None, typer.Argument(
        help="A directory of .txt/.md files, a .json list or .jsonl file of {title, text} "
             "records, or a single text file.")] = None,
    store: StoreOpt = None,
    openie: Annotated[Path | None, typer.Option(
        help="Build the graph from HippoRAG-format OpenIE output instead of extracting.")] = None,
    extractor: Annotated[str | None, typer.Option(
        help="auto | offline | llm | none (default from config: auto).")] = None,
    sync: Annotated[bool, typer.Option(
        "--sync", help="Also delete documents whose files are gone from PATH.")] = False,
    namespace: NamespaceOpt = "",
    as_json: JsonFlag = False,
) -> None:
    """Index documents into the memory (re-running resumes; unchanged input is a no-op;
    an edited file replaces its old version)."""
    if path is None and openie is None:
        raise typer.BadParameter("give a PATH to index, or --openie FILE")
    mem = open_memory(store, create=True, extractor=extractor)
    with progress_bars(not as_json) as progress:
        if openie is not None:
            report = mem.index_openie(openie, progress=progress)
        if path is not None:
            report = mem.index(path, progress=progress, namespace=namespace, sync=sync)
    if as_json:
        out = dataclasses.asdict(report)
        out.pop("new_passage_ids")
        emit_json({"store": mem.store.location, **out})
        return
    table = Table(title=text(f"indexed into {mem.store.location}"), show_header=False)
    rows = [("documents seen", report.documents_seen),
            ("documents indexed", report.documents_indexed),
            ("already indexed / duplicate", report.documents_duplicate),
            ("passages added", report.passages_indexed),
            ("entities added", report.entities_added),
            ("triples added", report.triples_added),
            ("synonym edges added", report.synonym_edges_added),
            ("strings embedded", report.strings_embedded),
            ("extractor", report.extractor),
            ("seconds", f"{report.seconds:.1f}")]
    if report.retried:
        rows.append(("failed extractions retried", f"{report.retried} "
                                                   f"({report.retried_ok} now extracted)"))
    if report.extraction_failures:
        rows.append(("passages whose extraction failed", report.extraction_failures))
    if report.documents_replaced or report.documents_removed:
        rows.append(("documents replaced / removed",
                     f"{report.documents_replaced} / {report.documents_removed}"))
    for label, value in rows:
        table.add_row(label, text(value))
    console.print(table)
    _print_problems(report)
    if report.extractor == "offline-spacy":
        console.print("[dim]No LLM configured: entities and triples came from the offline "
                      "spaCy extractor.[/dim]")


def _print_problems(report) -> None:  # type: ignore[no-untyped-def]
    skipped = [p for p in report.problems if p.status not in ("extraction",)]
    if skipped:
        console.print(f"[yellow]{len(skipped)} input(s) skipped, repaired or failed:[/yellow]")
        for p in skipped[:20]:
            console.print(text(f"  {p.status} ", "yellow") + text(f"{p.source}: {p.reason}"))
        if len(skipped) > 20:
            console.print(f"  ... and {len(skipped) - 20} more (see the ingest log)")
    if report.extraction_problems:
        console.print(f"[yellow]{report.extraction_problems} malformed extraction item(s) "
                      "dropped[/yellow] (details in the ingest log)")


@app.command()
@fail_cleanly
def add(
    memory_text: Annotated[str, typer.Argument(metavar="TEXT",
                                               help="The memory (a chat turn, an observation).")],
    timestamp: Annotated[str | None, typer.Option(help="When it happened.")] = None,
    store: StoreOpt = None,
    namespace: NamespaceOpt = "",
    as_json: JsonFlag = False,
) -> None:
    """Add one memory and let its neighbouring notes evolve (links, context, tags)."""
    mem = open_memory(store, create=True)
    added = mem.add(memory_text, timestamp=timestamp, namespace=namespace)
    if as_json:
        emit_json(jsonable.added(added))
        return
    for note in added.notes:
        console.print(text("note ") + text(note.id, "cyan") + text(
            f"  keywords: {', '.join(note.keywords)}  tags: {', '.join(note.tags)}"))
    if not mem.config.evolve_on_add:
        console.print("[dim]evolution is off (evolve_on_add=false)[/dim]")
    for out in added.evolution:
        _print_outcome(out)
    for reason in added.skipped:
        console.print(text("skipped: ", "yellow") + text(reason))


def _print_outcome(out) -> None:  # type: ignore[no-untyped-def]
    if out.event is not None:
        d = out.event.decision
        console.print(text(f"evolution ({out.policy}) ") + text(out.event.id, "cyan"))
        console.print(text(f"  linked to: {', '.join(d['links']) or 'nothing'}"))
        console.print(text(f"  rewrote: {', '.join(d['rewrote']) or 'nothing'}"))
        for why in d.get("rejected", []):
            console.print(text("  rejected: ", "yellow") + text(why))
    elif out.rejected:
        console.print(text("evolution decision rejected: ", "yellow") + text(out.rejected))
    elif not out.neighbors:
        console.print("[dim]evolution: no other notes to relate to yet[/dim]")
    else:
        best = max(s for _, s in out.neighbors)
        console.print(text(f"evolution ({out.policy}): nothing linked or rewritten (closest "
                           f"note similarity {best:.2f})", "dim"))


@app.command()
@fail_cleanly
def delete(doc_id: Annotated[str, typer.Argument(help="Document ID (see `graphmem docs`).")],
           store: StoreOpt = None, as_json: JsonFlag = False) -> None:
    """Delete a document and everything that only it supported (vectors, cached answers,
    rewrites its evolution made)."""
    rep = open_memory(store).delete(doc_id)
    if as_json:
        emit_json(dataclasses.asdict(rep))
        return
    console.print(f"deleted {plain(doc_id)}: {rep.passages} passages, {rep.entities} entities, "
                  f"{rep.triples} triples, {rep.edges} edges, {rep.vectors} vectors, "
                  f"{rep.cache_entries} cached LLM answers; {len(rep.reverted_events)} "
                  "evolution event(s) undone")


@app.command()
@fail_cleanly
def docs(store: StoreOpt = None,
         limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
         namespace: Annotated[str | None, typer.Option("--namespace", "-n",
                                                       help="Only this namespace.")] = None,
         as_json: JsonFlag = False) -> None:
    """List indexed documents and their IDs."""
    rows = open_memory(store).store.graph.documents(namespace=namespace)
    if as_json:
        emit_json([dataclasses.asdict(d) for d in rows[:limit]])
        return
    table = Table("title", "passages", "complete", "source")
    table.add_column("id", no_wrap=True, min_width=22)
    for d in rows[:limit]:
        table.add_row(text(cut_words(d.title, 50)), str(d.n_passages),
                      "yes" if d.complete else "no", text(cut_words(d.source, 40)), text(d.id))
    console.print(table)
    if len(rows) > limit:
        console.print(f"... {len(rows) - limit} more")
