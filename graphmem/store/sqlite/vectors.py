"""The SQLite vector store: float32 embeddings keyed by a hash of their text.

Why by text hash: the same string (an entity named in a hundred passages, a repeated
chat turn) is embedded once, ever, and re-indexing costs no model call. The searchable
matrices are not kept here: retrieval assembles them from :meth:`SQLiteStore.read_delta`
into an immutable snapshot (``graphmem.retrieval.snapshot``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from graphmem.store.base import VectorStore
from graphmem.store.sqlite.db import Database


def vec_to_blob(vec: np.ndarray) -> bytes:
    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def blob_to_vec(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def blobs_to_matrix(blobs: list[bytes], dim: int) -> np.ndarray:
    """Stack blobs into an (n, dim) float32 matrix in one copy."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()


class SQLiteVectors(VectorStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def missing(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        have = {r[0] for r in self.db.q_in("SELECT key FROM vectors WHERE key IN ({})", keys)}
        return keys - have

    def get(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        rows = self.db.q_in("SELECT key, vec FROM vectors WHERE key IN ({})", keys)
        return {k: blob_to_vec(v) for k, v in rows}
