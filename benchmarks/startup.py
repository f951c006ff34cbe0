"""Start-up: whole processes, as an agent or a script calls the CLI once per question.

    python benchmarks/startup.py [--runs 5] [--store DIR] [--json out.json]

Times (median of ``--runs``) ``graphmem --help`` and a one-shot ``graphmem search`` on the
MuSiQue-100 store built from its OpenIE file (built once under
``~/.cache/graphmem/bench/startup-musique`` unless ``--store`` names one), beside a bare
``python -c pass`` measured in the same run, so the ratio says what graphmem itself costs
on a machine whose speed drifts, and the same search with numba's kernels loaded (the
path before: every process paid for numba). Goals: ``--help`` <= 0.3 s, one-shot search
<= 1.0 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import MUSIQUE, require, write_json

BIN = Path(sys.executable).parent / "graphmem"


def timed(cmd: list[str], runs: int) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--store")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    store = Path(args.store) if args.store else \
        Path("~/.cache/graphmem/bench/startup-musique").expanduser()
    if not (store / "graphmem.sqlite").exists():
        from graphmem import Memory

        print(f"building the MuSiQue-100 store at {store} (once)")
        with Memory(store, evolve_on_add=False) as mem:
            mem.index_openie(require(MUSIQUE / "openie_gpt-3.5-turbo-1106.json"))
    search = [str(BIN), "search", "Who designed the theatre where the opera premiered?",
              "--store", str(store), "-k", "5"]
    timed(search, 1)  # warm the OS file cache and numba's on-disk cache once
    # the path before: the walk's numba kernels loaded in every process
    with_numba = [sys.executable, "-c", "import sys; import graphmem.retrieval.ppr as p; "
                  "p.KERNELS = 'numba'; from graphmem.cli import main; "
                  "sys.argv = ['graphmem'] + sys.argv[1:]; main()", *search[1:]]
    res = {"python_s": timed([sys.executable, "-c", "pass"], args.runs),
           "help_s": timed([str(BIN), "--help"], args.runs),
           "search_s": timed(search, args.runs),
           "search_numba_kernels_s": timed(with_numba, args.runs), "runs": args.runs}
    res["help_ratio_to_python"] = res["help_s"] / res["python_s"]
    res["search_ratio_to_python"] = res["search_s"] / res["python_s"]
    res["search_ratio_numba_to_now"] = res["search_numba_kernels_s"] / res["search_s"]
    print(f"python -c pass {res['python_s']:.3f} s | graphmem --help {res['help_s']:.3f} s "
          f"(goal 0.3) | one-shot search {res['search_s']:.3f} s (goal 1.0; "
          f"{res['search_numba_kernels_s']:.3f} s with numba's kernels loaded)")
    write_json(args.out, res)


if __name__ == "__main__":
    main()
