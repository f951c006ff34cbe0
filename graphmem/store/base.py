"""The one store interface every backend implements (SQLite today, Neo4j planned).

Why an interface with a contract suite (``tests/store_contract.py``): the rooms above the
store only speak these methods and dataclasses, so a backend is correct exactly when it
passes the contract, as scikit-learn estimators pass ``check_estimator``.

Writes come in one shape, :class:`WriteBatch`, applied atomically: a crash loses at most
the batch in flight and never leaves half of it behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphmem.types import (
    Document,
    EvolutionEvent,
    Extraction,
    IngestProblem,
    Link,
    Note,
    NoteVersion,
    Passage,
    SynonymEdge,
)

SCHEMA_VERSION = 1
VECTOR_KINDS: tuple[str, ...] = ("passage", "entity", "fact", "note")


class StoreError(RuntimeError):
    """The store cannot be opened or a write violates its invariants."""


class SchemaMismatch(StoreError):
    """The store on disk was written by an incompatible version of graphmem."""


@dataclass
class DocumentRecord:
    """A document and how many of its passages this batch completes."""

    document: Document
    n_passages: int
    complete: bool
    passage_ids: list[str] = field(default_factory=list)
    """IDs of all the document's passages in order (written as they arrive)."""


@dataclass
class WriteBatch:
    """Everything one indexing step writes, applied in one transaction.

    ``vectors`` must hold an embedding for every string the batch introduces that the
    store does not already have (passage text, entity name, fact text, note text);
    the store checks this and refuses the batch otherwise.
    """

    documents: list[DocumentRecord] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    extractions: list[Extraction] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    synonyms: list[SynonymEdge] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    strings_embedded: int = 0
    """How many strings were sent to the model for this batch (accounting)."""


@dataclass
class BatchResult:
    passages_added: int = 0
    passage_ids: list[str] = field(default_factory=list)
    entities_added: list[str] = field(default_factory=list)
    triples_added: int = 0
    synonyms_added: int = 0


@dataclass
class DeleteReport:
    document_id: str
    passages: int = 0
    entities: int = 0
    triples: int = 0
    edges: int = 0


@dataclass
class EntityRow:
    id: str
    name: str
    type: str
    n_passages: int


@dataclass
class FactRow:
    id: str
    subject_id: str
    predicate: str
    object_id: str
    text: str


@dataclass
class DocumentInfo:
    id: str
    title: str
    source: str
    n_passages: int
    complete: bool
    created_at: str


@dataclass
class NoteUpdate:
    """A new version of a note: the attributes after the change."""

    note: Note
    previous_version: int


class Store(ABC):
    """Persistent graph of documents, passages/notes, entities, triples and edges."""

    # --- lifecycle and metadata ---------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @property
    @abstractmethod
    def generation(self) -> int:
        """Increases with every committed write; caches of derived data key on it."""

    # --- writes ---------------------------------------------------------------------
    @abstractmethod
    def missing_vectors(self, keys: Iterable[str]) -> set[str]:
        """The embedding-cache keys (text hashes) the store does not have yet."""

    @abstractmethod
    def get_vectors(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached embeddings by text hash (missing keys are simply absent)."""

    @abstractmethod
    def known_entities(self, ids: Iterable[str]) -> set[str]:
        """The entity IDs among ``ids`` that the store holds."""

    @abstractmethod
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Apply a batch atomically; re-writing what exists is a no-op."""

    @abstractmethod
    def delete_document(self, doc_id: str) -> DeleteReport:
        """Remove a document and everything only it supported."""

    # --- documents and passages -----------------------------------------------------
    @abstractmethod
    def document_status(self, doc_ids: Iterable[str]) -> dict[str, bool]:
        """For known documents: whether all their passages are stored."""

    @abstractmethod
    def documents(self) -> list[DocumentInfo]: ...

    @abstractmethod
    def passage_ids(self, doc_id: str | None = None) -> list[str]:
        """Passages of one document in order, or all passages in insertion order."""

    @abstractmethod
    def get_passages(self, ids: Iterable[str]) -> dict[str, Passage]: ...

    @abstractmethod
    def passage_documents(self, ids: Iterable[str]) -> dict[str, list[str]]: ...

    # --- graph ----------------------------------------------------------------------
    @abstractmethod
    def entities(self) -> list[EntityRow]: ...

    @abstractmethod
    def facts(self) -> list[FactRow]: ...

    @abstractmethod
    def passage_entities(self, passage_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def fact_passages(self, fact_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def entity_passages(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        """Passages mentioning each entity."""

    @abstractmethod
    def edges(self, kinds: Iterable[str] | None = None) -> Iterator[tuple[str, str, float, str]]:
        """Undirected weighted edges ``(a, b, weight, kind)``, each pair once per kind."""

    @abstractmethod
    def vectors(self, kind: str) -> tuple[list[str], np.ndarray]:
        """IDs and unit-norm embeddings of one node kind (see ``VECTOR_KINDS``)."""

    @abstractmethod
    def stats(self) -> dict[str, Any]: ...

    # --- notes and evolution --------------------------------------------------------
    @abstractmethod
    def get_notes(self, ids: Iterable[str]) -> dict[str, Note]: ...

    @abstractmethod
    def note_history(self, note_id: str) -> list[NoteVersion]: ...

    @abstractmethod
    def apply_event(self, event: EvolutionEvent, updates: list[NoteUpdate], links: list[Link],
                    vectors: dict[str, np.ndarray]) -> None:
        """Write an evolution event atomically: new note versions, links, embeddings.

        Raises StoreError (and writes nothing) if a note changed since ``previous_version``.
        """

    @abstractmethod
    def revert_event(self, event_id: str) -> list[str]:
        """Undo an event: restore each note it rewrote and drop its links."""

    @abstractmethod
    def events(self, note_id: str | None = None) -> list[EvolutionEvent]: ...

    @abstractmethod
    def links(self, note_id: str | None = None) -> list[Link]: ...

    # --- LLM cache and accounting ---------------------------------------------------
    @abstractmethod
    def cache_get(self, key: str) -> str | None: ...

    @abstractmethod
    def cache_put(self, key: str, model: str, kind: str, response: str) -> None: ...

    @abstractmethod
    def record_usage(self, model: str, kind: str, prompt_tokens: int, completion_tokens: int,
                     cached: bool) -> None: ...

    @abstractmethod
    def usage(self) -> list[dict[str, Any]]: ...

    # --- ingest log -----------------------------------------------------------------
    @abstractmethod
    def log_ingest(self, run_id: str, problems: list[IngestProblem]) -> None: ...

    @abstractmethod
    def ingest_log(self, limit: int = 100) -> list[dict[str, Any]]: ...

    # --- conveniences shared by every backend ---------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
