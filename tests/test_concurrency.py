"""One Memory shared by threads, and one store shared by processes, under real load.

Before snapshots, 4 searching threads beside 1 adding thread failed in more than half of
their searches (ValueError, FileNotFoundError, KeyError): the id list and the matrix of
a search came from different states. Here every search must succeed, see a consistent
snapshot, and soon see what was added.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from graphmem import Memory

TOPICS = ["harbour", "orchard", "theatre", "observatory", "library", "railway", "glacier"]


def memory_text(i: int) -> str:
    return (f"Entry {i}: Ingrid Solberg visited the {TOPICS[i % len(TOPICS)]} of Kelmar "
            f"number {i} and wrote about it in her diary.")


def test_threads_search_while_another_adds(tmp_path, embedder, demo_corpus):
    mem = Memory(tmp_path / "s", embedder=embedder, offline_evolution=True, link_threshold=0.5)
    mem.index(demo_corpus)
    errors: list[BaseException] = []
    searches = [0]
    stop = threading.Event()
    added: list[str] = []

    def searcher(n: int) -> None:
        queries = ["Who designed the Orrin Theatre?", "Ingrid Solberg diary",
                   "Which council governs the island where Marguerite Olsen was born?",
                   f"what did Ingrid write about the {TOPICS[n]}"]
        i = 0
        while not stop.is_set():
            try:
                hits = mem.search(queries[i % len(queries)], k=5)
                assert hits and all(h.text for h in hits)
                searches[0] += 1
            except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(exc)
                return
            i += 1

    def adder() -> None:
        i = 0
        while not stop.is_set():
            try:
                mem.add(memory_text(i))
                added.append(memory_text(i))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return
            i += 1

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=adder))
    for t in threads:
        t.start()
    time.sleep(12)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, repr(errors[:3])
    assert searches[0] > 20 and len(added) > 3
    # nothing lost, and the next search sees the newest memory
    assert mem.stats()["documents"] == len(demo_corpus) + len(added)
    last = added[-1]
    assert last in [h.text for h in mem.search(last, k=3)]
    assert mem.snapshot().skipped_edges == 0
    mem.close()


def test_snapshots_read_one_consistent_state_under_writes(tmp_path, embedder, demo_corpus):
    """Nodes, edges and vectors of a snapshot always come from the same committed state."""
    writer = Memory(tmp_path / "s", embedder=embedder, evolve_on_add=False)
    reader = Memory(tmp_path / "s", embedder=embedder)
    stop = threading.Event()

    def write() -> None:
        for i in range(0, len(demo_corpus), 3):
            writer.index(demo_corpus[i:i + 3])
        stop.set()

    t = threading.Thread(target=write)
    t.start()
    seen = set()
    while not stop.is_set() or len(seen) < 2:
        snap = reader.snapshot()
        seen.add(snap.generation)
        g = snap.graph()
        assert g.n_passages == len(snap.passages) == snap.notes.matrix.shape[0]
        assert g.n_nodes == len(snap.passages) + len(snap.entities)
        assert snap.skipped_edges == 0
        if stop.is_set():
            break
    t.join()
    assert len(seen) >= 2
    final = reader.snapshot()
    assert len(final.passages) == len(demo_corpus)
    fresh = Memory(tmp_path / "s2", embedder=embedder, evolve_on_add=False)
    fresh.index(demo_corpus)
    full = fresh.snapshot()  # built in one read, for comparison with the incremental one
    assert sorted(final.passages.ids) == sorted(full.passages.ids)
    assert sorted(final.entities.ids) == sorted(full.entities.ids)
    assert final.graph().n_edges == full.graph().n_edges
    for m in (writer, reader, fresh):
        m.close()


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphmem", *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.slow
def test_processes_index_search_and_add_at_once(tmp_path, demo_corpus):
    store = str(tmp_path / "shared")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_STORE": store}
    first, second = demo_corpus[:6], demo_corpus[6:]
    (tmp_path / "a.json").write_text(json.dumps(first))
    (tmp_path / "b.json").write_text(json.dumps(second))
    assert _cli("index", str(tmp_path / "a.json"), env=env).returncode == 0
    indexer = subprocess.Popen([sys.executable, "-m", "graphmem", "index",
                                str(tmp_path / "b.json")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    adder = subprocess.Popen([sys.executable, "-c", (
        "import sys\nfrom graphmem import Memory\nm = Memory(sys.argv[1])\n"
        "for i in range(8):\n    m.add(f'Memory {i}: Tomas Reyes planted an orchard row {i}.')\n"
        "print('ok')"), store], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    outcomes = []
    while indexer.poll() is None or adder.poll() is None:
        r = _cli("search", "Who designed the Orrin Theatre?", "--json", env=env)
        outcomes.append(r)
        assert r.returncode == 0, r.stderr[-2000:]
    for proc in (indexer, adder):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    assert outcomes, "no search ran while the others wrote"
    s = json.loads(_cli("stats", "--json", env=env).stdout)
    assert s["documents"] == len(demo_corpus) + 8  # nothing lost
    hits = json.loads(_cli("search", "Tomas Reyes planted an orchard row 7", "--json",
                           env=env).stdout)
    assert any("row 7" in h["text"] for h in hits)  # the next search sees new data
