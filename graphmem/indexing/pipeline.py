"""The indexing pipeline: documents -> passages -> extraction -> embeddings -> store.

Why it is built around fixed batches of *pending* passages: each batch is extracted,
embedded and written in one store transaction, so a run killed at any point loses only
the batch in flight, and a re-run plans the very same batches over what is still
missing. The result of an interrupted-then-resumed run is therefore the same graph as an
uninterrupted one (synonym edges included, since they depend on batch order).
Every distinct string is embedded once: the store's vector cache is asked first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from graphmem.config import Config
from graphmem.embeddings import Embedder, text_hash
from graphmem.indexing.chunking import chunk_text
from graphmem.indexing.extractor import Extractor
from graphmem.indexing.notes import note_for
from graphmem.indexing.synonyms import new_synonyms
from graphmem.store.base import DocumentRecord, Store, WriteBatch
from graphmem.store.sqlite import entity_id
from graphmem.types import Document, Extraction, IndexReport, IngestProblem, Passage

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: total is given once per stage, advance counts."""


@dataclass
class _Slot:
    doc: Document
    passage: Passage
    pending: bool
    last_of_doc: bool


@dataclass
class _Plan:
    slots: list[_Slot] = field(default_factory=list)
    n_passages: dict[str, int] = field(default_factory=dict)


class Indexer:
    """Runs the pipeline for one store with one embedder and one extractor."""

    def __init__(self, store: Store, embedder: Embedder, extractor: Extractor | None,
                 config: Config,
                 progress: Progress | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.extractor = extractor
        self.config = config
        self.progress = progress or (lambda stage, n, total: None)

    # --- planning -------------------------------------------------------------------
    def plan(self, docs: list[Document], chunk: bool = True) -> tuple[_Plan, int]:
        """Passages still to write, in order; also how many documents were complete."""
        status = self.store.document_status(d.id for d in docs)
        plan = _Plan()
        already = 0
        for doc in docs:
            if status.get(doc.id):
                already += 1
                continue
            pieces = (chunk_text(doc.text, self.config.chunk_tokens, self.config.chunk_overlap,
                                 self.config.embedding_model) if chunk else [doc.text.strip()])
            plan.n_passages[doc.id] = len(pieces)
            for i, text in enumerate(pieces):
                p = Passage(title=doc.title, text=text, doc_id=doc.id, index=i,
                            timestamp=doc.timestamp)
                plan.slots.append(_Slot(doc, p, True, i == len(pieces) - 1))
        stored = set(self.store.passage_documents(s.passage.id for s in plan.slots))
        seen: set[str] = set(stored)
        for s in plan.slots:
            s.pending = s.passage.id not in seen
            seen.add(s.passage.id)
        return plan, already

    def batches(self, plan: _Plan) -> list[list[_Slot]]:
        """Cut after every ``index_batch_size`` pending passages (stable across resumes)."""
        out: list[list[_Slot]] = []
        cur: list[_Slot] = []
        pending = 0
        for s in plan.slots:
            cur.append(s)
            pending += s.pending
            if pending >= self.config.index_batch_size:
                out.append(cur)
                cur, pending = [], 0
        if cur:
            out.append(cur)
        return out

    # --- running --------------------------------------------------------------------
    def run(self, items: Iterable[Document | IngestProblem],
            extractions: dict[str, Extraction] | None = None, chunk: bool = True,
            note_metadata: dict[str, dict] | None = None) -> IndexReport:
        """Index documents; ``extractions`` (by passage ID) bypass the extractor."""
        t0 = time.perf_counter()
        run_id = uuid.uuid4().hex[:12]
        if extractions is None and self.extractor is None:
            raise ValueError("an extractor is needed unless extractions are given")
        report = IndexReport(extractor=self.extractor.name if extractions is None
                             else "precomputed")
        docs: list[Document] = []
        for item in items:
            if isinstance(item, IngestProblem):
                report.problems.append(item)
                if item.status == "duplicate":
                    report.documents_duplicate += 1
            else:
                docs.append(item)
        report.documents_seen = len(docs) + report.documents_duplicate
        self.store.log_ingest(run_id, report.problems)
        plan, already = self.plan(docs, chunk)
        report.documents_duplicate += already
        batches = self.batches(plan)
        n_pending = sum(s.pending for s in plan.slots)
        self.progress("index", 0, n_pending)
        if extractions is None and n_pending:
            self.progress("extract", 0, n_pending)
        for batch in batches:
            self._run_batch(batch, plan, extractions, report, run_id, note_metadata or {})
        report.seconds = time.perf_counter() - t0
        log.info("indexed %d documents, %d passages in %.1fs (%s)", report.documents_indexed,
                 report.passages_indexed, report.seconds, report.extractor)
        return report

    def _run_batch(self, batch: list[_Slot], plan: _Plan,
                   extractions: dict[str, Extraction] | None, report: IndexReport, run_id: str,
                   note_metadata: dict[str, dict]) -> None:
        pending = [s.passage for s in batch if s.pending]
        if extractions is not None:
            exs = [extractions.get(p.id) or Extraction(p.id, extractor="none") for p in pending]
        elif self.extractor is not None:
            exs = self.extractor.extract(pending, lambda n: self.progress("extract", n, None))
        else:
            raise ValueError("an extractor is needed unless extractions are given")
        notes = [note_for(p, ex, note_metadata.get(p.doc_id)) for p, ex in zip(pending, exs,
                                                                                strict=True)]
        strings: dict[str, str] = {}
        for p in pending:
            strings.setdefault(text_hash(p.embed_text), p.embed_text)
        names = list(dict.fromkeys(n for ex in exs for n in ex.all_entities()))
        for name in names:
            strings.setdefault(text_hash(name), name)
        for ex in exs:
            for t in ex.triples:
                strings.setdefault(text_hash(t.text), t.text)
        for note in notes:
            strings.setdefault(text_hash(note.embed_text()), note.embed_text())
        absent = self.store.missing_vectors(strings)
        missing = [k for k in strings if k in absent]
        vectors: dict[str, np.ndarray] = {}
        if missing:
            mat = self.embedder.embed_documents([strings[k] for k in missing])
            vectors = dict(zip(missing, mat, strict=True))

        synonyms = self._synonyms(names, vectors)
        records: dict[str, DocumentRecord] = {}
        for s in batch:
            rec = records.setdefault(s.doc.id, DocumentRecord(s.doc, plan.n_passages[s.doc.id],
                                                              False))
            rec.complete = rec.complete or s.last_of_doc
        wb = WriteBatch(documents=list(records.values()), passages=[s.passage for s in batch],
                        extractions=exs, notes=notes, vectors=vectors, synonyms=synonyms,
                        strings_embedded=len(missing))
        res = self.store.write_batch(wb)
        problems = [IngestProblem(f"{p.doc_id}#{p.index}", msg, status="extraction")
                    for p, ex in zip(pending, exs, strict=True) for msg in ex.problems]
        self.store.log_ingest(run_id, problems)
        report.problems.extend(problems)
        report.extraction_problems += len(problems)
        report.documents_indexed += sum(r.complete for r in records.values())
        report.passages_indexed += res.passages_added
        report.new_passage_ids.extend(res.passage_ids)
        report.entities_added += len(res.entities_added)
        report.triples_added += res.triples_added
        report.synonym_edges_added += res.synonyms_added
        report.strings_embedded += len(missing)
        self.progress("index", len(pending), None)

    def _synonyms(self, names: list[str], vectors: dict[str, np.ndarray]) -> list:
        ids = [entity_id(n) for n in names]
        known = self.store.known_entities(ids)
        new = [(i, n) for i, n in zip(ids, names, strict=True) if i not in known]
        if not new:
            return []
        cached = self.store.get_vectors(text_hash(n) for _, n in new
                                        if text_hash(n) not in vectors)
        new_vecs = np.vstack([vectors.get(text_hash(n), cached.get(text_hash(n)))
                              for _, n in new])
        old_ids, old_mat = self.store.vectors("entity")
        return new_synonyms([i for i, _ in new], new_vecs, old_ids, old_mat,
                            self.config.synonym_threshold, self.config.synonym_k)
