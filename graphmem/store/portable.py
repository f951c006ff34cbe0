"""Moving a whole memory between stores (SQLite <-> Bolt): ``graphmem migrate SRC DST``.

Why logical tables: the two backends hold the same memory in different shapes (rows vs
nodes and relationships). Each backend can dump itself as the logical tables below (the
SQLite schema's names and columns) and load them back, in chunks, so a migration copies
everything — documents, passages, entities, facts, edges, vectors, notes with every
version, events, links, the LLM cache, usage, the ingest log, pending work and recorded
deletions — with memory that does not grow with the store. The destination must be
empty; it keeps its own identity (UUID) and starts at generation 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from graphmem.store.base import Store, StoreError

log = logging.getLogger(__name__)

TABLES: dict[str, tuple[str, ...]] = {
    "vectors": ("key", "vec"),
    "documents": ("id", "title", "source", "n_passages", "complete", "metadata", "timestamp",
                  "created_at", "namespace", "source_key", "event_at"),
    "passages": ("id", "title", "text", "vec_key", "timestamp", "created_at", "namespace"),
    "doc_passages": ("doc_id", "idx", "passage_id"),
    "entities": ("id", "name", "type", "vec_key"),
    "mentions": ("passage_id", "entity_id"),
    "triples": ("id", "subject_id", "predicate", "object_id", "text", "vec_key", "valid_from",
                "valid_to", "superseded_by"),
    "triple_sources": ("triple_id", "passage_id", "extractor", "created_at"),
    "synonyms": ("a", "b", "score"),
    "notes": ("id", "keywords", "tags", "context", "version", "vec_key", "metadata",
              "updated_at"),
    "note_versions": ("note_id", "version", "keywords", "tags", "context", "event_id",
                      "created_at"),
    "events": ("id", "note_id", "model", "decision", "created_at", "reverted_at", "kind"),
    "links": ("src", "dst", "reason", "event_id", "created_at"),
    "llm_cache": ("key", "model", "kind", "response", "created_at", "refs"),
    "llm_usage": ("model", "kind", "calls", "cached_calls", "prompt_tokens",
                  "completion_tokens", "rejected"),
    "ingest_log": ("run_id", "source", "status", "reason", "created_at"),
    "extraction_failures": ("passage_id", "reason", "attempts", "updated_at"),
    "pending_evolution": ("note_id", "created_at"),
    "deletions": ("id", "doc_id", "title", "source", "reason", "created_at"),
    "meta": ("key", "value"),
}
"""Tables in load order (vectors before the nodes that carry them, nodes before edges)."""
COPIED_META = ("strings_embedded", "embedding_model", "embedding_dim")
CHUNK = 2000

Rows = list[dict[str, Any]]


def _portable(store: Store) -> Any:
    from graphmem.store.bolt import BoltStore
    from graphmem.store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from graphmem.store.sqlite import portable as mod
    elif isinstance(store, BoltStore):
        from graphmem.store.bolt import portable as mod
    else:
        raise StoreError(f"{type(store).__name__} cannot be migrated (no dump/load)")
    return mod


def dump(store: Store, table: str, chunk: int = CHUNK) -> Iterator[Rows]:
    """The rows of one logical table, in chunks, in insertion order."""
    yield from _portable(store).dump(store, table, chunk)


def load(store: Store, table: str, rows: Rows) -> None:
    """Write rows of one logical table into ``store``."""
    _portable(store).load(store, table, rows)


def migrate(src: Store, dst: Store,
            progress: Callable[[str, int, int | None], None] | None = None,
            vectors: Callable[[], Iterator[Rows]] | None = None) -> dict[str, int]:
    """Copy everything in ``src`` into the empty store ``dst``; returns rows per table.

    ``vectors`` replaces the copied embeddings with new ones (``graphmem reembed``): then
    the embedding metadata is the destination's own, not the source's."""
    s = dst.stats()
    if s["documents"] or s["passages"] or s["vectors"]:
        raise StoreError(f"the destination {dst.location} is not empty; migrate into a new "
                         "store")
    src_model, dst_model = src.get_meta("embedding_model"), dst.get_meta("embedding_model")
    if vectors is None and src_model and dst_model and src_model != dst_model:
        raise StoreError(f"the stores use different embedding models ({src_model!r} vs "
                         f"{dst_model!r})")
    counts: dict[str, int] = {}
    for table in TABLES:
        counts[table] = 0
        if progress:
            progress(table, 0, None)
        source = vectors() if table == "vectors" and vectors else dump(src, table)
        for rows in source:
            if table == "meta":
                rows = [r for r in rows if (r["key"] in COPIED_META and vectors is None) or
                        r["key"].startswith("llm_mode:")]
            if rows:
                load(dst, table, rows)
            counts[table] += len(rows)
            if progress:
                progress(table, len(rows), None)
    _portable(dst).finish(dst)
    log.info("migrated %s -> %s: %s", src.location, dst.location, counts)
    return counts
