"""Snapshots on disk, so a new process starts searching without re-reading the store.

Why keyed by the store's UUID and generation, not the generation alone: a store can be
replaced, restored from a backup or reset, and a cache trusted by generation number would
then serve a graph of another store. Each snapshot is a directory
``cache/snap-<uuid>-g<generation>/`` of ``.npy`` arrays (opened with ``mmap_mode``, so
vectors page in on demand) plus one JSON file of strings, written under a unique
temporary name and renamed into place, so two threads or processes saving at once never
collide and a reader never sees half a snapshot. Any error while loading is a cache miss
(the snapshot is rebuilt from the store), never a crash. Files are private (0600).

When to save: after a full read (the expensive case), or once enough was appended since
the last save that replaying the delta would cost more than reading the files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from graphmem.retrieval.snapshot import Edges, Rows, Snapshot
from graphmem.retrieval.vecindex import Ann, Nearest

log = logging.getLogger(__name__)

FORMAT = 3
_ARRAYS = ("passages", "entities", "facts", "notes")
_GRAPH = ("entity_doc_freq", "indptr", "indices", "weights", "kinds", "fact_subj", "fact_obj")


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _save_array(path: Path, arr: np.ndarray) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)


class SnapshotCache:
    """Snapshots of one store kept in one directory (see module docstring)."""

    def __init__(self, directory: Path, min_rows: int = 2000) -> None:
        self.directory = Path(directory)
        self.min_rows = min_rows
        self._saved_gen = -1
        self._saved_rows = 0
        self.writable = True

    def _rows(self, snap: Snapshot) -> int:
        return len(snap.passages) + len(snap.entities) + len(snap.facts) + snap.edges.n

    def maybe_save(self, snap: Snapshot, full: bool, seconds: float) -> None:
        grown = self._rows(snap) - self._saved_rows
        if not (full or grown >= max(self.min_rows, self._saved_rows // 20)):
            return
        self.save(snap)

    def save(self, snap: Snapshot) -> Path | None:
        if not self.writable or snap.generation < 0:
            return None
        final = self.directory / f"snap-{snap.store_uuid}-g{snap.generation}"
        if final.exists():
            return final
        tmp = self.directory / f".tmp-{uuid.uuid4().hex}"
        try:
            _private_dir(self.directory)
            tmp.mkdir(mode=0o700)
            strings = {"passage_ids": snap.passages.ids,
                       "labels": snap.passages.column("labels"),
                       "times": snap.passages.column("times"),
                       "namespaces": snap.passages.column("namespaces"),
                       "entity_ids": snap.entities.ids, "names": snap.entities.column("names"),
                       "fact_ids": snap.facts.ids,
                       **{c: snap.facts.column(c)
                          for c in ("subjects", "objects", "predicates", "texts")}}
            for name in _ARRAYS:
                _save_array(tmp / f"{name}.npy", getattr(snap, name).matrix)
            a, b, w, k = snap.edges.view()
            for name, arr in (("edge_a", a), ("edge_b", b), ("edge_w", w), ("edge_kind", k)):
                _save_array(tmp / f"{name}.npy", arr)
            fd = os.open(tmp / "strings.json", os.O_CREAT | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(strings, fh, ensure_ascii=False)
            fd = os.open(tmp / "meta.json", os.O_CREAT | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"format": FORMAT, "uuid": snap.store_uuid,
                           "generation": snap.generation, "dim": snap.dim}, fh)
            try:
                os.rename(tmp, final)
            except OSError:  # another writer saved the same generation first
                shutil.rmtree(tmp, ignore_errors=True)
                return final if final.exists() else None
        except OSError as exc:
            log.info("graph cache not saved in %s (%s); searching from memory only",
                     self.directory, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            self.writable = False
            return None
        self._saved_gen, self._saved_rows = snap.generation, self._rows(snap)
        self._drop_older(snap.store_uuid, snap.generation)
        return final

    def _dir(self, snap: Snapshot) -> Path:
        return self.directory / f"snap-{snap.store_uuid}-g{snap.generation}"

    def save_graph(self, snap: Snapshot) -> None:
        """Add the snapshot's CSR graph to its saved copy (a large graph then opens
        without being rebuilt)."""
        path = self._dir(snap)
        g = snap._graph
        if g is None or not path.is_dir():
            return
        for name in _GRAPH:
            _save_array(path / f"graph-{name}.npy", getattr(g, name))

    def save_indexes(self, snap: Snapshot) -> None:
        """Add the approximate vector indexes that were built to the saved copy."""
        path = self._dir(snap)
        if not path.is_dir():
            return
        for kind in ("passages", "entities", "facts"):
            ann = getattr(snap, kind)._near.ann
            if ann is not None:
                ann.save(str(path / f"ann-{kind}-{ann.n}.faiss"))

    def _candidates(self, store_uuid: str) -> list[tuple[int, Path]]:
        out = []
        if not self.directory.is_dir():
            return out
        prefix = f"snap-{store_uuid}-g"
        for p in self.directory.iterdir():
            if p.name.startswith(prefix):
                try:
                    out.append((int(p.name[len(prefix):]), p))
                except ValueError:
                    continue
        return sorted(out, reverse=True)

    def _drop_older(self, store_uuid: str, generation: int) -> None:
        for p in self.directory.iterdir():
            if p.name.startswith("snap-") and p.name != f"snap-{store_uuid}-g{generation}":
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith("graph-"):  # caches of graphmem 0.1
                p.unlink(missing_ok=True)

    def load(self, store_uuid: str) -> Snapshot | None:
        """The newest saved snapshot of this store, or None (any damage is a miss)."""
        for gen, path in self._candidates(store_uuid):
            try:
                snap = self._load(path, store_uuid, gen)
            except Exception as exc:  # noqa: BLE001 - a damaged cache must never crash a search
                log.warning("graph cache %s unreadable (%s: %s); rebuilding it", path.name,
                            type(exc).__name__, exc)
                shutil.rmtree(path, ignore_errors=True)
                continue
            self._saved_gen, self._saved_rows = gen, self._rows(snap)
            return snap
        return None

    def _load(self, path: Path, store_uuid: str, gen: int) -> Snapshot:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT or meta.get("uuid") != store_uuid or \
                meta.get("generation") != gen:
            raise ValueError("cache written for another store, generation or format")
        strings = json.loads((path / "strings.json").read_text(encoding="utf-8"))

        def arr(name: str) -> np.ndarray:
            return np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)

        passages = Rows(strings["passage_ids"], arr("passages"),
                        extra={"labels": strings["labels"], "times": strings["times"],
                               "namespaces": strings["namespaces"]})
        entities = Rows(strings["entity_ids"], arr("entities"), extra={"names": strings["names"]})
        facts = Rows(strings["fact_ids"], arr("facts"),
                     extra={c: strings[c] for c in ("subjects", "objects", "predicates",
                                                    "texts")})
        notes = Rows(list(strings["passage_ids"]), arr("notes"))
        for rows in (passages, entities, facts, notes):
            if rows.matrix.shape[0] != len(rows.ids):
                raise ValueError("arrays and ids disagree in length")
        a = arr("edge_a")
        edges = Edges(a, arr("edge_b"), arr("edge_w"), arr("edge_kind"), int(a.shape[0]))
        for kind, rows in (("passages", passages), ("entities", entities), ("facts", facts)):
            for f in path.glob(f"ann-{kind}-*.faiss"):
                n = int(f.stem.rsplit("-", 1)[1])
                if n <= len(rows):
                    rows._near = Nearest(Ann.load(str(f), n))
        snap = Snapshot(store_uuid, gen, int(meta["dim"]), passages, entities, facts, notes,
                        edges)
        if (path / "graph-indptr.npy").exists():
            from graphmem.retrieval.graph import GraphIndex

            g = {name: arr(f"graph-{name}") for name in _GRAPH}
            snap._graph = GraphIndex(
                generation=gen, n_passages=len(passages), passage_ids=passages.ids,
                passage_labels=passages.column("labels"), entity_ids=entities.ids,
                entity_names=entities.column("names"), fact_ids=facts.ids,
                fact_text=facts.column("texts"), fact_pred=facts.column("predicates"), **g)
        return snap

    def purge(self) -> None:
        """Remove every saved snapshot (after a deletion: no text may linger here)."""
        if self.directory.is_dir():
            for p in self.directory.iterdir():
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        self._saved_gen, self._saved_rows = -1, 0
