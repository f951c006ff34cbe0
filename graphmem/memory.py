"""``Memory``: the public entry point, a thin layer that wires the rooms together.

Why thin: all the work lives in ``indexing/``, ``retrieval/``, ``evolution/``, ``store/``
and ``llm/``; this class owns the shared objects (config, store, embedder, LLM client,
graph snapshots) and forwards calls, so the CLI, the servers, notebooks and user code all
go through one small surface and no room reaches into another.

Thread safety: one ``Memory`` may be shared by many threads. Searches read immutable
snapshots (ids, vectors and graph of one generation) and run concurrently; writes
(index, add, delete, revert) take one lock, so at most one runs at a time in a process,
and SQLite (or the Bolt server) serialises writers across processes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graphmem.config import Config
from graphmem.embeddings import Embedder, check_dimension, load_embedder
from graphmem.errors import InputError
from graphmem.evolution import Added, Evolver
from graphmem.evolution.supersede import Superseder
from graphmem.indexing import make_extractor
from graphmem.indexing.extractor import Extractor
from graphmem.indexing.ingest import read_items, read_source
from graphmem.indexing.openie import read_openie
from graphmem.indexing.pipeline import Indexer, Progress
from graphmem.llm.client import LLMClient
from graphmem.retrieval import temporal
from graphmem.retrieval.filter import FactFilter
from graphmem.retrieval.reader import Answer, answer_question
from graphmem.retrieval.recipes import Recipe, get_recipe
from graphmem.retrieval.retriever import Ranked, Retriever, Scope, Walk, single_threaded_blas
from graphmem.retrieval.snapcache import SnapshotCache
from graphmem.retrieval.snapshot import Snapshot, SnapshotManager
from graphmem.retrieval.temporal import TimeFilter
from graphmem.store import Store, open_store
from graphmem.store.base import NotFound
from graphmem.store.records import DeleteReport
from graphmem.types import Document, Extraction, Hit, IndexReport, IngestProblem, Note, NoteVersion

log = logging.getLogger(__name__)


class Memory:
    """A persistent associative memory (see the module docstring on threads).

    ``Memory("dir")`` opens (or creates) the embedded store in a directory;
    ``Memory(store="bolt://host:7687")`` uses a Bolt server; ``store=`` also takes a
    :class:`~graphmem.store.Store` object, and ``embedder=`` / ``llm=`` inject those parts.
    ``create=False`` refuses to create a memory that does not exist.

    >>> mem = Memory("my_memory")                                   # doctest: +SKIP
    >>> mem.index(["Ada Lovelace wrote the first program."])        # doctest: +SKIP
    >>> mem.search("Who wrote the first program?", k=3)             # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, config: Config | None = None,
                 *, store: str | os.PathLike[str] | Store | None = None,
                 embedder: Embedder | None = None, llm: LLMClient | None = None,
                 create: bool = True, read_only: bool | None = None,
                 **overrides: Any) -> None:
        where = store if store is not None else path
        location = None if where is None or isinstance(where, Store) else os.fspath(where)
        extra = {"store": location} if location is not None else {}
        if config is None:
            config = Config.from_env(**extra, **overrides)
        elif extra or overrides:
            config = config.replace(**extra, **overrides)
        self.config = config
        if isinstance(where, Store):
            self.store = where
        else:
            self.store = open_store(config.store, config.embedding_identity, create=create,
                                    read_only=read_only, user=config.neo4j_user,
                                    password=config.neo4j_password,
                                    database=config.neo4j_database,
                                    cache_root=config.cache_root)
        self._embedder = embedder
        self._llm = llm
        self._extractor: Extractor | None = None
        self._retriever: Retriever | None = None
        self._evolver: Evolver | None = None
        self._write_lock = threading.RLock()
        self._lazy_lock = threading.RLock()
        self.snapshots = SnapshotManager(self.store, self._snapshot_cache())
        if not self.store.read_only and self.evolves:
            self._finish_pending()

    def _snapshot_cache(self) -> SnapshotCache | None:
        directory = getattr(self.store, "cache_directory", None)
        if directory is None and hasattr(self.store, "directory"):
            directory = Path(self.store.directory) / "cache"  # type: ignore[attr-defined]
        return SnapshotCache(Path(directory)) if directory is not None else None

    def _finish_pending(self) -> None:
        """Evolution steps recorded but not applied (a kill -9 between an add and its
        evolution, an unreachable LLM): run them now."""
        pending = self.store.notes.pending_evolution()
        if not pending:
            return
        log.info("finishing %d pending evolution step(s)", len(pending))
        try:
            with self._write_lock, single_threaded_blas():
                for note_id in pending:
                    self.evolver.evolve(note_id)
        except Exception as exc:  # noqa: BLE001 - the memory opens; the steps stay pending
            log.warning("pending evolution not finished (%s); it will be tried again", exc)

    @property
    def evolves(self) -> bool:
        """Evolution on add: the LLM policy when a model is there; the offline one only
        when asked for (``offline_evolution``: measured to lower recall, see its docs)."""
        c = self.config
        return c.evolve_on_add and (c.offline_evolution or self.llm is not None)

    # --- shared objects -----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lazy_lock:
                if self._embedder is None:
                    c = self.config
                    emb = load_embedder(c.embedding_model, c.embedding_backend,
                                        c.embedding_batch_size, c.cache_root,
                                        c.embedding_base_url, c.embedding_api_key)
                    check_dimension(self.store, emb)
                    self._embedder = emb
        return self._embedder

    @property
    def llm(self) -> LLMClient | None:
        """The LLM client (cached in this store), or None when no endpoint is configured."""
        if self._llm is None and self.config.llm_configured:
            with self._lazy_lock:
                if self._llm is None:
                    self._llm = LLMClient.from_config(self.config, self.store)
        return self._llm

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = make_extractor(self.config, self.llm)
        return self._extractor

    @property
    def evolver(self) -> Evolver:
        if self._evolver is None:
            self._evolver = Evolver(self.store, self.embedder, self.config,
                                    self.snapshots.current, self.llm)
        return self._evolver

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._lazy_lock:
                if self._retriever is None:
                    use_filter = self.config.llm_filter_facts and self.config.llm_configured
                    self._retriever = Retriever(
                        self.snapshots, self.embedder, self.config.ppr_tol,
                        self.config.ppr_max_iter, self.config.ppr_solver,
                        FactFilter(self.llm) if use_filter else None)
        return self._retriever

    def snapshot(self) -> Snapshot:
        """The current immutable view of what retrieval reads."""
        return self.snapshots.current()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.store.location!r})"

    # --- indexing -----------------------------------------------------------------
    def _indexer(self, extractor: Extractor | None, progress: Progress | None) -> Indexer:
        snaps = self.snapshots

        def entity_rows() -> tuple[list[str], Any]:
            snap = snaps.current()
            return snap.entities.ids, snap.entities.matrix

        return Indexer(self.store, self.embedder, extractor, self.config, progress,
                       entity_rows)

    def index(self, source: str | os.PathLike[str] | Iterable[Any],
              progress: Progress | None = None, namespace: str = "",
              sync: bool = False) -> IndexReport:
        """Index a directory of .txt/.md files, a JSON/JSONL corpus, or Python strings/dicts.

        Re-indexing the same content is a no-op; an interrupted run resumes where it
        stopped, and passages whose extraction failed before are extracted again. A file
        whose content changed replaces its earlier version; with ``sync``, documents
        whose files are gone from the directory are deleted. Skipped or repaired inputs
        are in the report (and the ingest log), never dropped silently.
        """
        from graphmem.indexing.sources import SourceTracker

        tracker = SourceTracker(self.store, source if sync else None)
        if isinstance(source, str | os.PathLike):
            items: Iterable[Document | IngestProblem] = read_source(
                source, self.config.max_document_bytes, namespace)
        else:
            items = read_items(source, namespace=namespace)
        with self._write_lock, single_threaded_blas():
            failed_before = list(self.store.graph.failed_passages())
            indexer = self._indexer(self.extractor, progress)
            report = indexer.run(tracker.watch(items), evolve=self.config.evolve_on_index)
            indexer.retry_failed(failed_before, report)
            tracker.finish(report, self._delete_locked)
            if self.config.evolve_on_index:
                self._evolve_all(report.new_passage_ids, progress)
        return report

    def _evolve_all(self, note_ids: list[str], progress: Progress | None) -> None:
        """Evolution for a bulk index (one decision per new note: an LLM call each)."""
        if progress:
            progress("evolve", 0, len(note_ids))
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
        with self._write_lock, single_threaded_blas():
            return self._indexer(None, progress).run(read_items(docs), extractions=extractions,
                                                     chunk=False)

    def add(self, text: str, timestamp: str | None = None,
            metadata: dict[str, Any] | None = None, namespace: str = "") -> Added:
        """Add one memory (a chat turn, an observation) and let the memory evolve around it.

        The memory becomes a note with keywords, tags and context; its entities and facts
        join the graph; then (``evolve_on_add``) its nearest notes are reconsidered: the
        LLM (or the offline policy, if ``offline_evolution`` is set) may link them and
        rewrite their context and tags, each rewrite kept as a new version.
        """
        if not isinstance(text, str) or not text.strip():
            raise InputError("a memory needs some text")
        doc = Document(title="", text=text, source="add", metadata=dict(metadata or {}),
                       timestamp=timestamp, namespace=namespace)
        evolve = self.evolves
        with self._write_lock, single_threaded_blas():
            report = self._indexer(self.extractor, None).run(
                read_items([doc]), note_metadata={doc.id: dict(metadata or {})}, evolve=evolve,
                overlap=False)
            ids = self.store.graph.passage_ids(doc.id)
            superseded = (Superseder(self.store, self.llm).run(ids)
                          if self.config.supersede_facts else [])
            outcomes = [self.evolver.evolve(p) for p in report.new_passage_ids] if evolve else []
            notes = self.store.notes.get(ids)
        return Added(doc_id=doc.id, notes=[notes[i] for i in ids if i in notes],
                     evolution=outcomes, skipped=[p.reason for p in report.problems],
                     superseded=superseded)

    # --- notes and history ---------------------------------------------------------
    def note(self, note_id: str) -> Note:
        """A note as it is now (content, keywords, tags, context, links, version)."""
        notes = self.store.notes.get([note_id])
        if note_id not in notes:
            raise NotFound(f"no note {note_id!r} in this store")
        return notes[note_id]

    def history(self, note_id: str) -> list[NoteVersion]:
        """Every version of a note, oldest first, with the event that produced it."""
        versions = self.store.notes.history(note_id)
        if not versions:
            raise NotFound(f"no note {note_id!r} in this store")
        return versions

    def revert(self, event_id: str) -> list[str]:
        """Undo an evolution event: its links go, the notes it rewrote get their old
        attributes back (as a new version). Returns the restored note IDs."""
        with self._write_lock:
            return self.store.notes.revert_event(event_id)

    def delete(self, doc_id: str) -> DeleteReport:
        """Delete a document and everything that only it supported, its vectors, cached
        LLM answers about it and the rewrites its evolution made (see ``store/``)."""
        with self._write_lock:
            return self._delete_locked(doc_id)

    def _delete_locked(self, doc_id: str) -> DeleteReport:
        report = self.store.delete_document(doc_id)
        self.snapshots.invalidate()
        return report

    # --- retrieval ----------------------------------------------------------------
    def search(self, query: str, k: int = 5, recipe: str | Recipe | None = None,
               explain: bool = True, namespace: str = "",
               filters: dict[str, Any] | None = None, as_of: Any = None, since: Any = None,
               until: Any = None) -> list[Hit]:
        """The ``k`` passages most relevant to ``query``, best first, each with why.

        ``recipe`` picks the method (``hybrid``, ``hipporag2``, ``dense`` or a
        :class:`~graphmem.retrieval.recipes.Recipe`); default from the config.
        ``namespace`` limits the search to one namespace's memories (``"*"``: all of
        them); ``filters`` to some of them: ``{"tags": [...], "doc_id": ..., "source":
        ..., "metadata": {key: value}}`` (all given conditions must hold).

        Time: ``since`` / ``until`` keep memories whose event time is in that window,
        ``as_of`` what had happened by then and the facts that were true then (dates as
        ``2023-05-08``, ``May 2023``, ISO times...; see ``retrieval/temporal.py``). A time
        the query itself names ("in June", "last week") moves matching memories up.
        """
        return self.search_many([query], k, recipe, explain, namespace, filters, as_of, since,
                                until)[0]

    def search_many(self, queries: list[str], k: int = 5, recipe: str | Recipe | None = None,
                    explain: bool = True, namespace: str = "",
                    filters: dict[str, Any] | None = None, as_of: Any = None,
                    since: Any = None, until: Any = None) -> list[list[Hit]]:
        """Search several queries at once: one embedding call and one batched walk."""
        queries = list(queries)
        for q in queries:
            if not isinstance(q, str) or not q.strip():
                raise InputError("a search needs a non-empty query")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        tf = TimeFilter.of(as_of, since, until)
        scope = self._scope(namespace, filters, tf)
        plans = temporal.plans(queries, self.store, self.retriever, scope.namespace, tf,
                               self.config.time_boost)
        n = max(4 * k, temporal.CANDIDATES) if any(p.active for p in plans) else k
        ranked = self.retriever.search_many(queries, n, self._recipe(recipe), explain,
                                            damping=self.config.damping, scope=scope)
        hits = [self._hits(r) for r in ranked]
        return [temporal.rerank(h, p, {x.passage_id: x.times for x in h},
                                self.config.time_boost, k) for h, p in zip(hits, plans,
                                                                           strict=True)]

    def walk(self, query: str, k: int = 5, recipe: str | Recipe | None = None) -> Walk:
        """A query's whole walk: PPR mass on every node, seeds and ranking (for exploring)."""
        return self.retriever.walk(query, k, self._recipe(recipe), damping=self.config.damping)

    def _scope(self, namespace: str | None, filters: dict[str, Any] | None,
               tf: TimeFilter | None = None) -> Scope:
        from graphmem.retrieval.scope import passages_matching

        ns = None if namespace == "*" else (namespace or "")
        ids = passages_matching(self.store, filters, ns) if filters else None
        if tf is not None:
            in_time = self.store.time.passages_in_window(tf.since, tf.end, ns)
            ids = in_time if ids is None else ids & in_time
        return Scope(ns, frozenset(ids) if ids is not None else None,
                     facts_at=tf.as_of if tf else None)

    def _recipe(self, recipe: str | Recipe | None) -> Recipe:
        """The recipe asked for (or the configured one), with the configured fact count."""
        return get_recipe(recipe or self.config.retrieval).with_(top_facts=self.config.top_facts)

    def ask(self, question: str, k: int = 5, multi_hop: bool = False,
            max_steps: int = 3, recipe: str | Recipe | None = None, namespace: str = "",
            filters: dict[str, Any] | None = None, as_of: Any = None, since: Any = None,
            until: Any = None) -> Answer:
        """Answer from the memory: the answer, the passages it cites, and the trace.

        With ``multi_hop`` the model reasons step by step, retrieving again after each
        step (IRCoT style). Without an LLM endpoint the answer is None and the evidence
        passages are returned with a message saying what to configure.
        """
        if not isinstance(question, str) or not question.strip():
            raise InputError("a question needs some text")
        TimeFilter.of(as_of, since, until)  # a bad time is refused before any LLM call
        return answer_question(question, lambda q, n: self.search(
            q, n, recipe, namespace=namespace, filters=filters, as_of=as_of, since=since,
            until=until), self.llm, k, multi_hop, max_steps)

    def _hits(self, ranked: list[Ranked]) -> list[Hit]:
        passages, docs = self.store.graph.passages_and_documents(r.passage_id for r in ranked)
        times = self.store.time.passage_times(r.passage_id for r in ranked) if ranked else {}
        out = []
        for r in ranked:
            p = passages.get(r.passage_id)
            if p is None:  # deleted after the snapshot was taken
                continue
            out.append(Hit(passage_id=r.passage_id, title=p.title, text=p.text, score=r.score,
                           rank=len(out) + 1, doc_ids=docs.get(r.passage_id, []),
                           dense_score=r.dense, why=r.why, times=times.get(r.passage_id, [])))
        return out

    # --- inspection ---------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts of documents, passages, entities, triples, notes and edges by kind."""
        return self.store.stats()

    def to_networkx(self, kinds: Iterable[str] | None = None) -> Any:
        """The graph as a networkx graph (for exploration, not for speed)."""
        from graphmem.export import to_networkx

        return to_networkx(self.store, kinds)

    def to_igraph(self, kinds: Iterable[str] | None = None) -> Any:
        """The graph as an ``igraph.Graph`` with ``name``, ``kind`` and ``label`` attributes."""
        from graphmem.export import to_igraph

        return to_igraph(self.store, kinds)
