"""Streaming ingest with bounded memory: a JSONL corpus of a given size, indexed offline.

    python benchmarks/ingest_stream.py --mb 200 --max-seconds 120 [--json out.json]
    python benchmarks/ingest_stream.py --mb 20 --max-seconds 0      # index to the end

Generates a JSONL corpus (records of ~1 kB made from MuSiQue-100 paragraphs with their
names shuffled, so the graph keeps growing), runs ``graphmem index`` on it in a child
process, and reports ``seconds_to_first_commit`` (first complete document visible to a
second connection), ``peak_rss_mb`` of the whole process tree, ``docs_committed`` and
``docs_per_s``. With ``--max-seconds`` > 0 the run is stopped (SIGKILL) after that long;
re-running the same command on the same store would resume.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _common import MUSIQUE, require, write_json


def make_corpus(path: Path, mb: float, seed: int = 7) -> int:
    paras = [p["text"] for p in json.loads(require(MUSIQUE / "corpus.json").read_text())]
    titles = [p["title"] for p in json.loads((MUSIQUE / "corpus.json").read_text())]
    rng = random.Random(seed)
    target = int(mb * 1024 * 1024)
    n = size = 0
    with path.open("w", encoding="utf-8") as fh:
        while size < target:
            i = rng.randrange(len(paras))
            other = titles[rng.randrange(len(titles))]
            text = f"{paras[i]} It is also linked to {other} ({n})."
            line = json.dumps({"title": f"{titles[i]} {n}", "text": text}) + "\n"
            fh.write(line)
            size += len(line.encode())
            n += 1
    return n


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return c.execute("SELECT COUNT(*) FROM documents WHERE complete=1").fetchone()[0]
    except sqlite3.Error:
        return 0


def run(mb: float, max_seconds: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="graphmem-stream-"))
    corpus = work / "corpus.jsonl"
    t = time.perf_counter()
    n_docs = make_corpus(corpus, mb)
    gen_s = time.perf_counter() - t
    store = work / "store"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_EVOLVE_ON_INDEX": "false"}
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "graphmem", "index", str(corpus),
                              "--store", str(store), "--json"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = psutil.Process(child.pid)
    peak = 0
    first = None
    db = store / "graphmem.sqlite"
    while child.poll() is None:
        peak = max(peak, tree_rss(proc))
        if first is None and committed(db) > 0:
            first = time.perf_counter() - t0
        if max_seconds and time.perf_counter() - t0 > max_seconds:
            child.send_signal(signal.SIGKILL)
            child.wait()
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    done = committed(db)
    return {"corpus_mb": mb, "corpus_docs": n_docs, "generate_s": round(gen_s, 1),
            "stopped_after_s": max_seconds or None, "finished": child.returncode == 0,
            "exit_code": child.returncode, "seconds": round(elapsed, 1),
            "seconds_to_first_commit": round(first, 2) if first is not None else None,
            "peak_rss_mb": round(peak / 2**20), "docs_committed": done,
            "docs_per_s": round(done / elapsed, 1),
            "error_tail": err[-500:] if child.returncode not in (0, -9) else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=200.0)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    res = run(args.mb, args.max_seconds)
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
