"""Evolution decided by a small local LLM beside the offline policy, on a LoCoMo slice.

    python benchmarks/memory_llm.py [--turns 80] [--quick] [--json out.json]

The local Qwen2.5-Coder GGUF (1.5B; ``--quick``: 0.5B) served by llama.cpp on 127.0.0.1
decides every evolution step of the first conversation's first ``--turns`` turns (one
call per added turn); extraction stays offline so that only evolution differs. Reports
evidence R@5/R@10 of dense, graph, graph + offline evolution and graph + LLM evolution on
the questions whose evidence lies in the slice, with the LLM's calls, tokens, rejected
decisions and seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import LOCOMO, require, write_json

from graphmem.eval.memory import evaluate_memory
from graphmem.llm.local import QWEN_05B, QWEN_15B, LocalServer, assemble


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=80)
    ap.add_argument("--quick", action="store_true", help="the 0.5B model instead of 1.5B")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    spec = QWEN_05B if args.quick else QWEN_15B
    work = Path(tempfile.mkdtemp(prefix="graphmem-memllm-"))
    t0 = time.perf_counter()
    with LocalServer(assemble(spec), n_ctx=4096, threads=2,
                     log_path=work / "server.log") as server:
        base = {"llm_model": spec.name, "llm_base_url": server.base_url,
                "llm_api_key": "sk-local", "llm_timeout": 300.0, "llm_concurrency": 1,
                "llm_max_tokens": 300, "extractor": "offline"}
        res = evaluate_memory(require(LOCOMO), work, base, max_conversations=1,
                              max_turns=args.turns)
    res["model"] = spec.name
    res["turns"] = args.turns
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    print(f"{res['n_questions']} questions on the first {args.turns} turns; "
          f"evolution by {spec.name}")
    for v, r in res["recall"].items():
        print(f"  {v:<18} R@5 {100 * r['R@5']:5.1f}  R@10 {100 * r['R@10']:5.1f}")
    c = res.get("llm_evolution", {})
    print(f"LLM evolution: {c.get('calls')} calls, {c.get('prompt_tokens')} prompt + "
          f"{c.get('completion_tokens')} completion tokens, {c.get('rejected')} rejected, "
          f"{c.get('seconds')} s of adds; wall {res['wall_s']} s")
    write_json(args.out, res)


if __name__ == "__main__":
    main()
