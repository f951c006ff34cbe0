"""The store: one facade made of five small interfaces, by what they hold.

* :class:`GraphStore` — documents, passages, entities, facts and the edges between them;
* :class:`VectorStore` — embeddings by text hash (every distinct string embedded once);
* :class:`NoteStore` — notes, their versions, evolution events and note links;
* :class:`TimelineStore` — when memories happened and which facts still hold;
* :class:`KVStore` — bookkeeping that never changes what retrieval sees: the LLM response
  cache, token usage and the ingest log.

A :class:`Store` holds one of each (``store.graph``, ``store.vectors``, ``store.notes``,
``store.time``, ``store.kv``) plus the operations that must span them atomically:
``write_batch`` (an indexing step), ``delete_document`` and ``read_delta`` (what retrieval
reads, in one consistent read). Each interface has a contract suite in
``tests/store_contract.py`` and every backend runs every suite, as scikit-learn estimators
pass ``check_estimator``.

Where the LLM cache lives: with the rest of the memory, in the same backend. On a Bolt
server that means every process and machine sharing the memory shares what the LLM was
already paid for, and ``graphmem migrate`` carries it along.

The generation counter moves exactly when something retrieval reads changes (passages,
entities, facts, edges, note vectors, deletions); LLM cache, usage and log writes never
move it, so an ``ask`` never invalidates the graph snapshot.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from graphmem.store.records import (
    BatchResult,
    DeleteReport,
    Delta,
    DocumentInfo,
    EntityRow,
    FactRow,
    NoteUpdate,
    WriteBatch,
)
from graphmem.types import EvolutionEvent, IngestProblem, Link, Note, NoteVersion, Passage

SCHEMA_VERSION = 3
VECTOR_KINDS: tuple[str, ...] = ("passage", "entity", "fact", "note")


class StoreError(RuntimeError):
    """The store cannot be opened or a write violates its invariants."""


class SchemaMismatch(StoreError):
    """The store on disk was written by an incompatible version of graphmem."""


class StoreDamaged(StoreError):
    """The store's files are damaged or incomplete; it is refused rather than misread."""


class StoreNotFound(StoreError):
    """There is no memory at the location given (and nothing was created there)."""


class ReadOnlyStore(StoreError):
    """A write was attempted on a store opened read-only."""


class NotFound(StoreError, KeyError):
    """A document, note or event the caller named does not exist.

    Also a ``KeyError``, so ``except KeyError`` keeps working; the CLI catches this class
    only, so a programming error never masquerades as "not found".
    """

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else "not found"


class GraphStore(ABC):
    """Documents, passages, entities, facts and the edges between them."""

    @abstractmethod
    def document_status(self, doc_ids: Iterable[str]) -> dict[str, bool]:
        """For known documents: whether all their passages are stored."""

    @abstractmethod
    def documents(self, source: str | None = None, namespace: str | None = None,
                  limit: int | None = None) -> list[DocumentInfo]:
        """Documents in insertion order, optionally only those from ``source``."""

    @abstractmethod
    def passage_ids(self, doc_id: str | None = None) -> list[str]:
        """Passages of one document in order, or all passages in insertion order."""

    @abstractmethod
    def get_passages(self, ids: Iterable[str]) -> dict[str, Passage]: ...

    @abstractmethod
    def passage_documents(self, ids: Iterable[str]) -> dict[str, list[str]]: ...

    def passages_and_documents(self, ids: Iterable[str]
                               ) -> tuple[dict[str, Passage], dict[str, list[str]]]:
        """Both of the above at once (one round trip on a server: what a search shows)."""
        ids = list(ids)
        return self.get_passages(ids), self.passage_documents(ids)

    @abstractmethod
    def entities(self, contains: str | None = None, limit: int | None = None
                 ) -> list[EntityRow]:
        """Entities in insertion order (names containing ``contains`` if given)."""

    @abstractmethod
    def facts(self, entity_id: str | None = None, contains: str | None = None,
              limit: int | None = None) -> list[FactRow]: ...

    @abstractmethod
    def known_entities(self, ids: Iterable[str]) -> set[str]: ...

    @abstractmethod
    def passage_entities(self, passage_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def entity_passages(self, entity_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def fact_passages(self, fact_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def edges(self, kinds: Iterable[str] | None = None) -> Iterator[tuple[str, str, float, str]]:
        """Weighted edges ``(a, b, weight, kind)``, each pair once per kind. Relation
        edges run from subject to object (their predicates are in :meth:`facts`)."""

    @abstractmethod
    def failed_passages(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Passages whose extraction failed (ID -> reason), for a later retry."""


class VectorStore(ABC):
    """Embeddings keyed by a hash of their text."""

    @abstractmethod
    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys the store does not have yet."""

    @abstractmethod
    def get(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Embeddings by key (missing keys are absent)."""


class NoteStore(ABC):
    """Notes, their versions, evolution events and links. Nothing is rewritten in place:
    every change is a new version tied to the event that caused it."""

    @abstractmethod
    def get(self, ids: Iterable[str]) -> dict[str, Note]: ...

    @abstractmethod
    def history(self, note_id: str) -> list[NoteVersion]: ...

    @abstractmethod
    def with_tags(self, tags: Iterable[str]) -> list[str]:
        """Notes carrying any of ``tags`` now (for search filters)."""

    @abstractmethod
    def events(self, note_id: str | None = None, limit: int | None = None
               ) -> list[EvolutionEvent]: ...

    @abstractmethod
    def links(self, note_id: str | None = None) -> list[Link]: ...

    @abstractmethod
    def apply_event(self, event: EvolutionEvent, updates: list[NoteUpdate], links: list[Link],
                    vectors: dict[str, np.ndarray]) -> None:
        """Write an event atomically: new note versions, links, embeddings. Raises
        StoreError (and writes nothing) if a note changed since ``previous_version``."""

    @abstractmethod
    def revert_event(self, event_id: str) -> list[str]:
        """Undo an event: restore each note it rewrote and drop its links."""

    @abstractmethod
    def pending_evolution(self) -> list[str]:
        """Notes added whose evolution step has not been applied (e.g. after kill -9)."""

    @abstractmethod
    def finish_evolution(self, note_id: str, outcome: str) -> None:
        """Mark a pending evolution step done (applied, nothing to do, or rejected)."""


class TimelineStore(ABC):
    """Event times of memories and the validity of facts.

    Times are the naive-UTC ISO strings of :mod:`graphmem.when` (they sort as text). A
    document's event time is the start of the period its timestamp names; a memory added
    without one happened when it was added; a document indexed without a date has none
    (windows then use its ingestion time). A passage shared by several documents has each
    of their times. A
    fact is valid from its first source's event time until a newer fact supersedes it;
    superseded facts are kept (``valid_to`` set) and their supersession is an event.
    """

    @abstractmethod
    def passages_in_window(self, start: str | None, end: str | None,
                           namespace: str | None = None) -> set[str]:
        """Passages with a document whose event (else ingestion) time is in
        ``[start, end)``."""

    @abstractmethod
    def passage_times(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """The event times of each passage's dated documents, earliest first."""

    @abstractmethod
    def latest_event(self, namespace: str | None = None) -> str | None:
        """The newest event time (what "last week" in a question is relative to)."""

    @abstractmethod
    def fact_validity(self, ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """``(valid_from, valid_to)`` of each fact."""

    @abstractmethod
    def passage_facts(self, passage_ids: Iterable[str]) -> list[FactRow]:
        """The facts these passages state (with subject/object names and validity)."""

    @abstractmethod
    def current_facts(self, subject_ids: Iterable[str]) -> list[FactRow]:
        """Facts about these subjects that nothing has superseded yet."""

    @abstractmethod
    def supersede(self, pairs: list[tuple[str, str]], event: EvolutionEvent) -> None:
        """For each ``(old, new)``: the old fact ends where the new one starts
        (``valid_to`` = new ``valid_from``, ``superseded_by`` = new), recorded as ``event``
        (kind ``supersede``), in one transaction."""


class KVStore(ABC):
    """LLM cache, token usage and ingest log. Writes here never move the generation."""

    @abstractmethod
    def cache_get(self, key: str) -> str | None: ...

    @abstractmethod
    def cache_put(self, key: str, model: str, kind: str, response: str,
                  refs: Iterable[str] = ()) -> None:
        """Store an answer; ``refs`` are the passages whose text the prompt carried (so
        deleting a document forgets the answers about it)."""

    @abstractmethod
    def cache_clear(self, kind: str | None = None) -> int:
        """Drop cached answers (of one kind); returns how many."""

    @abstractmethod
    def cache_stats(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def record_usage(self, model: str, kind: str, prompt_tokens: int, completion_tokens: int,
                     cached: bool) -> None: ...

    @abstractmethod
    def record_rejection(self, model: str, kind: str) -> None:
        """Count an answer refused for its size or shape (nothing of it is stored)."""

    @abstractmethod
    def usage(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def log_ingest(self, run_id: str, problems: list[IngestProblem]) -> None: ...

    @abstractmethod
    def ingest_log(self, limit: int = 100) -> list[dict[str, Any]]: ...


class Store(ABC):
    """A memory's storage: the five parts plus the operations that span them."""

    graph: GraphStore
    vectors: VectorStore
    notes: NoteStore
    time: TimelineStore
    kv: KVStore
    location: str
    read_only: bool = False

    @property
    @abstractmethod
    def uuid(self) -> str:
        """Made once when the store is created; caches of derived data key on it."""

    @property
    @abstractmethod
    def generation(self) -> int:
        """Moves with every committed change retrieval can see, and only then."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Bookkeeping values (never moves the generation)."""

    @abstractmethod
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Apply a batch atomically; re-writing what exists is a no-op."""

    @abstractmethod
    def delete_document(self, doc_id: str) -> DeleteReport:
        """Remove a document and everything only it supported: passages, facts, entities,
        edges, vectors, cached LLM answers about its text; evolution rewrites it caused
        are reverted as a recorded event."""

    @abstractmethod
    def read_delta(self, since: int | None) -> Delta:
        """What retrieval sees that changed after generation ``since`` (everything when
        None), read in one consistent read."""

    @abstractmethod
    def stats(self) -> dict[str, Any]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


__all__ = ["SCHEMA_VERSION", "VECTOR_KINDS", "BatchResult", "DeleteReport", "Delta",
           "DocumentInfo", "EntityRow", "FactRow", "GraphStore", "KVStore", "NotFound",
           "NoteStore", "NoteUpdate", "ReadOnlyStore", "SchemaMismatch", "Store",
           "StoreDamaged", "StoreError", "StoreNotFound", "VectorStore", "WriteBatch"]
