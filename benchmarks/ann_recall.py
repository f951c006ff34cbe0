"""The approximate vector index on real MiniLM vectors: recall@10 against an exact scan.

    python benchmarks/ann_recall.py [--store DIR] [--json out.json]

``benchmarks/scale.py`` measures the index on synthetic vectors, whose neighbourhoods
beyond the first are noise. This measures the same IVF-PQ index (``vecindex.Ann``, built
as for a large memory, with the same probes and exact re-ranking) on the real vectors of
the MuSiQue-100 store built from its OpenIE file: entity names and facts together (what
linking and fact seeding search), probed with the spans and the questions of the 100
MuSiQue questions, embedded by the same model. Real memories reach the index only above
200k rows; here it is forced on ~36k rows, so the lists hold fewer vectors than they would
at scale (recall at a million rows may differ).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from _common import MUSIQUE, require, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", help="a MuSiQue-100 OpenIE store (built when absent)")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    from graphmem import Memory
    from graphmem.retrieval import vecindex
    from graphmem.retrieval.linking import query_spans
    from graphmem.retrieval.vecindex import Ann, Nearest, _top

    vecindex.ANN_MIN_ROWS = 0  # force the index on a memory below the threshold

    store = Path(args.store) if args.store else Path(tempfile.mkdtemp()) / "musique"
    mem = Memory(store, evolve_on_index=False)
    if not mem.stats()["passages"]:
        mem.index_openie(require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json"))
    snap = mem.snapshot()
    mat = np.ascontiguousarray(np.vstack([snap.entities.matrix, snap.facts.matrix]),
                               dtype=np.float32)
    questions = [q["question"] for q in
                 json.loads(require(MUSIQUE / "questions.json").read_text())]
    spans = sorted({s for q in questions for s in query_spans(q)})
    probes = mem.embedder.embed_queries(spans + questions)
    near = Nearest(Ann.build(mat))
    got, _ = near.search(mat, probes, 10)
    exact, _ = _top(probes @ mat.T, 10)
    per = np.array([len(set(a) & set(b)) / 10 for a, b in zip(got, exact, strict=True)])
    res = {"rows": int(mat.shape[0]), "probes": int(len(probes)), "spans": len(spans),
           "recall_at_10": round(float(per.mean()), 3),
           "recall_at_10_spans": round(float(per[:len(spans)].mean()), 3),
           "recall_at_10_questions": round(float(per[len(spans):].mean()), 3),
           "hit_at_1": round(float(np.mean(got[:, 0] == exact[:, 0])), 3)}
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)
    mem.close()


if __name__ == "__main__":
    main()
