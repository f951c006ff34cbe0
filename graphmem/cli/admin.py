"""Commands that look after a memory: config, doctor, cache, migrate, reembed."""

from __future__ import annotations

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
    text,
)

cache_app = typer.Typer(help="The LLM response cache of a memory.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@app.command("config")
@fail_cleanly
def show_config(as_json: JsonFlag = False) -> None:
    """The effective configuration: every field, its value and where it came from
    (default, environment variable or argument). Secrets are masked."""
    from graphmem.config import Config

    rows = Config.from_env().effective()
    if as_json:
        emit_json([{"field": n, "value": v, "source": s, "help": h} for n, v, s, h in rows])
        return
    table = Table("field", "value", "from", "what it does")
    for name, value, source, help_text in rows:
        table.add_row(name, text(value), source, text(help_text))
    console.print(table)


@app.command()
@fail_cleanly
def doctor(store: StoreOpt = None,
           repair: Annotated[bool, typer.Option(
               "--repair", help="Fix what is safe to fix (after a backup copy).")] = False,
           as_json: JsonFlag = False) -> None:
    """Check a memory thoroughly: integrity, counts, inconsistencies, what can be repaired."""
    import dataclasses
    from pathlib import Path

    from graphmem.config import Config
    from graphmem.store import is_bolt_uri
    from graphmem.store.sqlite.doctor import examine

    location = store or Config.from_env().store
    if is_bolt_uri(location):
        raise typer.BadParameter("doctor checks embedded (directory) stores; a Bolt server "
                                 "has its own consistency tools")
    rep = examine(Path(location).expanduser(), repair=repair)
    if as_json:
        emit_json(dataclasses.asdict(rep))
    else:
        console.print(text(f"store {rep.path}: " + ("healthy" if rep.ok and not rep.repairable
                                                     else "needs attention"), "bold"))
        for k, v in rep.counts.items():
            console.print(text(f"  {k}: {v:,}"))
        for p in rep.problems:
            console.print(text("  problem: ", "red") + text(p))
        for p in rep.repairable:
            done = p in rep.repaired
            console.print(text("  repairable: ", "yellow") + text(p) +
                          text("" if done or repair else "  (run with --repair)", "dim"))
        for p in rep.repaired:
            console.print(text("  repaired: ", "green") + text(p))
        if rep.backup:
            console.print(text(f"  backup before repair: {rep.backup}", "dim"))
    if rep.problems:
        raise typer.Exit(1)


@cache_app.command("clear")
@fail_cleanly
def cache_clear(store: StoreOpt = None,
                kind: Annotated[str | None, typer.Option(
                    "--kind", help="Only answers of one kind (ner, triples, answer, step, "
                                   "filter, evolution).")] = None) -> None:
    """Drop cached LLM answers (the next run asks the model again)."""
    n = open_memory(store).store.kv.cache_clear(kind)
    console.print(text(f"removed {n} cached answer(s)" + (f" of kind {kind}" if kind else "")))


@cache_app.command("stats")
@fail_cleanly
def cache_stats(store: StoreOpt = None, as_json: JsonFlag = False) -> None:
    """Cached LLM answers by model and kind."""
    rows = open_memory(store).store.kv.cache_stats()
    if as_json:
        emit_json(rows)
        return
    table = Table("model", "kind", "entries", "bytes")
    for r in rows:
        table.add_row(text(r["model"]), text(r["kind"]), str(r["entries"]), f"{r['bytes']:,}")
    console.print(table)


@app.command()
@fail_cleanly
def migrate(src: Annotated[str, typer.Argument(help="The memory to copy (directory or "
                                                    "bolt:// URI).")],
            dst: Annotated[str, typer.Argument(help="An empty store to copy it into.")],
            as_json: JsonFlag = False) -> None:
    """Copy a whole memory to another store (SQLite <-> Neo4j/ArcadeDB): documents, graph,
    vectors, notes with every version, events, links, LLM cache, usage and logs."""
    from graphmem.config import Config
    from graphmem.store import open_store
    from graphmem.store.portable import migrate as run

    cfg = Config.from_env()
    kw = {"user": cfg.neo4j_user, "password": cfg.neo4j_password,
          "database": cfg.neo4j_database, "cache_root": cfg.cache_root}
    source = open_store(src, None, create=False, **kw)
    target = open_store(dst, source.get_meta("embedding_model"), create=True, **kw)
    try:
        counts = run(source, target)
        after = (source.stats(), target.stats())
    finally:
        source.close()
        target.close()
    if as_json:
        emit_json({"copied": counts, "source": after[0], "destination": after[1]})
        return
    table = Table("table", "rows copied")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    for key in ("documents", "passages", "entities", "triples", "notes", "events"):
        if after[0][key] != after[1][key]:
            console.print(text(f"warning: {key} differ: {after[0][key]} vs {after[1][key]}",
                               "yellow"))
    console.print(text(f"copied {after[0]['documents']} documents into {target.location}"))


@app.command()
@fail_cleanly
def reembed(src: Annotated[str, typer.Argument(help="The memory to convert (directory or "
                                                    "bolt:// URI); it is left as it is.")],
            dst: Annotated[str, typer.Argument(help="An empty store to write it into.")],
            model: Annotated[str | None, typer.Option(
                "--embedding-model", help="The new model (default: GRAPHMEM_EMBEDDING_MODEL)."
            )] = None,
            base_url: Annotated[str | None, typer.Option(
                "--embedding-base-url", help="Its OpenAI-compatible endpoint (default: "
                "GRAPHMEM_EMBEDDING_BASE_URL; the key comes from GRAPHMEM_EMBEDDING_API_KEY)."
            )] = None,
            as_json: JsonFlag = False) -> None:
    """Copy a memory into a new store with every vector from another embedding model or
    endpoint (vectors of two models cannot be mixed in one store)."""
    from graphmem.cli.common import progress_bars
    from graphmem.config import Config
    from graphmem.embeddings import load_embedder
    from graphmem.indexing.reembed import reembed as run
    from graphmem.store import open_store

    over = {k: v for k, v in (("embedding_model", model), ("embedding_base_url", base_url))
            if v is not None}
    cfg = Config.from_env(**over)
    kw = {"user": cfg.neo4j_user, "password": cfg.neo4j_password,
          "database": cfg.neo4j_database, "cache_root": cfg.cache_root}
    embedder = load_embedder(cfg.embedding_model, cfg.embedding_backend,
                             cfg.embedding_batch_size, cfg.cache_root,
                             cfg.embedding_base_url, cfg.embedding_api_key)
    source = open_store(src, None, create=False, **kw)
    target = open_store(dst, cfg.embedding_identity, create=True, **kw)
    try:
        with progress_bars(not as_json) as progress:
            counts = run(source, target, embedder, progress)
        after = target.stats()
    finally:
        source.close()
        target.close()
    if as_json:
        emit_json({"copied": counts, "embedding": cfg.embedding_identity,
                   "dim": embedder.dim, "destination": after})
        return
    console.print(text(f"{counts['vectors']:,} strings re-embedded with "
                       f"{cfg.embedding_identity} ({embedder.dim} dimensions) into {dst}"))
