"""Where a memory lives: a directory (SQLite) or a Bolt URI, parsed before any path logic.

Why a string first: ``Path("bolt://127.0.0.1:7687")`` is a perfectly good relative path
(a directory named ``bolt:``), so a URI must be recognised before anything turns the
location into a path, or a user's server address silently becomes a local folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from graphmem.store.base import Store

BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def is_bolt_uri(location: str | os.PathLike[str]) -> bool:
    text = str(location)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in BOLT_SCHEMES


def open_store(location: str | os.PathLike[str] | Store, embedding_model: str | None = None,
               *, create: bool = True, read_only: bool | None = None, **bolt: Any) -> Store:
    """Open the store at ``location`` (a Store object is returned as is)."""
    if isinstance(location, Store):
        return location
    if is_bolt_uri(location):
        from graphmem.store.bolt import BoltStore

        return BoltStore(str(location), embedding_model, create=create, read_only=read_only,
                         **bolt)
    text = str(location)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        from graphmem.store.base import StoreError

        raise StoreError(f"unknown store scheme {scheme!r}: use a directory, or one of "
                         + ", ".join(f"{s}://" for s in BOLT_SCHEMES))
    from graphmem.store.sqlite import SQLiteStore

    return SQLiteStore(Path(text).expanduser(), embedding_model, create=create,
                       read_only=read_only)
