"""``Memory``: the public entry point, a thin layer that wires the rooms together.

Why thin: all the work lives in ``indexing/``, ``retrieval/``, ``evolution/``, ``store/``
and ``llm/``; this class only owns the shared objects (config, store, embedder, LLM
client) and forwards calls, so that the CLI, notebooks and user code all go through one
small surface and no room reaches into another.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graphmem.config import Config
from graphmem.embeddings import Embedder, load_embedder
from graphmem.evolution import Added, Evolver
from graphmem.indexing import make_extractor
from graphmem.indexing.extractor import Extractor
from graphmem.indexing.ingest import read_items, read_source
from graphmem.indexing.openie import read_openie
from graphmem.indexing.pipeline import Indexer, Progress
from graphmem.llm.client import LLMClient
from graphmem.retrieval.filter import FactFilter
from graphmem.retrieval.reader import Answer, answer_question
from graphmem.retrieval.recipes import Recipe, get_recipe
from graphmem.retrieval.retriever import Ranked, Retriever, Walk, single_threaded_blas
from graphmem.store.base import DeleteReport, Store
from graphmem.store.sqlite import SQLiteStore
from graphmem.types import (
    Document,
    Extraction,
    Hit,
    IndexReport,
    IngestProblem,
    Note,
    NoteVersion,
)

log = logging.getLogger(__name__)


class Memory:
    """A persistent associative memory stored in one directory.

    >>> mem = Memory("my_memory")                                   # doctest: +SKIP
    >>> mem.index(["Ada Lovelace wrote the first program."])        # doctest: +SKIP
    >>> mem.search("Who wrote the first program?", k=3)             # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, config: Config | None = None,
                 *, embedder: Embedder | None = None, **overrides: Any) -> None:
        if config is None:
            config = Config.from_env(**({"store": Path(path)} if path else {}), **overrides)
        elif path is not None or overrides:
            config = config.replace(**({"store": Path(path)} if path else {}), **overrides)
        self.config = config
        self.store: Store = SQLiteStore(config.store, config.embedding_model)
        self._embedder = embedder
        self._extractor: Extractor | None = None
        self._retriever: Retriever | None = None
        self._llm: LLMClient | None = None
        self._evolver: Evolver | None = None

    # --- shared objects -----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            c = self.config
            self._embedder = load_embedder(c.embedding_model, c.embedding_backend,
                                           c.embedding_batch_size, c.embedding_cache_dir)
        return self._embedder

    @property
    def llm(self) -> LLMClient | None:
        """The LLM client (cached in this store), or None when no endpoint is configured."""
        if self._llm is None and self.config.llm_configured:
            self._llm = LLMClient.from_config(self.config, self.store)
        return self._llm

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = make_extractor(self.config, self.llm)
        return self._extractor

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({str(self.config.store)!r})"

    # --- indexing -----------------------------------------------------------------
    def index(self, source: str | os.PathLike[str] | Iterable[Any],
              progress: Progress | None = None) -> IndexReport:
        """Index a directory of .txt/.md files, a JSON/JSONL corpus, or Python strings/dicts.

        Re-indexing the same content is a no-op; an interrupted run resumes where it
        stopped. Skipped inputs are counted in the report, never dropped silently.
        """
        if isinstance(source, str | os.PathLike):
            items: Iterable[Document | IngestProblem] = read_source(
                source, self.config.max_document_bytes)
        else:
            items = read_items(source)
        report = Indexer(self.store, self.embedder, self.extractor, self.config,
                         progress).run(items)
        if self.config.evolve_on_index:
            self._evolve_all(report.new_passage_ids, progress)
        return report

    def _evolve_all(self, note_ids: list[str], progress: Progress | None) -> None:
        """Evolution for a bulk index (one decision per new note: an LLM call each)."""
        if progress:
            progress("evolve", 0, len(note_ids))
        with single_threaded_blas():
            for nid in note_ids:
                self.evolver.evolve(nid)
                if progress:
                    progress("evolve", 1, None)

    def index_openie(self, path: str | os.PathLike[str],
                     progress: Progress | None = None) -> IndexReport:
        """Build the graph from HippoRAG-format OpenIE output (one passage per record)."""
        docs: list[Document | IngestProblem] = []
        extractions: dict[str, Extraction] = {}
        for item in read_openie(path):
            if isinstance(item, IngestProblem):
                docs.append(item)
            else:
                doc, ex = item
                docs.append(doc)
                extractions[ex.passage_id] = ex
        return Indexer(self.store, self.embedder, None, self.config,
                       progress).run(read_items(docs), extractions=extractions, chunk=False)

    def add(self, text: str, timestamp: str | None = None,
            metadata: dict[str, Any] | None = None) -> Added:
        """Add one memory (a chat turn, an observation) and let the memory evolve around it.

        The memory becomes a note with keywords, tags and context; its entities and facts
        join the graph; then (``evolve_on_add``) its nearest notes are reconsidered: the
        LLM, or the offline policy without one, may link them and rewrite their context
        and tags, each rewrite kept as a new version.
        """
        with single_threaded_blas():
            return self._add(text, timestamp, metadata)

    def _add(self, text: str, timestamp: str | None, metadata: dict[str, Any] | None) -> Added:
        doc = Document(title="", text=text, source="add", metadata=dict(metadata or {}),
                       timestamp=timestamp)
        report = Indexer(self.store, self.embedder, self.extractor, self.config).run(
            read_items([doc]), note_metadata={doc.id: dict(metadata or {})})
        ids = self.store.passage_ids(doc.id)
        outcomes = ([self.evolver.evolve(p) for p in report.new_passage_ids]
                    if self.config.evolve_on_add else [])
        notes = self.store.get_notes(ids)
        return Added(doc_id=doc.id, notes=[notes[i] for i in ids if i in notes],
                     evolution=outcomes, skipped=[p.reason for p in report.problems])

    @property
    def evolver(self) -> Evolver:
        if self._evolver is None:
            self._evolver = Evolver(self.store, self.embedder, self.config, self.llm)
        return self._evolver

    def note(self, note_id: str) -> Note:
        """A note as it is now (content, keywords, tags, context, links, version)."""
        notes = self.store.get_notes([note_id])
        if note_id not in notes:
            raise KeyError(f"no note {note_id!r} in this store")
        return notes[note_id]

    def history(self, note_id: str) -> list[NoteVersion]:
        """Every version of a note, oldest first, with the event that produced it."""
        return self.store.note_history(note_id)

    def revert(self, event_id: str) -> list[str]:
        """Undo an evolution event: its links go, the notes it rewrote get their old
        attributes back (as a new version). Returns the restored note IDs."""
        return self.store.revert_event(event_id)

    def delete(self, doc_id: str) -> DeleteReport:
        """Delete a document and every passage, entity, triple and edge only it supported."""
        return self.store.delete_document(doc_id)

    # --- retrieval ----------------------------------------------------------------
    def search(self, query: str, k: int = 5, recipe: str | Recipe | None = None,
               explain: bool = True) -> list[Hit]:
        """The ``k`` passages most relevant to ``query``, best first, each with why.

        ``recipe`` picks the method (``hybrid``, ``hipporag2``, ``dense`` or a
        :class:`~graphmem.retrieval.recipes.Recipe`); default from the config.
        """
        return self.search_many([query], k, recipe, explain)[0]

    def search_many(self, queries: list[str], k: int = 5, recipe: str | Recipe | None = None,
                    explain: bool = True) -> list[list[Hit]]:
        """Search several queries at once: one embedding call and one batched walk."""
        ranked = self.retriever.search_many(list(queries), k, self._recipe(recipe), explain,
                                            damping=self.config.damping)
        return [self._hits(r) for r in ranked]

    def walk(self, query: str, k: int = 5, recipe: str | Recipe | None = None) -> Walk:
        """A query's whole walk: PPR mass on every node, seeds and ranking (for exploring)."""
        return self.retriever.walk(query, k, self._recipe(recipe), damping=self.config.damping)

    def _recipe(self, recipe: str | Recipe | None) -> Recipe:
        """The recipe asked for (or the configured one), with the configured fact count."""
        return get_recipe(recipe or self.config.retrieval).with_(top_facts=self.config.top_facts)

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            use_filter = self.config.llm_filter_facts and self.llm is not None
            self._retriever = Retriever(self.store, self.embedder, self.config.store,
                                        self.config.ppr_tol, self.config.ppr_max_iter,
                                        FactFilter(self.llm) if use_filter else None)
        return self._retriever

    def ask(self, question: str, k: int = 5, multi_hop: bool = False,
            max_steps: int = 3) -> Answer:
        """Answer from the memory: the answer, the passages it cites, and the trace.

        With ``multi_hop`` the model reasons step by step, retrieving again after each
        step (IRCoT style). Without an LLM endpoint the answer is None and the evidence
        passages are returned with a message saying what to configure.
        """
        return answer_question(question, lambda q, n: self.search(q, n), self.llm, k,
                               multi_hop, max_steps)

    def _hits(self, ranked: list[Ranked]) -> list[Hit]:
        pids = [r.passage_id for r in ranked]
        passages = self.store.get_passages(pids)
        docs = self.store.passage_documents(pids)
        return [Hit(passage_id=r.passage_id, title=passages[r.passage_id].title,
                    text=passages[r.passage_id].text, score=r.score, rank=i + 1,
                    doc_ids=docs.get(r.passage_id, []), dense_score=r.dense, why=r.why)
                for i, r in enumerate(ranked)]

    # --- inspection ---------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts of documents, passages, entities, triples, notes and edges by kind."""
        return self.store.stats()

    def to_networkx(self, kinds: Iterable[str] | None = None) -> Any:
        """The graph as a ``networkx.Graph`` (for exploration, not for speed)."""
        from graphmem.export import to_networkx

        return to_networkx(self.store, kinds)

    def to_igraph(self, kinds: Iterable[str] | None = None) -> Any:
        """The graph as an ``igraph.Graph`` with ``name``, ``kind`` and ``label`` attributes."""
        from graphmem.export import to_igraph

        return to_igraph(self.store, kinds)
