"""Immutable snapshots of what retrieval reads: ids, vectors and edges of one generation.

Why snapshots: a search reads the passage matrix, the entity matrix, the facts and the
graph; if a writer changed any of them in between (another thread adding a memory), the
search saw ids from one state and a matrix from another and failed (ValueError,
KeyError) or ranked garbage. A :class:`Snapshot` is built from one consistent read of the
store (``Store.read_delta``) and never changes; a reader holds it for the whole search.
A newer generation makes a new snapshot, usually by *adding* the delta to the previous
one: growable buffers are shared, rows are only ever appended past the end the older
snapshot sees, and a rewritten row (a re-embedded note) copies the matrix first. A
deletion or revert makes the next snapshot a full re-read.

One :class:`SnapshotManager` per ``Memory`` keeps the current snapshot, refreshes it at
most once at a time (single flight), and persists it to ``<store>/cache`` (see
``snapcache.py``) so a new process starts from disk instead of re-reading everything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from graphmem.retrieval.vecindex import ANN_MIN_ROWS, Nearest
from graphmem.store.base import Store
from graphmem.store.records import Delta

log = logging.getLogger(__name__)


class Rows:
    """IDs with one float32 vector each: a view of the first ``n`` rows of shared,
    append-only buffers (never changed below ``n`` once a snapshot holds them)."""

    def __init__(self, ids: list[str], buf: np.ndarray, n: int | None = None,
                 index: dict[str, int] | None = None, extra: dict[str, list] | None = None,
                 near: Nearest | None = None) -> None:
        self._ids = ids
        self._buf = buf
        self.n = len(ids) if n is None else n
        self._index = index
        self._extra = extra or {}
        self._near = near or Nearest()
        self._frozen: dict[str, list] = {}
        self._lock = threading.Lock()

    @classmethod
    def empty(cls, dim: int, extra: tuple[str, ...] = ()) -> Rows:
        return cls([], np.zeros((0, dim), dtype=np.float32), 0,
                   extra={k: [] for k in extra})

    @property
    def ids(self) -> list[str]:
        """The IDs, in row order: a list of exactly ``n`` (made once per view; the shared
        list behind it keeps growing with newer snapshots). Do not modify it."""
        frozen = self._frozen.get("ids")
        if frozen is None:
            frozen = self._frozen["ids"] = self._ids[:self.n]
        return frozen

    @property
    def matrix(self) -> np.ndarray:
        return self._buf[:self.n]

    @property
    def dim(self) -> int:
        return int(self._buf.shape[1])

    def __len__(self) -> int:
        return self.n

    def nearest(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and cosine scores of the ``k`` nearest rows to each query (exact for
        small tables, IVF-PQ + exact re-ranking for large ones: ``vecindex.py``)."""
        return self._near.search(self.matrix, queries, k)

    @property
    def uses_ann(self) -> bool:
        return self.n >= ANN_MIN_ROWS

    def column(self, name: str) -> list:
        frozen = self._frozen.get(name)
        if frozen is None:
            frozen = self._frozen[name] = self._extra[name][:self.n]
        return frozen

    def id(self, row: int) -> str:
        return self._ids[row]

    def row(self, item_id: str) -> int | None:
        """Row of an ID, or None (also for IDs added after this snapshot)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = {x: i for i, x in enumerate(self._ids)}
        r = self._index.get(item_id)
        return r if r is not None and r < self.n else None

    def extended(self, ids: list[str], vecs: np.ndarray, **extra: list) -> Rows:
        """A new view with rows appended (in place in spare capacity when possible)."""
        if not ids:
            return self
        k = len(ids)
        own = len(self._ids) == self.n and self._buf.flags.writeable
        if own and self._buf.shape[0] >= self.n + k and self._buf.shape[1] == vecs.shape[1]:
            buf = self._buf
        else:
            cap = max(self.n + k, int(self.n * 1.5) + 64)
            buf = np.zeros((cap, vecs.shape[1]), dtype=np.float32)
            if self.n:
                buf[:self.n] = self._buf[:self.n]
        buf[self.n:self.n + k] = vecs
        if own:
            id_list, index = self._ids, self._index
            cols = self._extra
        else:
            id_list, index = list(self._ids[:self.n]), None
            cols = {n: list(c[:self.n]) for n, c in self._extra.items()}
        id_list.extend(ids)
        if index is not None:
            for i, x in enumerate(ids, start=self.n):
                index[x] = i
        for name, col in cols.items():
            col.extend(extra[name])
        return Rows(id_list, buf, self.n + k, index, cols, self._near)

    def overwritten(self, rows: np.ndarray, vecs: np.ndarray) -> Rows:
        """A new view with some rows replaced (copies the matrix: older views keep theirs)."""
        buf = self._buf[:self.n].copy()
        buf[rows] = vecs
        return Rows(self._ids, buf, self.n, self._index, self._extra)


@dataclass
class Edges:
    """Undirected weighted edges as shared append-only arrays (``n`` valid entries).

    Each end is a *reference*: ``row * 2`` for a passage row, ``row * 2 + 1`` for an
    entity row, so appending passages never renumbers anything.
    """

    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    kind: np.ndarray
    n: int

    @classmethod
    def empty(cls) -> Edges:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32),
                   np.zeros(0, np.int8), 0)

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.a[:self.n], self.b[:self.n], self.w[:self.n], self.kind[:self.n]

    def extended(self, a: np.ndarray, b: np.ndarray, w: np.ndarray, kind: np.ndarray) -> Edges:
        k = len(a)
        if not k:
            return self
        arrays = [self.a, self.b, self.w, self.kind]
        fits = (self.a.shape[0] >= self.n + k and all(x.flags.writeable for x in arrays))
        if not fits:
            cap = max(self.n + k, int(self.n * 1.5) + 256)
            arrays = [np.concatenate([x[:self.n], np.zeros(cap - self.n, x.dtype)])
                      for x in arrays]
        for x, new in zip(arrays, (a, b, w, kind), strict=True):
            x[self.n:self.n + k] = new
        return Edges(*arrays, n=self.n + k)


@dataclass
class Snapshot:
    """Everything retrieval reads, at one generation of one store. Never modified."""

    store_uuid: str
    generation: int
    dim: int
    passages: Rows          # extra column: labels, times
    entities: Rows          # extra column: names
    facts: Rows             # extra columns: subjects, objects, predicates, texts (entity ids)
    notes: Rows             # note vectors aligned with passage rows (same ids, same order)
    edges: Edges
    skipped_edges: int = 0
    """Edges whose ends this snapshot could not see (0 when reads are consistent)."""
    _graph: object | None = field(default=None, repr=False)
    _graph_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def empty(cls, store_uuid: str, dim: int) -> Snapshot:
        return cls(store_uuid, -1, dim, Rows.empty(dim, ("labels", "times", "namespaces")),
                   Rows.empty(dim, ("names",)),
                   Rows.empty(dim, ("subjects", "objects", "predicates", "texts")),
                   Rows.empty(dim), Edges.empty())

    def namespace_mask(self, namespace: str) -> np.ndarray | None:
        """Which passage rows belong to ``namespace`` (computed once per namespace); None
        when all of them do (then a search needs no mask at all)."""
        masks = self.__dict__.setdefault("_masks", {})
        if namespace not in masks:
            col = self.passages.column("namespaces")
            mask = (np.array(col, dtype=object) == namespace) if col \
                else np.zeros(0, dtype=bool)
            masks[namespace] = None if mask.all() else mask  # None: every passage
        return masks[namespace]

    def graph(self, on_build: Callable[[], None] | None = None):  # -> GraphIndex
        """The CSR graph of this snapshot (built once, on first use, by one thread)."""
        if self._graph is None:
            with self._graph_lock:
                if self._graph is None:
                    from graphmem.retrieval.graph import build_graph

                    self._graph = build_graph(self)
                    if on_build:
                        on_build()
        return self._graph

    def apply(self, delta: Delta) -> Snapshot:
        """The next snapshot: this one plus an additive delta (see module docstring)."""
        dim = self.dim or delta.dim
        passages = self.passages.extended(delta.passage_ids, delta.matrix("passage"),
                                          labels=delta.passage_labels,
                                          times=delta.passage_times,
                                          namespaces=delta.passage_namespaces)
        entities = self.entities.extended(delta.entity_ids, delta.matrix("entity"),
                                          names=delta.entity_names)
        facts = self.facts.extended(delta.fact_ids, delta.matrix("fact"),
                                    subjects=delta.fact_subjects, objects=delta.fact_objects,
                                    predicates=delta.fact_predicates, texts=delta.fact_texts)
        notes = self._notes_for(passages, delta)
        edges, skipped = self._edges_for(passages, entities, delta)
        return Snapshot(self.store_uuid, delta.generation, dim, passages, entities, facts,
                        notes, edges, self.skipped_edges + skipped)

    def _notes_for(self, passages: Rows, delta: Delta) -> Rows:
        """Note vectors aligned with passages: new passages append their note's vector (or
        their own when the note is not there yet), rewritten notes replace their row."""
        vec = {nid: v for nid, v in zip(delta.note_ids, delta.matrix("note"), strict=True)}
        new_ids = passages.ids[self.notes.n:]
        pmat = passages.matrix
        rows = np.vstack([vec.pop(pid, pmat[self.notes.n + i]) for i, pid in enumerate(new_ids)]
                         ) if new_ids else np.zeros((0, passages.dim), np.float32)
        notes = self.notes.extended(list(new_ids), rows)
        changed = [(r, v) for nid, v in vec.items() if (r := passages.row(nid)) is not None]
        if changed:
            notes = notes.overwritten(np.array([r for r, _ in changed]),
                                      np.vstack([v for _, v in changed]))
        return notes

    def _edges_for(self, passages: Rows, entities: Rows, delta: Delta) -> tuple[Edges, int]:
        if not delta.edge_a:
            return self.edges, 0
        a = np.empty(len(delta.edge_a), np.int64)
        b = np.empty(len(delta.edge_a), np.int64)
        keep = np.ones(len(delta.edge_a), bool)
        for out, ids in ((a, delta.edge_a), (b, delta.edge_b)):
            for i, x in enumerate(ids):
                r = entities.row(x) if x.startswith("e:") else passages.row(x)
                if r is None:  # an edge to something this snapshot cannot see: skip it
                    keep[i] = False
                    out[i] = 0
                else:
                    out[i] = r * 2 + (1 if x.startswith("e:") else 0)
        w = np.asarray(delta.edge_w, np.float32)
        k = np.asarray(delta.edge_kind, np.int8)
        skipped = int((~keep).sum())
        if skipped:
            log.warning("%d edge(s) point at nodes this snapshot cannot see", skipped)
        return self.edges.extended(a[keep], b[keep], w[keep], k[keep]), skipped


def from_delta(store_uuid: str, delta: Delta) -> Snapshot:
    return Snapshot.empty(store_uuid, delta.dim).apply(delta)


class SnapshotManager:
    """The current snapshot of one store, refreshed when the store's generation moves.

    ``current()`` costs one small query when nothing changed. When something did, one
    thread reads the delta and builds the next snapshot while others wait for it (so
    every search sees the newest committed state, and the work is done once).
    """

    def __init__(self, store: Store, cache: object | None = None) -> None:
        self.store = store
        self.cache = cache  # a SnapshotCache, or None for memory only
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()
        self.refreshes = 0
        self.full_reads = 0
        self.graph_builds = 0

    def peek(self) -> Snapshot | None:
        return self._snap

    def current(self) -> Snapshot:
        gen = self.store.generation
        snap = self._snap
        if snap is not None and snap.generation == gen:
            return snap
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != self.store.generation:
                snap = self._refresh(snap)
                self._snap = snap
        return snap

    def _refresh(self, snap: Snapshot | None) -> Snapshot:
        t0 = time.perf_counter()
        if snap is None and self.cache is not None:
            snap = self.cache.load(self.store.uuid)  # type: ignore[attr-defined]
        delta = self.store.read_delta(snap.generation if snap is not None else None)
        if delta.full or snap is None or snap.store_uuid != self.store.uuid:
            new = from_delta(self.store.uuid, delta)
            self.full_reads += 1
        elif delta.empty and delta.generation == snap.generation:
            new = snap  # e.g. loaded from disk and nothing changed since: keep its graph
        else:
            new = snap.apply(delta)
        self.refreshes += 1
        seconds = time.perf_counter() - t0
        log.debug("snapshot %d -> %d (%s) in %.1f ms", snap.generation if snap else -1,
                  new.generation, "full" if delta.full else "delta", 1000 * seconds)
        if self.cache is not None:
            self.cache.maybe_save(new, full=delta.full or snap is None,  # type: ignore
                                  seconds=seconds)
        return new

    def graph(self):  # -> GraphIndex
        """The current snapshot's graph (counting rebuilds, for benchmarks)."""
        return self.current().graph(self._count_build)

    def _count_build(self) -> None:
        self.graph_builds += 1

    def invalidate(self) -> None:
        """Forget the in-memory snapshot and the disk cache (after a deletion)."""
        with self._lock:
            self._snap = None
            if self.cache is not None:
                self.cache.purge()  # type: ignore[attr-defined]
