"""``graphmem eval memory``: evidence recall on LoCoMo conversations, three ways.

Every turn of a conversation is added in order as a memory (``Speaker: text``, plus the
caption of a shared photo, with the session date as timestamp). Then, for every question
with evidence, the top-k memories are retrieved and evidence Recall@k is the fraction of
its evidence turns among them. Compared in the same run:

* ``dense``: cosine similarity alone (store built without evolution);
* ``graph``: the hybrid graph walk on that same store;
* ``graph_evolved``: the hybrid walk on a store built with the offline evolution policy
  on every add (run explicitly: it is opt-in, ``offline_evolution``);
* ``graph_evolved_llm``: the same with the configured LLM deciding each evolution step
  (only when an LLM is configured; one model call per added turn).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.eval.metrics import percentiles_ms, recall_at
from graphmem.memory import Memory

Progress = Callable[[str, int, int | None], None]
KS = (5, 10)
VARIANTS = ("dense", "graph", "graph_evolved", "graph_evolved_llm")


def conversation_turns(conv: dict[str, Any]) -> list[dict[str, str]]:
    """Turns in session order, each with its session's date and a readable text."""
    c = conv["conversation"]
    sessions = sorted((int(k.split("_")[1]), k) for k in c
                      if k.startswith("session_") and isinstance(c[k], list))
    turns = []
    for n, key in sessions:
        date = str(c.get(f"session_{n}_date_time", ""))
        for t in c[key]:
            text = f"{t['speaker']}: {t['text']}"
            if t.get("blip_caption"):
                text += f" [shares {t['blip_caption']}]"
            turns.append({"dia_id": t["dia_id"], "text": text, "timestamp": date})
    return turns


def _build(mem: Memory, turns: list[dict[str, str]], progress: Progress | None,
           stage: str) -> tuple[dict[str, str], list[float]]:
    doc_to_dia: dict[str, str] = {}
    seconds = []
    if progress:
        progress(stage, 0, len(turns))
    for t in turns:
        t0 = time.perf_counter()
        added = mem.add(t["text"], timestamp=t["timestamp"], metadata={"dia_id": t["dia_id"]})
        seconds.append(time.perf_counter() - t0)
        doc_to_dia[added.doc_id] = t["dia_id"]
        if progress:
            progress(stage, 1, None)
    return doc_to_dia, seconds


def _dia_ranking(mem: Memory, hits: list, doc_to_dia: dict[str, str]) -> list[str]:
    docs = mem.store.graph.passage_documents([h.passage_id for h in hits])
    out: dict[str, None] = {}
    for h in hits:
        for d in docs.get(h.passage_id, []):
            if d in doc_to_dia:
                out.setdefault(doc_to_dia[d], None)
    return list(out)


def evaluate_memory(path: str | Path, workdir: Path, base: dict[str, Any] | None = None,
                    max_conversations: int | None = None,
                    progress: Progress | None = None,
                    max_turns: int | None = None) -> dict[str, Any]:
    """Recall of the three (four, with an LLM) variants; ``max_turns`` keeps the first N
    turns of each conversation and only the questions whose evidence lies in them (a
    slice, for the LLM policy: one model call per turn)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all("conversation" in c and "qa" in c for c in data):
        raise ValueError(f"{path}: expected LoCoMo conversations with 'conversation' and 'qa'")
    base = dict(base or {})
    scores: dict[str, dict[int, list[float]]] = {v: {k: [] for k in KS} for v in VARIANTS}
    per_cat: dict[str, dict[str, dict[int, list[float]]]] = {}
    add_plain: list[float] = []
    add_evolved: list[float] = []
    search_s: list[float] = []
    n_questions = 0
    events = 0
    policy = None
    add_llm: list[float] = []
    llm_cost = {"calls": 0, "cached_calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                "rejected": 0}
    for ci, conv in enumerate(data[:max_conversations]):
        turns = conversation_turns(conv)[:max_turns]
        kept = {t["dia_id"] for t in turns}
        plain = Memory(workdir / f"conv{ci}-plain", **{**base, "evolve_on_add": False})
        evolved = Memory(workdir / f"conv{ci}-evolved", **{
            **base, "evolve_on_add": True, "offline_evolution": True, "llm_model": None})
        dia_p, sec = _build(plain, turns, progress, f"conversation {ci + 1}: adding")
        add_plain += sec
        dia_e, sec = _build(evolved, turns, progress, f"conversation {ci + 1}: adding+evolving")
        add_evolved += sec
        events += evolved.stats()["events"]
        stores = {"graph_evolved": (evolved, dia_e)}
        if plain.llm is not None:
            with_llm = Memory(workdir / f"conv{ci}-evolved-llm", **{**base, "evolve_on_add": True})
            dia_l, sec = _build(with_llm, turns, progress,
                                f"conversation {ci + 1}: adding+LLM evolution")
            stores["graph_evolved_llm"] = (with_llm, dia_l)
            add_llm += sec
            for u in with_llm.store.kv.usage():
                if u.get("kind") == "evolution":
                    for key in llm_cost:
                        llm_cost[key] += int(u.get(key) or 0)
            policy = f"llm:{plain.llm.model}"
        for q in conv["qa"]:
            gold = set(q.get("evidence") or [])
            if not gold or (max_turns is not None and not gold <= kept):
                continue
            n_questions += 1
            t0 = time.perf_counter()
            graph_hits = plain.search(q["question"], k=max(KS) * 2)
            search_s.append(time.perf_counter() - t0)
            rankings = {
                "dense": _dia_ranking(plain, plain.search(q["question"], k=max(KS) * 2,
                                                          recipe="dense"), dia_p),
                "graph": _dia_ranking(plain, graph_hits, dia_p),
                **{v: _dia_ranking(m, m.search(q["question"], k=max(KS) * 2), dia)
                   for v, (m, dia) in stores.items()},
            }
            cat = str(q.get("category"))
            for v, ranked in rankings.items():
                for k in KS:
                    r = recall_at(ranked, gold, k)
                    scores[v][k].append(r)
                    per_cat.setdefault(cat, {}).setdefault(v, {kk: [] for kk in KS})[k].append(r)
        plain.close()
        for m, _ in stores.values():
            m.close()

    def summary(d: dict[int, list[float]]) -> dict[str, float]:
        return {f"R@{k}": float(np.mean(v)) if v else 0.0 for k, v in d.items()}

    add_p = percentiles_ms(add_plain)
    add_e = percentiles_ms(add_evolved)
    return {
        "n_questions": n_questions,
        "recall": {v: summary(scores[v]) for v in VARIANTS if scores[v][KS[0]]},
        "per_category": {cat: {"n": len(next(iter(vs.values()))[KS[0]]),
                               **{v: summary(d) for v, d in vs.items()}}
                         for cat, vs in sorted(per_cat.items())},
        "timings": {"add_ms_p50": add_p["p50"], "add_ms_p95": add_p["p95"],
                    "add_evolve_ms_p50": add_e["p50"], "add_evolve_ms_p95": add_e["p95"],
                    "search_ms_p50": percentiles_ms(search_s)["p50"]},
        "evolution_events": events,
        "policy": "offline" + (f" and {policy}" if policy else ""),
        **({"llm_evolution": {**llm_cost, "seconds": round(sum(add_llm), 1),
                              "add_ms_p50": percentiles_ms(add_llm)["p50"]}} if add_llm else {}),
    }
