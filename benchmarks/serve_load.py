"""Load on the REST API: N concurrent clients for a fixed time, 90% search and 10% add.

    python benchmarks/serve_load.py [--clients 8] [--seconds 60] [--json out.json]

Builds a store from the first 300 MuSiQue-100 passages (offline), starts
``graphmem serve`` on a free 127.0.0.1 port with a token, and runs the clients (threads,
one HTTP connection each): searches use MuSiQue questions, adds LoCoMo turns (evolution
on). Reports requests/s, p50/p95 latency per kind and errors (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from _common import LOCOMO, MUSIQUE, require, write_json

from graphmem import Memory
from graphmem.eval.memory import conversation_turns
from graphmem.llm.local import free_port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    corpus = json.loads(require(MUSIQUE / "corpus.json").read_text())
    questions = [q["question"] for q in json.loads((MUSIQUE / "questions.json").read_text())]
    turns = [t["text"] for t in conversation_turns(json.loads(require(LOCOMO).read_text())[0])]
    store = Path(tempfile.mkdtemp(prefix="graphmem-load-")) / "store"
    with Memory(store) as mem:
        mem.index(corpus[:300])
    port, token = free_port(), "load-test-token"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_API_TOKEN": token}
    server = subprocess.Popen([sys.executable, "-m", "graphmem", "serve", "--store", str(store),
                               "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    lat: dict[str, list[float]] = {"search": [], "add": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    turn = iter(range(10**9))

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            while not stop.is_set():
                if rng.random() < 0.9:
                    kind, path = "search", "/v1/search"
                    body = {"query": rng.choice(questions), "k": 5}
                else:
                    kind, path = "add", "/v1/memories"
                    body = {"text": turns[next(turn) % len(turns)]}
                t = time.perf_counter()
                try:
                    r = c.post(path, json=body)
                    ok = r.status_code in (200, 201)
                    why = f"{kind}: HTTP {r.status_code} {r.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{kind}: {type(exc).__name__}: {exc}"
                with lock:
                    if ok:
                        lat[kind].append(time.perf_counter() - t)
                    else:
                        errors.append(why)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    server.terminate()
    server.wait(timeout=30)

    def pct(xs: list[float], q: float) -> float | None:
        return round(float(np.percentile(xs, q)) * 1000, 1) if xs else None

    n = len(lat["search"]) + len(lat["add"])
    res = {"clients": args.clients, "seconds": round(wall, 1), "requests": n,
           "req_per_s": round(n / wall, 1), "errors": len(errors),
           "search": {"n": len(lat["search"]), "p50_ms": pct(lat["search"], 50),
                      "p95_ms": pct(lat["search"], 95)},
           "add": {"n": len(lat["add"]), "p50_ms": pct(lat["add"], 50),
                   "p95_ms": pct(lat["add"], 95)},
           "all": {"p50_ms": pct(lat["search"] + lat["add"], 50),
                   "p95_ms": pct(lat["search"] + lat["add"], 95)},
           "error_examples": errors[:5]}
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
