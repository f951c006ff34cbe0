"""Vectors on a Bolt server: float32 bytes, base64-encoded into a string property.

Why a string and not a byte array: both servers store bytes, but ArcadeDB's Bolt returns
a byte-array property ~70 times slower than a string of the same content (2,000 vectors
of 384 floats: 7.6 s as bytes, 0.11 s as base64 text; measured 2026-11-29), which made a
first snapshot of MuSiQue-100 take minutes. Base64 costs a third more space and is read
at the same speed on Neo4j.
"""

from __future__ import annotations

import base64

import numpy as np


def encode(vec: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(vec, dtype=np.float32).tobytes()).decode()


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32)


def matrix(texts: list[str], dim: int) -> np.ndarray:
    """Stack encoded vectors into an (n, dim) float32 matrix."""
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    raw = b"".join(base64.b64decode(t) for t in texts)
    return np.frombuffer(raw, dtype=np.float32).reshape(len(texts), -1).copy()
