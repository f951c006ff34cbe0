"""An in-memory table of embeddings that grows by appending.

Why: search and evolution score a query against every passage, entity, fact or note;
rebuilding those matrices from SQLite after every added memory would make ``add`` cost
O(store size). The table keeps a matrix with spare capacity, appends new rows in place,
rewrites a row when a note is re-embedded, and is rebuilt only after deletions.
"""

from __future__ import annotations

import numpy as np


def vec_to_blob(vec: np.ndarray) -> bytes:
    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def blob_to_vec(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class VectorTable:
    """IDs with one float32 row each; ``matrix`` is a view of the filled rows."""

    def __init__(self, ids: list[str], matrix: np.ndarray | None, dim: int | None = None) -> None:
        self.ids: list[str] = list(ids)
        self.index: dict[str, int] = {i: n for n, i in enumerate(self.ids)}
        if matrix is None or len(self.ids) == 0:
            self._buf = np.zeros((16, dim or 0), dtype=np.float32)
        else:
            self._buf = np.array(matrix, dtype=np.float32, copy=True)
        self._n = len(self.ids)

    @property
    def matrix(self) -> np.ndarray:
        return self._buf[: self._n]

    @property
    def dim(self) -> int:
        return int(self._buf.shape[1])

    def __len__(self) -> int:
        return self._n

    def append(self, ids: list[str], rows: np.ndarray) -> None:
        """Add rows for new IDs; IDs already present are overwritten in place."""
        rows = np.asarray(rows, dtype=np.float32)
        if rows.ndim != 2 or len(ids) != rows.shape[0]:
            raise ValueError("ids and rows disagree in length")
        if self._buf.shape[1] == 0 and len(ids):
            self._buf = np.zeros((max(16, len(ids)), rows.shape[1]), dtype=np.float32)
        new_ids = []
        new_rows = []
        for i, row in zip(ids, rows, strict=True):
            pos = self.index.get(i)
            if pos is None:
                new_ids.append(i)
                new_rows.append(row)
            else:
                self._buf[pos] = row
        if not new_ids:
            return
        need = self._n + len(new_ids)
        if need > self._buf.shape[0]:
            cap = max(need, int(self._buf.shape[0] * 1.5) + 16)
            grown = np.zeros((cap, self._buf.shape[1]), dtype=np.float32)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n: need] = np.vstack(new_rows)
        for offset, i in enumerate(new_ids):
            self.index[i] = self._n + offset
        self.ids.extend(new_ids)
        self._n = need


def rows_for(ids: list[str], matrix: np.ndarray, wanted: list[str]) -> np.ndarray:
    """The rows of ``matrix`` (labelled by ``ids``) in the order of ``wanted``."""
    if ids == wanted:
        return matrix
    index = {i: n for n, i in enumerate(ids)}
    return matrix[np.array([index[w] for w in wanted], dtype=np.int64)]
