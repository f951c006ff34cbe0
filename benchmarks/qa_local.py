"""QA with a small local reader: dense vs the default recipe, single-step vs multi-hop.

    python benchmarks/qa_local.py [--quick] [--questions 30] [--multi-hop 10] [--json out.json]

The reader is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, assembled from PyPI parts, sha256
checked; ``--quick``: the 0.5B model) served by llama.cpp on 127.0.0.1. The graph is
MuSiQue-100's GPT-3.5 OpenIE file. Single-step answers on the first N questions with the
``dense`` and ``hybrid`` recipes (the same reader, same k=5), then the default recipe
single-step vs multi-hop on the first M. Reports EM, F1, R@shown, rejected answers,
calls, tokens and seconds per configuration, and per-question F1 wins and losses. The
store (with its LLM cache) is kept under ``~/.cache/graphmem/bench/``, so a rerun costs
no model call; delete it for a cold run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import MUSIQUE, require, write_json

from graphmem import Memory
from graphmem.eval.qa import evaluate_qa
from graphmem.eval.retrieval import load_questions
from graphmem.llm.local import QWEN_05B, QWEN_15B, LocalServer, assemble


def summary(r: dict) -> dict:
    return {k: (round(100 * v, 1) if isinstance(v, float) and k in ("exact_match", "f1")
                else v) for k, v in r.items() if k != "answers"} | {
        "R@shown": round(100 * r["recall"]["R@shown"], 1)}


def wins(a: dict, b: dict) -> dict:
    fa = [x["f1"] for x in a["answers"]]
    fb = [x["f1"] for x in b["answers"]]
    return {"wins": sum(y > x for x, y in zip(fa, fb, strict=True)),
            "losses": sum(y < x for x, y in zip(fa, fb, strict=True)),
            "ties": sum(y == x for x, y in zip(fa, fb, strict=True))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the 0.5B model instead of 1.5B")
    ap.add_argument("--questions", type=int, default=30)
    ap.add_argument("--multi-hop", type=int, default=10)
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    spec = QWEN_05B if args.quick else QWEN_15B
    questions = load_questions(require(MUSIQUE / "questions.json"))
    openie = require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json")
    store = Path("~/.cache/graphmem/bench").expanduser() / f"musique-openie-{spec.name}"
    t0 = time.perf_counter()
    store.parent.mkdir(parents=True, exist_ok=True)
    server = LocalServer(assemble(spec), n_ctx=4096, threads=2,
                         log_path=store.parent / f"{spec.name}.log")
    with server, Memory(store, llm_model=spec.name, llm_base_url=server.base_url,
                        llm_api_key="sk-local", llm_max_tokens=200, llm_concurrency=1,
                        llm_timeout=300.0, evolve_on_add=False, extractor="none") as mem:
        mem.index_openie(openie)
        single = evaluate_qa(mem, questions[:args.questions], None, recipes=["dense",
                                                                            "hybrid"])
        hop = evaluate_qa(mem, questions[:args.multi_hop], None, multi_hop=True,
                          recipes=["hybrid"])
    dense, hybrid = single["recipes"]["dense"], single["recipes"]["hybrid"]
    first = {**hybrid, "answers": hybrid["answers"][:args.multi_hop]}
    first_f1 = sum(a["f1"] for a in first["answers"]) / max(1, len(first["answers"]))
    multi = hop["recipes"]["hybrid"]
    res = {"reader": spec.name, "questions": args.questions, "k": 5,
           "single_step": {"dense": summary(dense), "hybrid": summary(hybrid),
                           "hybrid_vs_dense_f1": wins(dense, hybrid)},
           "multi_hop": {"questions": args.multi_hop,
                         "hybrid_single_step_f1": round(100 * first_f1, 1),
                         "hybrid_multi_hop": summary(multi),
                         "multi_vs_single_f1": wins(first, multi)},
           "seconds_total": round(time.perf_counter() - t0, 1),
           "answers": {"dense": dense["answers"], "hybrid": hybrid["answers"],
                       "multi_hop": multi["answers"]}}
    print(json.dumps({k: v for k, v in res.items() if k != "answers"}, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
