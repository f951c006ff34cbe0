"""Benchmark: build the MuSiQue-100 graph from the GPT-3.5 OpenIE file.

Prints the wall time, entity nodes and edges by kind, and how many times each distinct
string was embedded (must be exactly once), next to the figures HippoRAG 2 reported for
the same work on this machine. Usage::

    python benchmarks/index_musique.py [--json OUT.json] [--store DIR] [--int8]

With ``--int8`` the same import is also run with the int8-quantised embedder
(``embedding_backend="onnx-int8"``) into a second store, in the same run, and the
MuSiQue-100 recall of both stores is measured, so the speed-up and what it costs in
recall are read side by side.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import MUSIQUE, require, write_json

from graphmem import Memory
from graphmem.embeddings import load_embedder

PEER = {"seconds": 135, "entity_nodes": 16235, "relation_edges": 17036, "synonym_edges": 29840}


class CountingEmbedder:
    """Wraps the real embedder and counts every string sent to the model."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.model_name = inner.model_name
        self.dim = inner.dim
        self.sent: Counter[str] = Counter()

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.sent.update(texts)
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return self.inner.embed_queries(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--store", help="store directory (default: a temporary one)")
    ap.add_argument("--int8", action="store_true", help="also import with the int8 embedder")
    args = ap.parse_args()
    openie = require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json")
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp()) / "musique"
    if store.exists():
        shutil.rmtree(store)
    t_load = time.perf_counter()
    emb = CountingEmbedder(load_embedder())
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    with Memory(store, embedder=emb) as mem:
        rep = mem.index_openie(openie)
        wall = time.perf_counter() - t0
        stats = mem.stats()
        t1 = time.perf_counter()
        again = mem.index_openie(openie)
        rerun = time.perf_counter() - t1
    per_string = Counter(emb.sent.values())
    out = {
        "wall_s": round(wall, 1), "model_load_s": round(load_s, 2),
        "rerun_s": round(rerun, 2), "rerun_strings_embedded": again.strings_embedded,
        "passages": stats["passages"], "entity_nodes": stats["entities"],
        "triples": stats["triples"], "edges": stats["edges"],
        "strings_embedded": sum(emb.sent.values()), "distinct_strings": len(emb.sent),
        "embeddings_per_distinct_string": {str(k): v for k, v in sorted(per_string.items())},
        "malformed_extraction_items": rep.extraction_problems,
        "peer_hipporag2": PEER,
    }
    print(f"indexed {out['passages']} passages in {wall:.1f}s "
          f"(peer HippoRAG 2: ~{PEER['seconds']} s; ratio {PEER['seconds'] / wall:.2f}x)")
    print(f"entity nodes {out['entity_nodes']} (peer {PEER['entity_nodes']}), "
          f"relation edges {stats['edges']['relation']} (peer {PEER['relation_edges']}), "
          f"synonym edges {stats['edges']['synonym']} (peer {PEER['synonym_edges']}), "
          f"mention edges {stats['edges']['mention']}")
    print(f"strings sent to the model {out['strings_embedded']}, distinct "
          f"{out['distinct_strings']}; times embedded per distinct string: "
          f"{out['embeddings_per_distinct_string']}")
    print(f"re-running the same import: {rerun:.2f}s, {again.strings_embedded} strings embedded")
    if args.int8:
        out["recall"] = recall(store, "onnx")
        q8 = store.with_name(store.name + "-int8")
        if q8.exists():
            shutil.rmtree(q8)
        load_embedder(backend="onnx-int8")  # quantised once, outside the timing
        t2 = time.perf_counter()
        with Memory(q8, embedding_backend="onnx-int8") as mem:
            mem.index_openie(openie)
        out["wall_s_int8"] = round(time.perf_counter() - t2, 1)
        out["speedup_int8"] = round(wall / out["wall_s_int8"], 2)
        out["recall_int8"] = recall(q8, "onnx-int8")
        print(f"int8 embedder: {out['wall_s_int8']:.1f}s ({out['speedup_int8']}x); recall "
              f"fp32 {out['recall']} vs int8 {out['recall_int8']}")
    write_json(args.json, out)


def recall(store: Path, backend: str) -> dict[str, float]:
    """MuSiQue-100 R@2/5/10 (percent) of the default recipe on a built store, as
    ``graphmem eval retrieval`` measures it."""
    from graphmem.eval.retrieval import evaluate_retrieval, load_questions

    qs = load_questions(require(MUSIQUE / "questions.json"))
    with Memory(store, embedding_backend=backend) as mem:
        got = evaluate_retrieval(mem, qs, corpus=None)["recall"]
    return {k: round(100 * got[k], 2) for k in ("R@2", "R@5", "R@10")}

if __name__ == "__main__":
    main()
