"""``graphmem eval qa``: exact match and token F1 of answers, plus retrieval recall.

Needs an LLM endpoint (the reader writes the answers). Gold answers are ``answer`` plus
``answer_aliases`` (MuSiQue's format); recall is over the documents the reader was shown.
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


def evaluate_qa(mem: Memory, questions: list[dict[str, Any]], corpus: str | Path | None,
                openie: str | Path | None = None, k: int = 5, multi_hop: bool = False,
                progress: Progress | None = None) -> dict[str, Any]:
    if mem.llm is None:
        raise ConfigError("eval qa needs an LLM endpoint to write answers: set "
                          "GRAPHMEM_LLM_MODEL and GRAPHMEM_LLM_BASE_URL (or OPENAI_API_KEY)")
    if openie is not None:
        mem.index_openie(openie, progress=progress)
    elif corpus is not None:
        mem.index(corpus, progress=progress)
    rows = []
    ems, f1s, seconds, shown, golds = [], [], [], [], []
    if progress:
        progress("answer", 0, len(questions))
    for q in questions:
        answers = [str(q.get("answer", ""))] + [str(a) for a in q.get("answer_aliases", [])]
        t = time.perf_counter()
        ans = mem.ask(q["question"], k=k, multi_hop=multi_hop)
        seconds.append(time.perf_counter() - t)
        pred = ans.answer or ""
        ems.append(exact_match(pred, answers))
        f1s.append(token_f1(pred, answers))
        shown.append(to_documents(mem, [h.passage_id for h in ans.evidence]))
        golds.append(gold_documents(q))
        rows.append({"id": q.get("id"), "question": q["question"], "prediction": ans.answer,
                     "gold": answers, "em": ems[-1], "f1": f1s[-1],
                     "cited": [h.title for h in ans.cited]})
        if progress:
            progress("answer", 1, None)
    lat = percentiles_ms(seconds)
    return {
        "system": f"graphmem {__version__} reader={mem.llm.model} k={k} "
                  f"multi_hop={multi_hop}",
        "n_questions": len(questions),
        "exact_match": float(np.mean(ems)) if ems else 0.0,
        "f1": float(np.mean(f1s)) if f1s else 0.0,
        "recall": {**mean_recall(shown, golds, ks=(k,)),
                   "R@shown": float(np.mean([recall_at(s, g, len(s))
                                             for s, g in zip(shown, golds, strict=True)]))
                   if shown else 0.0},
        "timings": {"ask_ms_p50": lat["p50"], "ask_ms_p95": lat["p95"]},
        "answers": rows,
    }
