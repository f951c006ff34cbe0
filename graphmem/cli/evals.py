"""``graphmem eval``: measure graphmem on your own data (recall, QA, memory)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from graphmem.cli import app
from graphmem.cli.common import StoreOpt, console, fail_cleanly, open_memory, progress_bars

eval_app = typer.Typer(help="Measure graphmem on your own data (recall, QA, memory).",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")

QuestionsOpt = Annotated[Path, typer.Option(
    "--questions", exists=True, dir_okay=False,
    help="JSON list of questions with 'paragraphs' marked 'is_supporting' (MuSiQue format).")]
CorpusOpt = Annotated[Path | None, typer.Option(
    "--corpus", exists=True, dir_okay=False, help="JSON list of {title, text} passages.")]
OpenieOpt = Annotated[Path | None, typer.Option(
    "--openie", exists=True, dir_okay=False,
    help="Build the graph from this HippoRAG-format OpenIE file instead of extracting.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Write the results here as JSON.")]


class _EvalStore:
    """The store to evaluate in: the given directory, or a temporary one removed after."""

    def __init__(self, store: Path | None) -> None:
        self.tmp = None if store else Path(tempfile.mkdtemp(prefix="graphmem-eval-"))
        self.path = store or self.tmp / "store"

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _recall_table(title: str, rows: dict[str, dict[str, float]]) -> Table:
    keys = list(next(iter(rows.values())))
    table = Table(title=title)
    table.add_column("system")
    for k in keys:
        table.add_column(k, justify="right")
    for name, rec in rows.items():
        table.add_row(name, *(f"{100 * rec[k]:.1f}" for k in keys))
    return table


def _write(out: Path | None, result: dict[str, Any]) -> None:
    if out is not None:
        out.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {out}")


@eval_app.command("retrieval")
@fail_cleanly
def eval_retrieval(
    questions: QuestionsOpt,
    corpus: CorpusOpt = None,
    openie: OpenieOpt = None,
    store: StoreOpt = None,
    recipe: Annotated[str | None, typer.Option(
        help="hybrid | hipporag2 | dense (default from config).")] = None,
    out: JsonOut = None,
) -> None:
    """Recall@1/2/5/10/20 of graphmem, dense and BM25 on the same store, plus latency.

    Without --store the evaluation runs in a temporary store that is removed afterwards.
    """
    from graphmem.eval.retrieval import evaluate_retrieval, load_questions

    if corpus is None and openie is None:
        raise typer.BadParameter("give --corpus, --openie, or both")
    qs = load_questions(questions)
    with _EvalStore(store) as path:
        mem = open_memory(str(path), create=True)
        with progress_bars() as progress:
            result = evaluate_retrieval(mem, qs, corpus, openie, recipe, progress)
        mem.close()
    console.print(_recall_table(
        f"retrieval recall on {result['n_questions']} questions (percent)",
        {result["system"].split(" recipe=")[1].split()[0]: result["recall"],
         **result["baselines"]}))
    t = result["timings"]
    console.print(f"index {t['index_s']:.1f}s, query p50 {t['query_ms_p50']:.1f} ms, "
                  f"p95 {t['query_ms_p95']:.1f} ms")
    if result["gold_documents_missing_from_store"]:
        console.print(f"[yellow]{result['gold_documents_missing_from_store']} gold paragraphs "
                      "are not in the store: check that the corpus matches the questions"
                      "[/yellow]")
    _write(out, result)


@eval_app.command("qa")
@fail_cleanly
def eval_qa(
    questions: QuestionsOpt,
    corpus: CorpusOpt = None,
    openie: OpenieOpt = None,
    store: StoreOpt = None,
    k: Annotated[int, typer.Option("-k", help="Passages shown to the reader.")] = 5,
    multi_hop: Annotated[bool, typer.Option("--multi-hop", help="Iterative reasoning.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    recipe: Annotated[list[str] | None, typer.Option(
        "--recipe", help="Retrieval recipe; repeat to compare (--recipe dense --recipe "
                         "hybrid), with the same reader.")] = None,
    out: JsonOut = None,
) -> None:
    """Exact match and token F1 of the LLM's answers, plus recall of what it was shown."""
    from graphmem.eval.qa import evaluate_qa
    from graphmem.eval.retrieval import load_questions

    if corpus is None and openie is None:
        raise typer.BadParameter("give --corpus, --openie, or both")
    qs = load_questions(questions)[:limit]
    with _EvalStore(store) as path:
        mem = open_memory(str(path), create=True)
        with progress_bars() as progress:
            result = evaluate_qa(mem, qs, corpus, openie, k, multi_hop, progress, recipe)
        usage = mem.store.kv.usage()
        mem.close()
    table = Table(title=f"{result['system']} on {result['n_questions']} questions")
    for col in ("recipe", "EM", "F1", "R@shown", "rejected", "no answer", "calls", "seconds"):
        table.add_column(col, justify="left" if col == "recipe" else "right")
    for name, r in result["recipes"].items():
        table.add_row(name, f"{100 * r['exact_match']:.1f}", f"{100 * r['f1']:.1f}",
                      f"{100 * r['recall']['R@shown']:.1f}", str(r["rejected_answers"]),
                      str(r["no_answer"]), str(r["llm_calls"]), f"{r['seconds']:.0f}")
    console.print(table)
    if "comparison" in result:
        c = result["comparison"]
        console.print(f"{c['second']} vs {c['first']} (per-question F1): {c['second_wins']} "
                      f"wins, {c['second_losses']} losses, {c['ties']} ties")
    from graphmem.llm.usage import usage_table

    console.print(usage_table(usage))
    _write(out, result)


@eval_app.command("memory")
@fail_cleanly
def eval_memory(
    locomo: Annotated[Path, typer.Option("--locomo", exists=True, dir_okay=False,
                                         help="LoCoMo conversations (JSON list).")],
    conversations: Annotated[int | None, typer.Option(
        help="Only the first N conversations.")] = None,
    turns: Annotated[int | None, typer.Option(
        metavar="<int>", help="Only the first N turns of each conversation (and the "
        "questions about them).")] = None,
    workdir: Annotated[Path | None, typer.Option(
        help="Keep the stores here (default: a temporary directory, removed after).")] = None,
    out: JsonOut = None,
) -> None:
    """Evidence recall@5/@10 after adding every turn as a memory: dense vs graph vs graph
    with evolution, overall and per question category."""
    from graphmem.config import Config, public_fields
    from graphmem.eval.memory import evaluate_memory

    with _EvalStore(workdir) as path:
        path.mkdir(parents=True, exist_ok=True)
        cfg = Config.from_env()
        base = {f.name: getattr(cfg, f.name) for f in public_fields() if f.name != "store"}
        with progress_bars() as progress:
            result = evaluate_memory(locomo, path, base, conversations, progress, turns)
    rows = {v: result["recall"][v] for v in result["recall"]}
    console.print(_recall_table(f"evidence recall on {result['n_questions']} questions "
                                f"(percent; evolution: {result['policy']})", rows))
    for cat, r in result["per_category"].items():
        console.print(f"  category {cat} (n={r['n']}): " + ", ".join(
            f"{v} {100 * r[v]['R@5']:.1f}/{100 * r[v]['R@10']:.1f}"
            for v in result["recall"]))
    t = result["timings"]
    console.print(f"add p50 {t['add_ms_p50']:.1f} ms (with evolution {t['add_evolve_ms_p50']:.1f}"
                  f" ms), search p50 {t['search_ms_p50']:.1f} ms; "
                  f"{result['evolution_events']} evolution events")
    if "llm_evolution" in result:
        c = result["llm_evolution"]
        console.print(f"LLM evolution: {c['calls']} calls ({c['cached_calls']} cached), "
                      f"{c['prompt_tokens']:,} prompt + {c['completion_tokens']:,} completion "
                      f"tokens, {c['rejected']} rejected, {c['seconds']:.0f} s of adds "
                      f"(p50 {c['add_ms_p50']:.0f} ms)")
    _write(out, result)
