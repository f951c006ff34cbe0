"""Storage room: one interface (:class:`Store`), the embedded SQLite backend by default."""

from graphmem.store.base import (
    SCHEMA_VERSION,
    VECTOR_KINDS,
    BatchResult,
    DeleteReport,
    DocumentRecord,
    NoteUpdate,
    SchemaMismatch,
    Store,
    StoreError,
    WriteBatch,
)
from graphmem.store.sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION", "VECTOR_KINDS", "BatchResult", "DeleteReport", "DocumentRecord",
    "NoteUpdate", "SchemaMismatch", "SQLiteStore", "Store", "StoreError", "WriteBatch",
]
