"""The small typed objects that travel between rooms.

Why plain dataclasses: indexing, the store, retrieval and evolution only agree on these
shapes, never on each other's internals, so any room can be replaced (an LLM extractor
for the offline one, Neo4j for SQLite) without the others noticing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

NodeKind = str  # "passage" | "entity"
EdgeKind = str  # "relation" | "mention" | "synonym" | "link"
EDGE_KINDS: tuple[str, ...] = ("relation", "mention", "synonym", "link")


def content_id(prefix: str, *parts: str) -> str:
    """A content-addressed ID: the same text always gets the same ID (re-index = no-op)."""
    h = hashlib.blake2b(digest_size=10)
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return f"{prefix}{h.hexdigest()}"


@dataclass(frozen=True)
class Document:
    """One input document before chunking."""

    title: str
    text: str
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    timestamp: str | None = None
    namespace: str = ""
    """Whose memory this is (e.g. ``user:ana``); searches in one namespace never see
    another's. The default namespace is ``""``."""

    @property
    def id(self) -> str:
        """Same title, text and timestamp: same document (a repeated memory at another
        time is another document, though its passage is stored once)."""
        parts = [self.title, self.text] + ([self.timestamp] if self.timestamp else [])
        if self.namespace:
            parts.append("\x00ns:" + self.namespace)
        return content_id("d:", *parts)


@dataclass(frozen=True)
class Passage:
    """A chunk of a document: the unit that is embedded, extracted and retrieved.

    A passage is also a note (see :class:`Note`); its ID hashes its title and text, so a
    passage shared by two documents is stored once and kept while either document lives.
    """

    title: str
    text: str
    doc_id: str = ""
    index: int = 0
    timestamp: str | None = None
    namespace: str = ""

    @property
    def id(self) -> str:
        if self.namespace:
            return content_id("p:", self.title, self.text, "\x00ns:" + self.namespace)
        return content_id("p:", self.title, self.text)

    @property
    def embed_text(self) -> str:
        """What is embedded: the title gives the chunk the context it often lacks."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Triple:
    """A (subject, relation, object) fact; subject and object are normalised phrases."""

    subject: str
    predicate: str
    object: str

    @property
    def id(self) -> str:
        return content_id("t:", self.subject, self.predicate, self.object)

    @property
    def text(self) -> str:
        """The fact rendered as text, for embedding and for showing to people."""
        return f"{self.subject} {self.predicate} {self.object}"


@dataclass
class NoteAttrs:
    """The Zettelkasten attributes of a note (A-MEM): what it is about, in brief."""

    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    context: str = ""


@dataclass
class Extraction:
    """What an extractor found in one passage; both extractors produce exactly this."""

    passage_id: str
    entities: list[str] = field(default_factory=list)
    """Normalised entity phrases."""
    entity_types: dict[str, str] = field(default_factory=dict)
    triples: list[Triple] = field(default_factory=list)
    note: NoteAttrs | None = None
    problems: list[str] = field(default_factory=list)
    """Malformed pieces of output that were dropped, said in words."""
    extractor: str = ""
    failed: str | None = None
    """Why extraction of this passage failed as a whole (None when it worked); a failed
    passage is stored, recorded, and extracted again by the next run."""

    def all_entities(self) -> list[str]:
        """Entities plus every triple's subject and object, first appearance first."""
        names = [*self.entities, *(n for t in self.triples for n in (t.subject, t.object))]
        return list(dict.fromkeys(names))


@dataclass
class SynonymEdge:
    a: str
    b: str
    score: float


@dataclass
class Note:
    """A passage seen as a note: content plus keywords, tags, context, links, version."""

    id: str
    content: str
    title: str = ""
    timestamp: str | None = None
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    context: str = ""
    links: list[str] = field(default_factory=list)
    version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    def embed_text(self) -> str:
        """The text of the note's own vector: its Zettelkasten attributes.

        The content already has the passage's vector; this one captures what the note is
        *about* (and changes when evolution rewrites the note). A note without attributes
        shares the passage's text, so it costs no second embedding.
        """
        parts = []
        if self.keywords:
            parts.append("keywords: " + ", ".join(self.keywords))
        if self.tags:
            parts.append("tags: " + ", ".join(self.tags))
        if self.context:
            parts.append("context: " + self.context)
        if not parts:
            return f"{self.title}\n{self.content}" if self.title else self.content
        return "\n".join(parts)


@dataclass
class NoteVersion:
    """One past or present state of a note, and the event that produced it."""

    note_id: str
    version: int
    keywords: list[str]
    tags: list[str]
    context: str
    event_id: str | None
    created_at: str


@dataclass
class Link:
    src: str
    dst: str
    reason: str = ""
    event_id: str | None = None


@dataclass
class EvolutionEvent:
    """An evolution decision applied to the store (revertible)."""

    id: str
    note_id: str
    model: str
    decision: dict[str, Any]
    created_at: str = ""
    reverted_at: str | None = None
    kind: str = "evolution"
    """``evolution`` (a decision), ``supersede`` (a newer fact replaced an older one) or
    ``deletion`` (rewrites undone because the memory behind them was deleted)."""


@dataclass
class IngestProblem:
    """An input that was skipped or partly read, and why (never a silent drop)."""

    source: str
    reason: str
    status: str = "skipped"
    """skipped | duplicate | error | repaired | extraction | extraction_failed | warning"""


@dataclass
class IndexReport:
    """What an indexing run did, for the CLI and for callers."""

    documents_seen: int = 0
    documents_indexed: int = 0
    documents_duplicate: int = 0
    passages_indexed: int = 0
    entities_added: int = 0
    triples_added: int = 0
    synonym_edges_added: int = 0
    strings_embedded: int = 0
    extraction_problems: int = 0
    """Malformed pieces of extractor output that were dropped (per item)."""
    extraction_failures: int = 0
    """Passages whose extraction failed as a whole (stored, retried by the next run)."""
    retried: int = 0
    """Passages whose earlier failed extraction this run tried again."""
    retried_ok: int = 0
    documents_repaired: int = 0
    """Inputs read after a repair (e.g. invalid UTF-8), each also listed in ``problems``."""
    documents_replaced: int = 0
    """Documents whose source file changed: the old version was replaced."""
    documents_removed: int = 0
    """Documents removed by ``sync`` because their file is gone."""
    extractor: str = ""
    problems: list[IngestProblem] = field(default_factory=list)
    seconds: float = 0.0
    seconds_to_first_commit: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Where the time went: read+chunk, extract, embed, synonyms, write."""
    new_passage_ids: list[str] = field(default_factory=list)
    """Passages this run added (in order): what evolution looks at next."""


@dataclass
class Explanation:
    """Why a passage was retrieved: the seeds of the walk and the path from one of them."""

    seed_facts: list[tuple[str, float]] = field(default_factory=list)
    seed_entities: list[tuple[str, float]] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    """Node labels from a seed to the passage, strongest path first."""
    method: str = "dense"
    time: str = ""
    """Why time moved it up ("in the question's time (in June)", "says when"), if it did."""


@dataclass
class Hit:
    """One retrieved passage."""

    passage_id: str
    title: str
    text: str
    score: float
    rank: int
    doc_ids: list[str] = field(default_factory=list)
    dense_score: float = 0.0
    why: Explanation = field(default_factory=Explanation)
    times: list[str] = field(default_factory=list)
    """When it happened: the event time of each document that says it, earliest first."""
