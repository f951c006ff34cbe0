"""Offline indexing throughput: where the time goes, and how the rate holds with size.

    python benchmarks/index_offline.py [--json out.json] [--baseline]

Indexes the MuSiQue-100 corpus (1,890 passages) and its first 500 passages with the
offline extractor (spaCy) and the ONNX embedder into fresh stores, and reports for each:
passages/s, strings embedded per passage, peak RSS of the process, and the share of time
in each stage (read+chunk, extract, embed, synonyms, write). With ``--baseline`` the same
corpus is also indexed with the overlap of extraction and embedding turned off
(``GRAPHMEM_INDEX_PIPELINE=0``: one stage after the other, as before), and the ratio is
printed, measured in the same run. With ``--int8`` the whole corpus is also indexed with
the int8-quantised embedder (``onnx-int8``), and that ratio is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import MUSIQUE, require, write_json

CHILD = r"""
import json, resource, sys, time
from graphmem import Memory
corpus = json.load(open(sys.argv[1]))[: int(sys.argv[2])]
mem = Memory(sys.argv[3], evolve_on_index=False)
mem.embedder  # load the model before timing
t = time.perf_counter()
rep = mem.index(corpus)
wall = time.perf_counter() - t
stages = {k: round(v, 2) for k, v in rep.stage_seconds.items()}
print(json.dumps({"passages": rep.passages_indexed, "seconds": round(wall, 1),
                  "passages_per_s": round(rep.passages_indexed / wall, 1),
                  "strings_per_passage": round(rep.strings_embedded / rep.passages_indexed, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "stage_share": {k: round(v / wall, 3) for k, v in stages.items()},
                  "stage_seconds": stages}))
"""


def run(n: int, pipeline: bool, backend: str = "auto") -> dict:
    work = Path(tempfile.mkdtemp(prefix="graphmem-idx-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_EMBEDDING_BACKEND": backend,
           "GRAPHMEM_INDEX_PIPELINE": "1" if pipeline else "0"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(MUSIQUE / "corpus.json"), str(n),
                          str(work / "store")], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", dest="out")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--int8", action="store_true",
                    help="also index everything with the int8 embedder (onnx-int8)")
    args = ap.parse_args()
    require(MUSIQUE / "corpus.json")
    res = {"first_500": run(500, True), "all_1890": run(1890, True)}
    res["rate_ratio_1890_vs_500"] = round(res["all_1890"]["passages_per_s"] /
                                          res["first_500"]["passages_per_s"], 2)
    if args.baseline:
        res["all_1890_sequential"] = run(1890, False)
        res["speedup_vs_sequential"] = round(res["all_1890"]["passages_per_s"] /
                                             res["all_1890_sequential"]["passages_per_s"], 2)
    if args.int8:
        res["all_1890_int8"] = run(1890, True, "onnx-int8")
        res["speedup_int8"] = round(res["all_1890_int8"]["passages_per_s"] /
                                    res["all_1890"]["passages_per_s"], 2)
    print(json.dumps(res, indent=2))  # noqa: T201
    write_json(args.out, res)


if __name__ == "__main__":
    main()
