"""Concurrency under load: 4 searching threads + 1 adding thread in one process, and an
indexing process beside them, against one store, for a fixed time.

    python benchmarks/concurrency.py [--seconds 60] [--json out.json]

Setup: the first 300 MuSiQue-100 passages are indexed offline. Then search latency is
measured alone (one thread), then under load: 4 threads search MuSiQue questions, 1 thread
adds LoCoMo turns as memories (evolution on), and a separate process indexes the rest of
the MuSiQue corpus through the CLI. Prints errors (must be 0), searches, adds,
search_ms_p50/p95 under load, graph_rebuilds, and the ratio of the search p50 under load
to the search p50 alone, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import LOCOMO, MUSIQUE, require, write_json

from graphmem import Memory
from graphmem.eval.memory import conversation_turns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    corpus = json.loads(require(MUSIQUE / "corpus.json").read_text())
    questions = [q["question"] for q in json.loads((MUSIQUE / "questions.json").read_text())]
    turns = conversation_turns(json.loads(require(LOCOMO).read_text())[0])
    work = Path(tempfile.mkdtemp(prefix="graphmem-conc-"))
    store = work / "store"
    rest = work / "rest.json"
    rest.write_text(json.dumps(corpus[300:]))
    mem = Memory(store)
    mem.index(corpus[:300])
    alone = []
    mem.search(questions[0])
    for q in questions[:60]:
        t = time.perf_counter()
        mem.search(q)
        alone.append(time.perf_counter() - t)
    builds0 = mem.snapshots.graph_builds
    errors: list[str] = []
    lat: list[float] = []
    adds = [0]
    stop = threading.Event()
    lock = threading.Lock()

    def searcher(n: int) -> None:
        i = n
        while not stop.is_set():
            t = time.perf_counter()
            try:
                hits = mem.search(questions[i % len(questions)], k=5)
                if not hits:
                    raise RuntimeError("no hits")
            except Exception as exc:  # noqa: BLE001 - counted, that is the measurement
                with lock:
                    errors.append(f"search: {type(exc).__name__}: {exc}")
            else:
                with lock:
                    lat.append(time.perf_counter() - t)
            i += 4

    def adder() -> None:
        i = 0
        while not stop.is_set() and i < len(turns):
            try:
                mem.add(turns[i]["text"], timestamp=turns[i]["timestamp"])
                adds[0] += 1
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"add: {type(exc).__name__}: {exc}")
            i += 1

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    indexer = subprocess.Popen([sys.executable, "-m", "graphmem", "index", str(rest),
                                "--store", str(store), "--json"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=adder))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    indexer.terminate()
    out, err = indexer.communicate(timeout=60)
    if indexer.returncode not in (0, -15):
        errors.append(f"index process: exit {indexer.returncode}: {err[-500:]}")
    p_alone = float(np.percentile(alone, 50) * 1000)
    res = {
        "seconds": round(wall, 1),
        "errors": len(errors),
        "searches": len(lat),
        "adds": adds[0],
        "documents_indexed_by_the_other_process": mem.stats()["documents"] - 300 - adds[0],
        "search_ms_p50": round(float(np.percentile(lat, 50) * 1000), 1) if lat else None,
        "search_ms_p95": round(float(np.percentile(lat, 95) * 1000), 1) if lat else None,
        "search_ms_p50_alone": round(p_alone, 1),
        "graph_rebuilds": mem.snapshots.graph_builds - builds0,
        "snapshot_refreshes": mem.snapshots.refreshes,
        "p50_ratio_load_vs_alone": round(float(np.percentile(lat, 50) * 1000) / p_alone, 2)
        if lat else None,
        "error_examples": errors[:5],
    }
    mem.close()
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
