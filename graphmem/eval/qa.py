"""``graphmem eval qa``: exact match and token F1 of answers, per retrieval recipe.

Needs an LLM endpoint (the reader writes the answers). Gold answers are ``answer`` plus
``answer_aliases`` (MuSiQue's format); recall is over the documents the reader was shown.
Several recipes run in one call with the same reader, so they compare fairly: the JSON
keeps, per recipe, every question's prediction, citations, rejected answers, LLM calls,
tokens and seconds, and per-question F1 wins and losses between the recipes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from graphmem import __version__
from graphmem.config import ConfigError
from graphmem.eval.metrics import (
    exact_match,
    mean_recall,
    percentiles_ms,
    recall_at,
    token_f1,
)
from graphmem.eval.retrieval import gold_documents, to_documents
from graphmem.memory import Memory

Progress = Callable[[str, int, int | None], None]


def _usage_totals(mem: Memory) -> tuple[int, int, int]:
    rows = mem.store.kv.usage()
    return (sum(r["calls"] + r["cached_calls"] for r in rows),
            sum(r["prompt_tokens"] for r in rows), sum(r["completion_tokens"] for r in rows))


def evaluate_qa(mem: Memory, questions: list[dict[str, Any]], corpus: str | Path | None,
                openie: str | Path | None = None, k: int = 5, multi_hop: bool = False,
                progress: Progress | None = None,
                recipes: list[str] | None = None) -> dict[str, Any]:
    """Answer every question with each recipe; see the module docstring for the JSON."""
    if mem.llm is None:
        raise ConfigError("eval qa needs an LLM endpoint to write answers: set "
                          "GRAPHMEM_LLM_MODEL and GRAPHMEM_LLM_BASE_URL (or OPENAI_API_KEY)")
    if openie is not None:
        mem.index_openie(openie, progress=progress)
    elif corpus is not None:
        mem.index(corpus, progress=progress)
    names = list(dict.fromkeys(recipes or [mem.config.retrieval]))
    per_recipe = {r: _run(mem, questions, k, multi_hop, r, progress) for r in names}
    out: dict[str, Any] = {
        "system": f"graphmem {__version__} reader={mem.llm.model} k={k} multi_hop={multi_hop}",
        "n_questions": len(questions), "recipes": per_recipe}
    if len(names) >= 2:
        a, b = names[0], names[1]
        fa = [row["f1"] for row in per_recipe[a]["answers"]]
        fb = [row["f1"] for row in per_recipe[b]["answers"]]
        out["comparison"] = {"first": a, "second": b,
                             "second_wins": sum(y > x for x, y in zip(fa, fb, strict=True)),
                             "second_losses": sum(y < x for x, y in zip(fa, fb, strict=True)),
                             "ties": sum(y == x for x, y in zip(fa, fb, strict=True))}
    first = per_recipe[names[0]]  # top-level figures of the first recipe, as before
    out.update({k2: first[k2] for k2 in ("exact_match", "f1", "recall", "timings", "answers")})
    return out


def _run(mem: Memory, questions: list[dict[str, Any]], k: int, multi_hop: bool, recipe: str,
         progress: Progress | None) -> dict[str, Any]:
    rows = []
    ems, f1s, seconds, shown, golds = [], [], [], [], []
    stage = f"answer ({recipe})"
    if progress:
        progress(stage, 0, len(questions))
    for q in questions:
        answers = [str(q.get("answer", ""))] + [str(a) for a in q.get("answer_aliases", [])]
        calls0, pt0, ct0 = _usage_totals(mem)
        t = time.perf_counter()
        ans = mem.ask(q["question"], k=k, multi_hop=multi_hop, recipe=recipe)
        seconds.append(time.perf_counter() - t)
        calls1, pt1, ct1 = _usage_totals(mem)
        pred = ans.answer or ""
        ems.append(exact_match(pred, answers))
        f1s.append(token_f1(pred, answers))
        shown.append(to_documents(mem, [h.passage_id for h in ans.evidence]))
        golds.append(gold_documents(q))
        rows.append({"id": q.get("id"), "question": q["question"], "prediction": ans.answer,
                     "gold": answers, "em": ems[-1], "f1": f1s[-1],
                     "cited": [h.title for h in ans.cited], "rejected": ans.rejected,
                     "message": ans.message, "llm_calls": calls1 - calls0,
                     "prompt_tokens": pt1 - pt0, "completion_tokens": ct1 - ct0,
                     "seconds": round(seconds[-1], 2),
                     "recall_shown": recall_at(shown[-1], golds[-1], len(shown[-1]))})
        if progress:
            progress(stage, 1, None)
    lat = percentiles_ms(seconds)
    return {
        "recipe": recipe,
        "exact_match": float(np.mean(ems)) if ems else 0.0,
        "f1": float(np.mean(f1s)) if f1s else 0.0,
        "recall": {**mean_recall(shown, golds, ks=(k,)),
                   "R@shown": float(np.mean([r["recall_shown"] for r in rows])) if rows else 0.0},
        "rejected_answers": sum(len(r["rejected"]) for r in rows),
        "no_answer": sum(r["prediction"] is None for r in rows),
        "llm_calls": sum(r["llm_calls"] for r in rows),
        "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
        "completion_tokens": sum(r["completion_tokens"] for r in rows),
        "seconds": round(float(sum(seconds)), 1),
        "timings": {"ask_ms_p50": lat["p50"], "ask_ms_p95": lat["p95"]},
        "answers": rows,
    }
