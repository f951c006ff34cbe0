"""Storage room: one facade (:class:`Store`) of five small interfaces, two backends.

``open_store(location)`` picks the backend from the location: a directory is the
embedded SQLite store; ``bolt://``, ``neo4j://`` (and their ``+s`` / ``+ssc`` forms) is
a Bolt server (Neo4j 5.x, ArcadeDB).
"""

from graphmem.store.base import (
    SCHEMA_VERSION,
    VECTOR_KINDS,
    GraphStore,
    KVStore,
    NoteStore,
    NotFound,
    ReadOnlyStore,
    SchemaMismatch,
    Store,
    StoreDamaged,
    StoreError,
    StoreNotFound,
    TimelineStore,
    VectorStore,
)
from graphmem.store.location import is_bolt_uri, open_store
from graphmem.store.records import (
    BatchResult,
    DeleteReport,
    Delta,
    DocumentRecord,
    NoteUpdate,
    WriteBatch,
)
from graphmem.store.sqlite import SQLiteStore, entity_id

__all__ = [
    "SCHEMA_VERSION", "VECTOR_KINDS", "BatchResult", "DeleteReport", "Delta", "DocumentRecord",
    "GraphStore", "KVStore", "NotFound", "NoteStore", "NoteUpdate", "ReadOnlyStore",
    "SQLiteStore", "SchemaMismatch", "Store", "StoreDamaged", "StoreError", "StoreNotFound",
    "TimelineStore", "VectorStore", "WriteBatch", "entity_id", "is_bolt_uri", "open_store",
]
