"""The small records that cross the store boundary: batches in, rows and deltas out.

Why separate from the interfaces: every backend and every room above the store speaks
these shapes, so they live in one file with no behaviour, and the interfaces file stays
about *what* a store does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphmem.types import Document, Extraction, Link, Note, Passage, SynonymEdge

EDGE_KIND_CODES = {"relation": 0, "mention": 1, "synonym": 2, "link": 3}
"""Edge kinds as small integers (in deltas, snapshots and CSR arrays)."""


@dataclass
class DocumentRecord:
    """A document and how many of its passages this batch completes."""

    document: Document
    n_passages: int
    complete: bool
    passage_ids: list[str] = field(default_factory=list)


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
    failures: dict[str, str] = field(default_factory=dict)
    """Passage ID -> why its extraction failed (kept so a later run retries it)."""
    pending_evolution: list[str] = field(default_factory=list)
    """Notes whose evolution step must still run (finished on the next open if killed)."""
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
    vectors: int = 0
    cache_entries: int = 0
    reverted_events: list[str] = field(default_factory=list)


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
    subject: str = ""
    object: str = ""
    valid_from: str | None = None
    valid_to: str | None = None


@dataclass
class DocumentInfo:
    id: str
    title: str
    source: str
    n_passages: int
    complete: bool
    created_at: str
    timestamp: str | None = None
    namespace: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class NoteUpdate:
    """A new version of a note: the attributes after the change."""

    note: Note
    previous_version: int


@dataclass
class Delta:
    """What retrieval can see that changed after generation ``since``, read consistently.

    ``full`` deltas hold the whole store (the first read, or after a deletion or revert,
    which cannot be expressed as additions). Otherwise every list holds rows added or
    rewritten after ``since``, and ``edges`` only ever add weight.
    """

    generation: int
    full: bool
    dim: int
    passage_ids: list[str] = field(default_factory=list)
    passage_labels: list[str] = field(default_factory=list)
    passage_vectors: np.ndarray | None = None
    passage_times: list[str | None] = field(default_factory=list)
    passage_namespaces: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    entity_names: list[str] = field(default_factory=list)
    entity_vectors: np.ndarray | None = None
    fact_ids: list[str] = field(default_factory=list)
    fact_subjects: list[str] = field(default_factory=list)
    fact_objects: list[str] = field(default_factory=list)
    fact_predicates: list[str] = field(default_factory=list)
    fact_texts: list[str] = field(default_factory=list)
    fact_vectors: np.ndarray | None = None
    note_ids: list[str] = field(default_factory=list)
    note_vectors: np.ndarray | None = None
    edge_a: list[str] = field(default_factory=list)
    edge_b: list[str] = field(default_factory=list)
    edge_w: list[float] = field(default_factory=list)
    edge_kind: list[int] = field(default_factory=list)

    def matrix(self, name: str) -> np.ndarray:
        """One of the vector blocks, as an (n, dim) float32 array even when empty."""
        mat = getattr(self, f"{name}_vectors")
        return mat if mat is not None else np.zeros((0, self.dim), dtype=np.float32)

    @property
    def empty(self) -> bool:
        return not (self.passage_ids or self.entity_ids or self.fact_ids or self.note_ids
                    or self.edge_a)
