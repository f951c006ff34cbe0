"""The ``graphmem`` command line: a thin typer layer over :class:`graphmem.Memory`.

Why thin: everything the CLI does is one call into the Python API plus presentation
(rich tables and progress bars), so the CLI and notebooks can never disagree.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from graphmem.cli.common import StoreOpt, fail_cleanly, open_memory, progress_bars
from graphmem.export import FORMATS, export_graph

app = typer.Typer(help="graphmem: a long-term associative memory (knowledge graph + "
                       "Personalized PageRank) for LLM applications.",
                  no_args_is_help=True, add_completion=False)
console = Console()


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                                help="Log progress details.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=Console(stderr=True), show_path=False)])


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
) -> None:
    """Index documents into the memory (re-running resumes; unchanged input is a no-op)."""
    if path is None and openie is None:
        raise typer.BadParameter("give a PATH to index, or --openie FILE")
    mem = open_memory(store, extractor=extractor)
    with progress_bars(console) as progress:
        if openie is not None:
            report = mem.index_openie(openie, progress=progress)
        if path is not None:
            report = mem.index(path, progress=progress)
    table = Table(title=f"indexed into {mem.config.store}", show_header=False)
    for label, value in [("documents seen", report.documents_seen),
                         ("documents indexed", report.documents_indexed),
                         ("already indexed / duplicate", report.documents_duplicate),
                         ("passages added", report.passages_indexed),
                         ("entities added", report.entities_added),
                         ("triples added", report.triples_added),
                         ("synonym edges added", report.synonym_edges_added),
                         ("strings embedded", report.strings_embedded),
                         ("extractor", report.extractor),
                         ("seconds", f"{report.seconds:.1f}")]:
        table.add_row(label, str(value))
    console.print(table)
    skipped = [p for p in report.problems if p.status not in ("extraction",)]
    if skipped:
        console.print(f"[yellow]{len(skipped)} input(s) skipped or repaired:[/yellow]")
        for p in skipped[:20]:
            console.print(f"  [yellow]{p.status}[/yellow] {p.source}: {p.reason}")
        if len(skipped) > 20:
            console.print(f"  ... and {len(skipped) - 20} more (see the ingest log)")
    if report.extraction_problems:
        console.print(f"[yellow]{report.extraction_problems} malformed extraction item(s) "
                      "dropped[/yellow] (details in the ingest log)")
    if report.extractor == "offline-spacy":
        console.print("[dim]No LLM configured: entities and triples came from the offline "
                      "spaCy extractor.[/dim]")


@app.command()
@fail_cleanly
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Retrieve the passages most relevant to a query, with why each was found."""
    mem = open_memory(store)
    hits = mem.search(query, k=k)
    if as_json:
        console.print_json(json.dumps([_hit_dict(h) for h in hits]))
        return
    if not hits:
        console.print("[yellow]The memory is empty: index something first.[/yellow]")
        return
    for h in hits:
        console.rule(f"#{h.rank}  {h.title or h.passage_id}  [dim](score {h.score:.4f}, "
                     f"dense {h.dense_score:.3f}, {h.why.method})[/dim]")
        console.print(h.text if len(h.text) < 600 else h.text[:600] + " ...")
        if h.why.seed_facts:
            console.print("[cyan]seed facts:[/cyan] " + "; ".join(
                f"{f} ({s:.2f})" for f, s in h.why.seed_facts[:3]))
        if h.why.seed_entities:
            console.print("[cyan]seed entities:[/cyan] " + ", ".join(
                f"{e} ({s:.2f})" for e, s in h.why.seed_entities[:5]))
        if h.why.path:
            console.print("[cyan]path:[/cyan] " + " -> ".join(h.why.path))


def _hit_dict(h) -> dict:  # type: ignore[no-untyped-def]
    return {"rank": h.rank, "passage_id": h.passage_id, "title": h.title, "text": h.text,
            "score": h.score, "dense_score": h.dense_score, "doc_ids": h.doc_ids,
            "why": {"method": h.why.method, "seed_facts": h.why.seed_facts,
                    "seed_entities": h.why.seed_entities, "path": h.why.path}}


@app.command()
@fail_cleanly
def stats(store: StoreOpt = None) -> None:
    """Counts of documents, passages, entities, triples and edges by kind; LLM usage."""
    mem = open_memory(store)
    s = mem.stats()
    table = Table(title=f"graphmem store {s['store']}", show_header=False)
    for key in ("documents", "passages", "entities", "triples", "notes", "events", "vectors",
                "strings_embedded", "incomplete_documents", "embedding_model"):
        table.add_row(key, str(s.get(key)))
    for kind, n in s["edges"].items():
        table.add_row(f"{kind} edges", str(n))
    console.print(table)
    usage = mem.store.usage()
    if usage:
        from graphmem.llm.usage import usage_table

        console.print(usage_table(usage, mem.config.llm_prices))


@app.command()
@fail_cleanly
def delete(doc_id: Annotated[str, typer.Argument(help="Document ID (see `graphmem docs`).")],
           store: StoreOpt = None) -> None:
    """Delete a document and everything that only it supported."""
    rep = open_memory(store).delete(doc_id)
    console.print(f"deleted {doc_id}: {rep.passages} passages, {rep.entities} entities, "
                  f"{rep.triples} triples, {rep.edges} edges")


@app.command()
@fail_cleanly
def docs(store: StoreOpt = None,
         limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50) -> None:
    """List indexed documents and their IDs."""
    rows = open_memory(store).store.documents()
    table = Table("title", "passages", "complete", "source")
    table.add_column("id", no_wrap=True, min_width=22)
    for d in rows[:limit]:
        table.add_row(d.title[:50], str(d.n_passages), "yes" if d.complete else "no",
                      d.source[:40], d.id)
    console.print(table)
    if len(rows) > limit:
        console.print(f"... {len(rows) - limit} more")


@app.command()
@fail_cleanly
def export(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS))] = "graphml",
    store: StoreOpt = None,
) -> None:
    """Export the graph (passages, entities, all edge kinds) for Gephi, networkx, etc."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    path = export_graph(open_memory(store).store, out, fmt)
    console.print(f"wrote {path}")


def main() -> None:
    from graphmem.cli import extra  # noqa: F401  registers ask/eval/history commands

    app()
