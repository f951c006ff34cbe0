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
from graphmem.indexing import make_extractor
from graphmem.indexing.extractor import Extractor
from graphmem.indexing.ingest import read_items, read_source
from graphmem.indexing.openie import read_openie
from graphmem.indexing.pipeline import Indexer, Progress
from graphmem.retrieval.recipes import Recipe, get_recipe
from graphmem.retrieval.retriever import Ranked, Retriever
from graphmem.store.base import DeleteReport, Store
from graphmem.store.sqlite import SQLiteStore
from graphmem.types import Document, Extraction, Hit, IndexReport, IngestProblem

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

    # --- shared objects -----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            c = self.config
            self._embedder = load_embedder(c.embedding_model, c.embedding_backend,
                                           c.embedding_batch_size, c.embedding_cache_dir)
        return self._embedder

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = make_extractor(self.config)
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
        return Indexer(self.store, self.embedder, self.extractor, self.config,
                       progress).run(items)

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
        chosen = get_recipe(recipe or self.config.retrieval).with_(top_facts=self.config.top_facts)
        ranked = self.retriever.search_many(list(queries), k, chosen, explain,
                                            damping=self.config.damping)
        return [self._hits(r) for r in ranked]

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store, self.embedder, self.config.store,
                                        self.config.ppr_tol, self.config.ppr_max_iter)
        return self._retriever

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
