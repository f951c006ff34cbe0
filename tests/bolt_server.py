"""Backends for the store contract: SQLite in a temporary directory, or a Bolt server.

The Bolt backends are filled in by the Bolt store work; until then only SQLite runs.
"""

from __future__ import annotations

from pathlib import Path

from graphmem.store import SQLiteStore, Store


def arcadedb_available() -> bool:
    return False


def open_test_store(backend: str, path: Path, request) -> Store:
    if backend == "sqlite":
        return SQLiteStore(path, embedding_model="test-model")
    raise NotImplementedError(backend)


def reopen_test_store(backend: str, store: Store, request) -> Store:
    if backend == "sqlite":
        return SQLiteStore(store.directory, embedding_model="test-model")  # type: ignore
    raise NotImplementedError(backend)
