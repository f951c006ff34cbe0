"""``graphmem reembed SRC DST``: the same memory with every vector from another embedding
model or endpoint.

Why into a new store and not in place: a store's vectors must all come from one model
(scores between two models mean nothing), and re-embedding a large store takes long
enough to be interrupted. Writing a new store leaves the source untouched and usable until
the copy is complete; a killed run leaves an incomplete destination to delete, never a
store with mixed vectors. Everything else (documents, facts, notes with every version,
history, the LLM cache) is copied as ``graphmem migrate`` copies it.

Every stored vector is keyed by a hash of its text, and every text is still in the store:
passages (title and text), entity names, fact sentences, and notes' attributes (current
and earlier versions, so a revert finds its vector). Those texts are embedded again in
batches, streamed, so memory does not grow with the store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from graphmem.embeddings import Embedder, text_hash
from graphmem.store.base import Store
from graphmem.store.portable import dump, load, migrate
from graphmem.types import Note

log = logging.getLogger(__name__)

BATCH = 256


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value) if value else []
    return [str(v) for v in value or []]


def texts_of(store: Store) -> Iterator[tuple[str, str]]:
    """(vector key, text) for every string the store embeds, each key once."""
    seen: set[str] = set()

    def fresh(key: str | None, text: str) -> bool:
        if not key or key in seen:
            return False
        seen.add(key)
        return True

    for rows in dump(store, "passages"):
        for r in rows:
            text = f"{r['title']}\n{r['text']}" if r["title"] else r["text"]
            if fresh(r["vec_key"], text):
                yield r["vec_key"], text
    for rows in dump(store, "entities"):
        for r in rows:
            if fresh(r["vec_key"], r["name"]):
                yield r["vec_key"], r["name"]
    for rows in dump(store, "triples"):
        for r in rows:
            if fresh(r["vec_key"], r["text"]):
                yield r["vec_key"], r["text"]
    for table in ("notes", "note_versions"):
        for rows in dump(store, table):
            for r in rows:
                note = Note(id="", content="", keywords=_list(r["keywords"]),
                            tags=_list(r["tags"]), context=r["context"] or "")
                if not (note.keywords or note.tags or note.context):
                    continue  # a bare note shares its passage's vector
                text = note.embed_text()
                key = r.get("vec_key") or text_hash(text)
                if fresh(key, text):
                    yield key, text


def reembed(src: Store, dst: Store, embedder: Embedder,
            progress: Callable[[str, int, int | None], None] | None = None) -> dict[str, int]:
    """Copy ``src`` into the empty ``dst`` with every vector from ``embedder``."""
    total = src.stats().get("vectors")

    def vectors() -> Iterator[list[dict[str, Any]]]:
        batch: list[tuple[str, str]] = []
        for item in texts_of(src):
            batch.append(item)
            if len(batch) >= BATCH:
                yield _embed(batch)
                if progress:
                    progress("embed", len(batch), total)
                batch = []
        if batch:
            yield _embed(batch)
            if progress:
                progress("embed", len(batch), total)
        load(dst, "meta", [{"key": "embedding_dim", "value": str(embedder.dim)}])

    def _embed(batch: list[tuple[str, str]]) -> list[dict[str, Any]]:
        vecs = np.asarray(embedder.embed_documents([t for _, t in batch]), dtype=np.float32)
        return [{"key": k, "vec": v.tobytes()} for (k, _), v in zip(batch, vecs, strict=True)]

    counts = migrate(src, dst, progress, vectors=vectors)
    log.info("re-embedded %d strings from %s into %s with %s", counts.get("vectors", 0),
             src.location, dst.location, embedder.model_name)
    return counts
