"""``graphmem eval retrieval``: passage recall of graphmem against dense and BM25.

Questions use MuSiQue's format (``question``, ``paragraphs`` with ``is_supporting``); the
corpus is a list of ``{title, text}``. Recall is measured over *documents*: a gold
paragraph counts as found when any chunk of it is retrieved, so long documents that
the chunker split are judged fairly. Baselines run on the same store in the same run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphmem import __version__
from graphmem.eval.metrics import KS, mean_recall, percentiles_ms
from graphmem.memory import Memory
from graphmem.types import Document

Progress = Callable[[str, int, int | None], None]


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(q, dict) and "question" in q
                                             for q in data):
        raise ValueError(f"{path}: expected a list of objects with 'question' and 'paragraphs'")
    return data


def gold_documents(q: dict[str, Any]) -> set[str]:
    return {Document(p.get("title", ""), p["paragraph_text"]).id
            for p in q.get("paragraphs", []) if p.get("is_supporting")}


def to_documents(mem: Memory, passage_ids: list[str]) -> list[str]:
    """Map a passage ranking to a document ranking (first appearance wins)."""
    docs = mem.store.graph.passage_documents(passage_ids)
    seen: dict[str, None] = {}
    for pid in passage_ids:
        for d in docs.get(pid, []):
            seen.setdefault(d, None)
    return list(seen)


def bm25_rankings(mem: Memory, queries: list[str], k: int) -> list[list[str]]:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    pids = mem.store.graph.passage_ids()
    passages = mem.store.graph.get_passages(pids)
    corpus = [f"{passages[p].title}\n{passages[p].text}" for p in pids]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False),
                    show_progress=False)
    idx, _ = retriever.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False),
                                k=min(k, len(pids)), show_progress=False)
    return [to_documents(mem, [pids[j] for j in row]) for row in idx]


def evaluate_retrieval(mem: Memory, questions: list[dict[str, Any]], corpus: str | Path | None,
                       openie: str | Path | None = None, recipe: str | None = None,
                       progress: Progress | None = None) -> dict[str, Any]:
    """Index (a no-op when already indexed), search every question, compare baselines."""
    t0 = time.perf_counter()
    if openie is not None:
        mem.index_openie(openie, progress=progress)
    if corpus is not None and openie is None:
        mem.index(corpus, progress=progress)
    index_s = time.perf_counter() - t0
    queries = [q["question"] for q in questions]
    golds = [gold_documents(q) for q in questions]
    depth = max(KS) * 3  # passages, so that chunked documents still fill the top 20
    ranked = [to_documents(mem, [h.passage_id for h in hits])
              for hits in mem.search_many(queries, k=depth, recipe=recipe, explain=False)]
    dense = [to_documents(mem, [h.passage_id for h in hits])
             for hits in mem.search_many(queries, k=depth, recipe="dense", explain=False)]
    bm25 = bm25_rankings(mem, queries, depth)
    latencies = []
    mem.search(queries[0], k=5)  # warm caches (graph, JIT) before timing
    for q in queries:
        t = time.perf_counter()
        mem.search(q, k=5, recipe=recipe)
        latencies.append(time.perf_counter() - t)
    stored = mem.store.graph.document_status(d for g in golds for d in g)
    missing = sum(1 for g in golds for d in g if d not in stored)
    lat = percentiles_ms(latencies)
    stats = mem.stats()
    return {
        "system": f"graphmem {__version__} recipe={recipe or mem.config.retrieval} "
                  f"extractor={'openie-import' if openie else mem.extractor.name} "
                  f"embedding={mem.config.embedding_model}",
        "n_questions": len(questions),
        "recall": mean_recall(ranked, golds),
        "baselines": {"dense": mean_recall(dense, golds), "bm25": mean_recall(bm25, golds)},
        "timings": {"index_s": index_s, "query_ms_p50": lat["p50"], "query_ms_p95": lat["p95"]},
        "graph": {"passages": stats["passages"], "entities": stats["entities"],
                  "triples": stats["triples"], "edges": stats["edges"]},
        "gold_documents_missing_from_store": missing,
    }
