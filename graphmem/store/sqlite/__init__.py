"""The embedded SQLite backend (the default): one directory per memory."""

from graphmem.store.sqlite.store import SQLiteStore, entity_id

__all__ = ["SQLiteStore", "entity_id"]
