"""Benchmark: latency of ``Memory.add`` (offline, evolution on) in a store of 5,000 notes.

The store is filled in bulk with 5,000 synthetic chat-like memories (people, places,
activities, days), then 100 more are added one at a time with evolution on; p50 and p95
are printed next to the same measurement on an empty store (the baseline measured in
this run), so the ratio shows how ``add`` scales with the size of the memory. Usage::

    python benchmarks/memory_add.py [--notes 5000] [--adds 100] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import write_json

from graphmem import Memory
from graphmem.embeddings import load_embedder

PEOPLE = ["Caroline", "Melanie", "Jon", "Gina", "Tomas", "Aiko", "Ravi", "Lena", "Omar",
          "Priya", "Sven", "Nadia", "Marco", "Ines", "Kofi", "Mei", "Lucas", "Zara", "Ivan",
          "Elif"]
PLACES = ["the lake", "Port Sable", "the community centre", "the library", "Dunmere",
          "the climbing gym", "the farmers market", "the harbour", "the museum", "Kelmar",
          "the pottery studio", "the old theatre", "the park", "the bakery", "the beach"]
ACTS = ["painted a sunrise", "ran a charity race", "read a book about whales",
        "adopted a puppy", "started a vegetable garden", "learned to play the violin",
        "volunteered at a shelter", "baked sourdough bread", "went camping", "took a pottery class",
        "joined a choir", "fixed an old bicycle", "watched a documentary about comets",
        "planned a trip to Iceland", "wrote a short story"]
DAYS = ["on Monday", "last weekend", "in May", "yesterday", "two weeks ago", "in the spring",
        "on her birthday", "after work", "this morning", "during the holidays"]


def memories(n: int, seed: int) -> list[str]:
    combos = list(itertools.product(PEOPLE, ACTS, PLACES, DAYS))
    random.Random(seed).shuffle(combos)
    return [f"{p}: I {a} at {pl} {d}." for p, a, pl, d in combos[:n]]


def time_adds(mem: Memory, texts: list[str]) -> np.ndarray:
    out = []
    for i, t in enumerate(texts):
        t0 = time.perf_counter()
        mem.add(t, timestamp=f"2024-01-{i % 28 + 1:02d}")
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--notes", type=int, default=5000)
    ap.add_argument("--adds", type=int, default=100)
    ap.add_argument("--json")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    emb = load_embedder()
    pool = memories(args.notes + 2 * args.adds, seed=0)
    bulk, probe_empty, probe_full = (pool[:args.notes], pool[args.notes:args.notes + args.adds],
                                     pool[args.notes + args.adds:])
    with Memory(root / "empty", embedder=emb, evolve_on_add=True, offline_evolution=True) as mem:
        time_adds(mem, probe_empty[:5])  # warm up: JIT, spaCy, caches
        empty = time_adds(mem, probe_empty[5:])
    with Memory(root / "full", embedder=emb, evolve_on_add=True, offline_evolution=True) as mem:
        t0 = time.perf_counter()
        mem.index([{"title": "", "text": t} for t in bulk])
        fill_s = time.perf_counter() - t0
        notes = mem.stats()["notes"]
        time_adds(mem, probe_full[:5])
        full = time_adds(mem, probe_full[5:])
        events = mem.stats()["events"]
    out = {
        "notes_in_store": notes, "fill_s": round(fill_s, 1), "adds_timed": len(full),
        "empty_store_ms": {"p50": float(np.percentile(empty, 50)),
                           "p95": float(np.percentile(empty, 95))},
        "full_store_ms": {"p50": float(np.percentile(full, 50)),
                          "p95": float(np.percentile(full, 95))},
        "evolution_events": events,
    }
    out["ratio_p50_full_vs_empty"] = out["full_store_ms"]["p50"] / out["empty_store_ms"]["p50"]
    print(f"filled {notes} notes in {fill_s:.1f}s")
    print(f"add with evolution, empty store: p50 {out['empty_store_ms']['p50']:.1f} ms, "
          f"p95 {out['empty_store_ms']['p95']:.1f} ms")
    print(f"add with evolution, {notes}-note store: p50 {out['full_store_ms']['p50']:.1f} ms, "
          f"p95 {out['full_store_ms']['p95']:.1f} ms "
          f"(x{out['ratio_p50_full_vs_empty']:.2f} the empty store)")
    write_json(args.json, out)


if __name__ == "__main__":
    main()
