"""The Bolt backend: a memory on Neo4j 5.x or ArcadeDB through the official driver."""

from graphmem.store.bolt.store import BoltStore

__all__ = ["BoltStore"]
