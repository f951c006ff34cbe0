"""The same memory on SQLite and on a Bolt server (ArcadeDB from PyPI), in one run.

    python benchmarks/store_bolt.py [--json out.json]

Indexes MuSiQue-100 from its GPT-3.5 OpenIE file into SQLite and into ArcadeDB (started
here on 127.0.0.1), then reports for each: ``index_s``; ``search_ms_p50`` with a warm
snapshot (goal: Bolt within 1.5x of SQLite); ``refresh_ms``, the time for the next search
after one ``add`` to see the new memory (snapshot delta; goal <= 200 ms at this size);
``cold_snapshot_s`` (a new process's first read, from the server, no disk cache),
``warm_open_s`` (the same from the local disk cache); and R@5
over the 100 questions (must be equal: retrieval is local and the data is the same).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import MUSIQUE, require, write_json

from graphmem import Memory
from graphmem.eval.metrics import mean_recall
from graphmem.eval.retrieval import gold_documents, load_questions, to_documents

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def measure(mem: Memory, questions: list[dict], openie: Path) -> dict:
    t = time.perf_counter()
    mem.index_openie(openie)
    index_s = time.perf_counter() - t
    qs = [q["question"] for q in questions]
    mem.search(qs[0])
    lat = []
    for q in qs:
        t = time.perf_counter()
        mem.search(q, k=5)
        lat.append(time.perf_counter() - t)
    ranked = [to_documents(mem, [h.passage_id for h in hits])
              for hits in mem.search_many(qs, k=15, explain=False)]
    recall = mean_recall(ranked, [gold_documents(q) for q in questions], ks=(5,))
    refresh = []
    for i in range(5):
        mem.add(f"Benchmark note {i}: the harbour of Ystrand was rebuilt in {1900 + i}.")
        t = time.perf_counter()
        hits = mem.search(f"harbour of Ystrand rebuilt in {1900 + i}", k=3)
        refresh.append(time.perf_counter() - t)
        assert any(str(1900 + i) in h.text for h in hits)
    return {"index_s": round(index_s, 1),
            "search_ms_p50": round(float(np.percentile(lat, 50)) * 1000, 1),
            "search_ms_p95": round(float(np.percentile(lat, 95)) * 1000, 1),
            "refresh_ms": round(float(np.median(refresh)) * 1000, 1),
            "R@5": round(100 * recall["R@5"], 1), "passages": mem.stats()["passages"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    from bolt_server import arcadedb, bolt_params

    questions = load_questions(require(MUSIQUE / "questions.json"))
    openie = require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json")
    work = Path(tempfile.mkdtemp(prefix="graphmem-bolt-bench-"))
    res = {}
    with Memory(work / "sqlite", evolve_on_add=False) as mem:
        res["sqlite"] = measure(mem, questions, openie)
    arcadedb()
    p = bolt_params("arcadedb")
    kw = {"neo4j_user": p["user"], "neo4j_password": p["password"],
          "neo4j_database": p["database"], "evolve_on_add": False}
    with Memory(store=p["uri"], **kw) as mem:
        res["bolt"] = measure(mem, questions, openie)
        local_cache = mem.store.cache_directory
    shutil.rmtree(local_cache, ignore_errors=True)  # a machine that never saw this memory
    with Memory(store=p["uri"], **kw) as mem:
        t = time.perf_counter()
        mem.snapshot()
        res["bolt"]["cold_snapshot_s"] = round(time.perf_counter() - t, 1)
    with Memory(store=p["uri"], **kw) as mem:
        t = time.perf_counter()
        mem.snapshot()
        res["bolt"]["warm_open_s"] = round(time.perf_counter() - t, 2)
    res["search_ratio_bolt_vs_sqlite"] = round(res["bolt"]["search_ms_p50"] /
                                               res["sqlite"]["search_ms_p50"], 2)
    res["recall_equal"] = res["bolt"]["R@5"] == res["sqlite"]["R@5"]
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
