"""kill -9 at a random point of an indexing run, resume, and get the same graph.

The victim is a real subprocess running the real pipeline (spaCy, the embedding model,
SQLite on disk). It is killed with SIGKILL after a random number of committed batches
plus a random delay (so sometimes mid-batch), twice; then the run is completed and the
store is compared with an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from snapshot import snapshot

from graphmem import Memory
from graphmem.store import SQLiteStore

RUNNER = """
import sys
from graphmem import Memory
from graphmem.store import SQLiteStore
def progress(stage, n, total):
    if stage == "index" and total is None:
        print("batch", flush=True)
mem = Memory(sys.argv[1], index_batch_size=4)
print("ready", flush=True)
mem.index(sys.argv[2], progress=progress)
print("done", flush=True)
"""


def corpus(tmp_path, demo_corpus):
    extra = [{"title": f"Harbour log {i}", "text": f"In {1900 + i} the boat Marta {i} sailed "
              f"from Ystrand to Port Sable carrying {i * 3} barrels of herring for the Aldous "
              f"Company."} for i in range(24)]
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(demo_corpus + extra))
    return path


def run_and_kill(store, path, rng, errlog) -> bool:
    """Start indexing in a subprocess and SIGKILL it; True if it was killed mid-run."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(store), str(path)],
                            stdout=subprocess.PIPE, stderr=errlog.open("w"), text=True,
                            env=env)
    target = rng.randint(1, 10)
    seen = 0
    finished = False
    try:
        for line in proc.stdout:
            if line.strip() == "batch":
                seen += 1
                if seen >= target:
                    time.sleep(rng.uniform(0.0, 0.3))
                    break
            if line.strip() == "done":
                finished = True
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    # killed mid-run unless it said "done" (or exited by itself before the signal)
    killed = not finished and proc.returncode == -signal.SIGKILL
    if not finished and not killed:  # it ended by itself without finishing: a crash
        raise AssertionError(f"indexing subprocess failed:\n{errlog.read_text()[-3000:]}")
    return killed


def test_kill9_then_resume_equals_uninterrupted(tmp_path, demo_corpus, embedder):
    path = corpus(tmp_path, demo_corpus)
    seed = int(os.environ.get("GRAPHMEM_TEST_SEED", time.time()))
    rng = random.Random(seed)
    crashed = tmp_path / "crashed"
    partial = []
    for i in range(2):
        if run_and_kill(crashed, path, rng, tmp_path / f"stderr{i}.txt"):
            with SQLiteStore(crashed) as store:  # what the killed run left behind
                s = store.stats()
                partial.append(s["documents"] - s["incomplete_documents"] < 60)
    assert any(partial), f"no run was killed before it finished (seed {seed})"

    with Memory(crashed, embedder=embedder, index_batch_size=4) as mem:
        mem.index(path)
        resumed = snapshot(mem.store)
    with Memory(tmp_path / "clean", embedder=embedder, index_batch_size=4) as mem:
        mem.index(path)
        clean = snapshot(mem.store)
    assert resumed["docs"] == clean["docs"]
    assert all(done for _, _, done in resumed["docs"].values())
    assert resumed == clean, f"resumed store differs from the clean run (seed {seed})"
