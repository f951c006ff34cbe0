"""A synthetic memory of a given size, built through the store's write path, then queried
in a fresh process.

    python benchmarks/scale.py --entities 100000 --edges 1000000 [--json out.json]

Fixed shape, so runs compare: passages = N/5, facts = 2N (each a relation edge), edges = M
in total (relations, mentions, synonyms; entity popularity follows a power law), vectors
synthetic (clustered Gaussians in 384 dimensions, normalised: real MiniLM embeddings of
millions of strings would take hours). The query process loads the memory from its disk
snapshot and runs whole ``search`` calls (embed the query, link spans and facts, walk,
rank): with ``push`` and with ``power``. Reports n_nodes, n_edges, build_s, store_mb,
peak_rss_mb (query process only), cold_open_s (open to first result), query_ms_p50/p95
per solver, topk_agreement (push vs power top-10 with the same restart vector, 50
queries: the solver's accuracy), topk_agreement_full_prior (push vs a power iteration
whose dense prior covers every passage: what truncating the prior changes) and
link_recall_at_10 (approximate vs exact nearest entities).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
QUERY_CHILD = r"""
import json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
import re
from graphmem import Memory
from graphmem.embeddings import load_embedder
from graphmem.retrieval.recipes import HYBRID

class Synthetic:
    # runs the real model (its cost is part of a search) but answers with a vector in the
    # synthetic space: the two entities the query names, plus noise
    def __init__(self, mem, real):
        self.mem, self.real, self.dim, self.model_name = mem, real, real.dim, "synthetic"
    def embed_queries(self, texts):
        self.real.embed_queries(texts)
        snap = self.mem.snapshot()
        out = []
        rng = np.random.default_rng(len(texts))
        for t in texts:
            rows = [snap.entities.row(__import__("graphmem.types", fromlist=["x"]).content_id(
                "e:", f"entity {n}")) for n in re.findall(r"entity (\d+)", t)]
            v = sum(snap.entities.matrix[r] for r in rows if r is not None) \
                if any(r is not None for r in rows) else rng.normal(size=self.dim)
            v = v + rng.normal(0, 0.05, self.dim)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)
    embed_documents = embed_queries

mem = Memory(sys.argv[1], evolve_on_add=False)
mem._embedder = Synthetic(mem, load_embedder())
queries = json.loads(open(sys.argv[2]).read())
first = mem.search(queries[0], k=10, recipe=HYBRID.with_(solver="push"))
cold = time.perf_counter() - t0
out = {"cold_open_s": round(cold, 2)}
tops = {}
variants = {"push": HYBRID.with_(solver="push"), "power": HYBRID.with_(solver="power"),
            "power_full_prior": HYBRID.with_(solver="power", prior_passages=None)}
for name, rec in variants.items():
    mem.search(queries[0], k=10, recipe=rec)
    lat, tops[name] = [], []
    for q in queries:
        t = time.perf_counter()
        hits = mem.search(q, k=10, recipe=rec)
        lat.append(time.perf_counter() - t)
        tops[name].append({h.passage_id for h in hits})
    out[f"query_ms_p50_{name}"] = round(float(np.percentile(lat, 50)) * 1000, 1)
    out[f"query_ms_p95_{name}"] = round(float(np.percentile(lat, 95)) * 1000, 1)
def agree(a, b):
    return round(float(np.mean([len(x & y) / max(1, len(y)) for x, y in zip(a, b)])), 3)
out["topk_agreement"] = agree(tops["push"], tops["power"])
out["topk_agreement_full_prior"] = agree(tops["push"], tops["power_full_prior"])
# peak RSS of opening and searching; the exact scan below (for link recall only) reads
# every entity vector and would count them all
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
snap = mem.snapshot()
ents = snap.entities
rng = np.random.default_rng(1)
probe = ents.matrix[rng.choice(len(ents), 200, replace=False)] + \
    rng.normal(0, 0.02, (200, ents.matrix.shape[1])).astype(np.float32)
probe /= np.linalg.norm(probe, axis=1, keepdims=True)
approx, _ = ents.nearest(probe, 10)
exact = np.argsort(-(probe @ np.asarray(ents.matrix).T), axis=1)[:, :10]
out["link_recall_at_10"] = round(float(np.mean([len(set(a) & set(b)) / 10
                                                for a, b in zip(approx, exact)])), 3)
# what linking uses: the entity a span names, found first (the other nine neighbours of a
# synthetic vector are noise-level ties that no index partition can find reliably)
out["link_hit_at_1"] = round(float(np.mean(approx[:, 0] == exact[:, 0])), 3)
out["ann"] = ents.uses_ann
g = snap.graph()
out["n_nodes"], out["n_edges"] = g.n_nodes, g.n_edges
out["peak_rss_mb_with_exact_scan"] = round(
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def build(path: Path, n_ent: int, n_edges: int, seed: int = 0) -> dict:
    """Write the synthetic memory through ``Store.write_batch``, in batches."""
    from graphmem.embeddings import text_hash
    from graphmem.store import SQLiteStore
    from graphmem.store.records import DocumentRecord, WriteBatch
    from graphmem.types import Document, Extraction, Note, Passage, SynonymEdge, Triple
    from graphmem.types import content_id as cid

    rng = np.random.default_rng(seed)
    n_pass, n_facts = max(1, n_ent // 5), 2 * n_ent
    n_syn = n_edges // 20
    n_ment = max(n_pass, n_edges - n_facts - n_syn)
    per_pass = max(1, n_ment // n_pass)
    facts_per = max(1, n_facts // n_pass)
    centers = unit(rng.normal(size=(1000, DIM)))
    cluster = rng.integers(0, 1000, n_ent)
    pop = 1.0 / (np.arange(n_ent) + 10.0) ** 1.1  # a power law of entity popularity
    pop /= pop.sum()
    names = [f"entity {i}" for i in range(n_ent)]
    ent_vec = unit(centers[cluster] + rng.normal(0, 0.35, (n_ent, DIM)))
    store = SQLiteStore(path, "synthetic")
    t0 = time.perf_counter()
    seen: set[int] = set()
    step = 2000
    for start in range(0, n_pass, step):
        docs, passages, exs, notes, vectors = [], [], [], [], {}
        for p in range(start, min(n_pass, start + step)):
            ents = np.unique(rng.choice(n_ent, per_pass, p=pop))
            text = f"passage {p} about " + ", ".join(names[e] for e in ents[:8])
            doc = Document(f"doc {p}", text)
            psg = Passage(doc.title, text, doc.id, 0)
            triples = []
            for _ in range(facts_per):
                a, b = rng.choice(ents, 2) if len(ents) > 1 else (ents[0], (ents[0] + 1) % n_ent)
                if a != b:
                    triples.append(Triple(names[a], f"rel {int(rng.integers(50))}", names[b]))
            exs.append(Extraction(psg.id, entities=[names[e] for e in ents], triples=triples,
                                  extractor="synthetic"))
            docs.append(DocumentRecord(doc, 1, True))
            passages.append(psg)
            notes.append(Note(id=psg.id, content=text, title=doc.title))
            vectors[text_hash(psg.embed_text)] = unit(ent_vec[ents].mean(0, keepdims=True) +
                                                      rng.normal(0, 0.05, (1, DIM)))[0]
            for e in ents:
                if e not in seen:
                    seen.add(int(e))
                    vectors[text_hash(names[e])] = ent_vec[e]
            for t in triples:
                a, b = int(t.subject.split()[1]), int(t.object.split()[1])
                vectors[text_hash(t.text)] = unit((ent_vec[a] + ent_vec[b])[None, :] +
                                                  rng.normal(0, 0.05, (1, DIM)))[0]
        syn = []
        for _ in range(n_syn * len(passages) // n_pass):
            a = int(rng.integers(n_ent))
            b = int(rng.choice(np.flatnonzero(cluster == cluster[a])[:50]))
            if a != b and a in seen and b in seen:
                syn.append(SynonymEdge(cid("e:", names[a]), cid("e:", names[b]), 0.85))
        store.write_batch(WriteBatch(documents=docs, passages=passages, extractions=exs,
                                     notes=notes, vectors=vectors, synonyms=syn))
        print(f"  {min(n_pass, start + step):,}/{n_pass:,} passages "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    store.close()
    return {"build_write_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--dir", help="keep the memory here (default: a temporary directory)")
    ap.add_argument("--json", dest="out")
    args = ap.parse_args()
    path = Path(args.dir or tempfile.mkdtemp(prefix="graphmem-scale-")) / "store"
    res: dict = {"entities": args.entities, "edges_asked": args.edges}
    t0 = time.perf_counter()
    if not (path / "graphmem.sqlite").exists():
        res.update(build(path, args.entities, args.edges))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_EMBEDDING_MODEL": "synthetic"}
        # the snapshot (vectors, graph, indexes) is made once and saved beside the store
        prep = ("import sys\nfrom graphmem import Memory\nfrom graphmem.embeddings import "
                "load_embedder\nm = Memory(sys.argv[1], embedder=load_embedder())\n"
                "m.snapshots.cache.save(m.snapshot())\nm.snapshot().graph()\n"
                "m.snapshots.cache.save_graph(m.snapshot())\n"
                "m.snapshot().entities.nearest(m.snapshot().entities.matrix[:1], 1)\n"
                "m.snapshot().passages.nearest(m.snapshot().passages.matrix[:1], 1)\n"
                "m.snapshots.cache.save_indexes(m.snapshot())\n")
        subprocess.run([sys.executable, "-c", prep, str(path)], env=env, check=True)
    res["build_s"] = round(time.perf_counter() - t0, 1)
    res["build_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    res["store_mb"] = round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                            / 2**20)
    queries = [f"What links entity {i} and entity {i * 7 + 3}?" for i in range(1, 51)]
    qfile = path.parent / "queries.json"
    qfile.write_text(json.dumps(queries))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRAPHMEM_EMBEDDING_MODEL": "synthetic"}
    out = subprocess.run([sys.executable, "-c", QUERY_CHILD, str(path), str(qfile)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    res.update(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(res, indent=2))  # noqa: T201
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
