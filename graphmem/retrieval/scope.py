"""Search filters turned into the set of passages a search may return.

Why resolve filters to passage IDs in the store: tags live on notes, sources and metadata
on documents, and both change over time; asking the store at search time keeps filters
exact without copying every attribute into the retrieval snapshot. The namespace, which
every search has, lives in the snapshot instead (one mask per namespace, see
``Snapshot.namespace_mask``).
"""

from __future__ import annotations

from typing import Any

from graphmem.errors import InputError
from graphmem.store.base import Store

FILTER_KEYS = ("tags", "doc_id", "source", "metadata")


def passages_matching(store: Store, filters: dict[str, Any], namespace: str | None
                      ) -> set[str]:
    """Passages meeting every filter given (see ``Memory.search``)."""
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise InputError(f"unknown search filter(s) {sorted(unknown)}; use "
                         f"{', '.join(FILTER_KEYS)}")
    sets: list[set[str]] = []
    if filters.get("doc_id"):
        ids = filters["doc_id"]
        sets.append({p for d in ([ids] if isinstance(ids, str) else ids)
                     for p in store.graph.passage_ids(d)})
    if filters.get("source") or filters.get("metadata"):
        source = filters.get("source")
        meta = filters.get("metadata") or {}
        if not isinstance(meta, dict):
            raise InputError("the metadata filter is an object of key: value pairs")
        docs = [d for d in store.graph.documents(namespace=namespace)
                if (not source or source in d.source or source in str(d.metadata.get(
                    "source_key", "")))
                and all(d.metadata.get(k) == v for k, v in meta.items())]
        sets.append({p for d in docs for p in store.graph.passage_ids(d.id)})
    if filters.get("tags"):
        tags = filters["tags"]
        sets.append(set(store.notes.with_tags([tags] if isinstance(tags, str) else tags)))
    if not sets:
        raise InputError("empty search filters: give at least one of "
                         + ", ".join(FILTER_KEYS))
    out = sets[0]
    for s in sets[1:]:
        out &= s
    return out
