"""Commands that read a memory to answer something: search and ask."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from graphmem import jsonable
from graphmem.cli import app
from graphmem.cli.common import (
    JsonFlag,
    NamespaceOpt,
    RecipeOpt,
    StoreOpt,
    console,
    emit_json,
    fail_cleanly,
    model_text,
    open_memory,
    print_plain,
    text,
)
from graphmem.text import cut_words

TagOpt = Annotated[list[str] | None, typer.Option(
    "--tag", help="Only notes with this tag (repeatable: any of them).")]
DocOpt = Annotated[str | None, typer.Option("--doc", help="Only this document's passages.")]
SourceOpt = Annotated[str | None, typer.Option(
    "--source", help="Only documents whose source (path) contains this.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="What had happened by then, and the facts true then (e.g. 2023-05-08, "
    "'May 2023').")]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", help="Only memories from this time on (start of the period named).")]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", help="Only memories up to this time (end of the period named).")]


def filters_of(tag: list[str] | None, doc: str | None, source: str | None) -> dict | None:
    f: dict[str, Any] = {}
    if tag:
        f["tags"] = tag
    if doc:
        f["doc_id"] = doc
    if source:
        f["source"] = source
    return f or None


@app.command()
@fail_cleanly
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
    store: StoreOpt = None,
    recipe: RecipeOpt = None,
    namespace: NamespaceOpt = "",
    tag: TagOpt = None,
    doc: DocOpt = None,
    source: SourceOpt = None,
    as_of: AsOfOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Retrieve the passages most relevant to a query, with why each was found."""
    mem = open_memory(store)
    hits = mem.search(query, k=k, recipe=recipe, namespace=namespace,
                      filters=filters_of(tag, doc, source), as_of=as_of, since=since,
                      until=until)
    if as_json:
        emit_json([jsonable.hit(h) for h in hits])
        return
    if not hits:
        console.print("[yellow]The memory is empty: index something first.[/yellow]")
        return
    for h in hits:
        when = f", {h.times[0][:16].replace('T', ' ')}" if h.times else ""
        console.rule(text(f"#{h.rank}  {h.title or h.passage_id}  ") + text(
            f"(score {h.score:.4f}, dense {h.dense_score:.3f}, {h.why.method}{when})", "dim"))
        console.print(text(cut_words(h.text, 600)))
        if h.why.time:
            console.print(text("time: ", "cyan") + text(h.why.time))
        if h.why.seed_facts:
            console.print(text("seed facts: ", "cyan") + text("; ".join(
                f"{f} ({s:.2f})" for f, s in h.why.seed_facts[:3])))
        if h.why.seed_entities:
            console.print(text("seed entities: ", "cyan") + text(", ".join(
                f"{e} ({s:.2f})" for e, s in h.why.seed_entities[:5])))
        if h.why.path:
            console.print(text("path: ", "cyan") + text(" -> ".join(h.why.path)))


@app.command()
@fail_cleanly
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("-k", help="Passages to retrieve.")] = 5,
    multi_hop: Annotated[bool, typer.Option(
        "--multi-hop", help="Reason step by step, retrieving again after each step.")] = False,
    steps: Annotated[int, typer.Option(help="Most reasoning steps with --multi-hop.")] = 3,
    store: StoreOpt = None,
    recipe: RecipeOpt = None,
    namespace: NamespaceOpt = "",
    tag: TagOpt = None,
    doc: DocOpt = None,
    source: SourceOpt = None,
    as_of: AsOfOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question from the memory, citing the passages used."""
    mem = open_memory(store)
    ans = mem.ask(question, k=k, multi_hop=multi_hop, max_steps=steps, recipe=recipe,
                  namespace=namespace, filters=filters_of(tag, doc, source), as_of=as_of,
                  since=since, until=until)
    if as_json:
        emit_json(jsonable.answer(ans))
        return
    if ans.answer:
        print_plain(model_text(ans.answer), "bold green")
        if ans.reasoning:
            print_plain(model_text(ans.reasoning), "dim")
    elif ans.message:
        print_plain(model_text(ans.message), "yellow")
    for step in ans.trace:
        print_plain("- " + model_text(step, 500), "dim")
    label = "cited passages" if ans.llm_used else "evidence passages"
    console.print(f"[bold]{label}:[/bold]")
    for h in ans.cited:
        console.print(text(f"  [{h.rank}] ") + text(h.title or h.passage_id, "cyan") + text(
            f": {cut_words(h.text, 200)}"))
