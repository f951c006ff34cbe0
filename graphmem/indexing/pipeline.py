"""The indexing pipeline: documents -> passages -> extraction -> embeddings -> store, streamed.

Why a stream of fixed batches of *pending* passages: documents are read, chunked,
extracted, embedded and committed a batch at a time, so memory does not grow with the
corpus, the first commit lands seconds after the start, and a run killed at any point
loses only the batch in flight. A re-run skips complete documents by their status, re-chunks
the incomplete one, and cuts the same batches over what is still missing (a batch is
committed whole or not at all), so a resumed run ends with the same graph as an
uninterrupted one (synonym edges included, since they depend on batch order).

Nothing is dropped silently: a document that cannot be chunked, or a passage whose
extraction fails, is skipped and reported (CLI table and ingest log); failed extractions
are stored as such and retried by the next run over the same input.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from graphmem.config import Config
from graphmem.embeddings import Embedder
from graphmem.indexing.batch import BatchWriter
from graphmem.indexing.chunking import iter_chunks
from graphmem.indexing.extractor import Extractor
from graphmem.store.base import Store
from graphmem.types import Document, Extraction, IndexReport, IngestProblem, Passage

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: total is given once per stage, advance counts."""

DOC_GROUP = 64
"""Documents whose status is looked up together (one query per group)."""


@dataclass
class Slot:
    doc: Document
    passage: Passage
    pending: bool
    last_of_doc: bool
    n_passages: int | None
    """The document's passage count when known (set on its last slot)."""


class Indexer:
    """Runs the pipeline for one store with one embedder and one extractor."""

    def __init__(self, store: Store, embedder: Embedder, extractor: Extractor | None,
                 config: Config, progress: Progress | None = None,
                 entity_rows: Callable[[], tuple[list[str], object]] | None = None) -> None:
        self.store = store
        self.config = config
        self.progress = progress or (lambda stage, n, total: None)
        self.writer = BatchWriter(store, embedder, extractor, config, self.progress,
                                  entity_rows)
        self.extractor = extractor
        self._planned: set[str] = set()      # pending passages of the previous batch
        self._planned_now: set[str] = set()  # ... and of the one being cut

    # --- planning, streamed -----------------------------------------------------------
    def _slots(self, docs: Iterable[Document], report: IndexReport, chunk: bool,
               run_id: str) -> Iterator[Slot]:
        """Passages of the documents not yet complete, in order, marked pending or not."""
        group: list[Document] = []

        def flush() -> Iterator[Slot]:
            status = self.store.graph.document_status(d.id for d in group)
            for doc in group:
                if status.get(doc.id):
                    report.documents_duplicate += 1
                    continue
                yield from self._doc_slots(doc, report, chunk, run_id)
            group.clear()

        for doc in docs:
            group.append(doc)
            if len(group) >= DOC_GROUP:
                yield from flush()
        if group:
            yield from flush()

    def _doc_slots(self, doc: Document, report: IndexReport, chunk: bool,
                   run_id: str) -> Iterator[Slot]:
        c = self.config
        window: list[Passage] = []
        i = 0
        try:
            pieces = (iter_chunks(doc.text, c.chunk_tokens, c.chunk_overlap, c.chunk_tokenizer,
                                  c.max_chunk_chars) if chunk else iter([doc.text.strip()]))
            for text in pieces:
                window.append(Passage(title=doc.title, text=text, doc_id=doc.id, index=i,
                                      timestamp=doc.timestamp, namespace=doc.namespace))
                i += 1
                if len(window) > self.config.index_batch_size:
                    yield from self._mark(doc, window[:-1], None)
                    window = window[-1:]
        except Exception as exc:  # noqa: BLE001 - one bad document never aborts a run
            problem = IngestProblem(doc.source or doc.id, f"could not be chunked "
                                    f"({type(exc).__name__}: {str(exc)[:200]}); skipped",
                                    status="error")
            report.problems.append(problem)
            self.store.kv.log_ingest(run_id, [problem])
            log.warning("%s: %s", problem.source, problem.reason)
            return
        if not window:
            problem = IngestProblem(doc.source or doc.id, "no text left after chunking")
            report.problems.append(problem)
            return
        yield from self._mark(doc, window, i)

    def _mark(self, doc: Document, passages: list[Passage], total: int | None
              ) -> Iterator[Slot]:
        stored = set(self.store.graph.passage_documents(p.id for p in passages))
        for j, p in enumerate(passages):
            last = total is not None and j == len(passages) - 1
            yield Slot(doc, p, p.id not in stored, last, total if last else None)
            stored.add(p.id)  # a passage repeated inside one document is written once

    # --- running --------------------------------------------------------------------
    def run(self, items: Iterable[Document | IngestProblem],
            extractions: dict[str, Extraction] | None = None, chunk: bool = True,
            note_metadata: dict[str, dict] | None = None, evolve: bool = False,
            overlap: bool = True) -> IndexReport:
        """Index documents; ``extractions`` (by passage ID) bypass the extractor.
        ``overlap=False`` runs inline: one memory has no next batch to overlap with."""
        t0 = time.perf_counter()
        run_id = uuid.uuid4().hex[:12]
        if extractions is None and self.extractor is None:
            raise ValueError("an extractor is needed unless extractions are given")
        report = IndexReport(extractor=self.extractor.name if extractions is None
                             else "precomputed")
        self.progress("index", 0, None)

        def documents() -> Iterator[Document]:
            for item in items:
                if isinstance(item, IngestProblem):
                    report.problems.append(item)
                    self.store.kv.log_ingest(run_id, [item])
                    if item.status == "duplicate":
                        report.documents_duplicate += 1
                    elif item.status == "repaired":
                        report.documents_repaired += 1
                    continue
                report.documents_seen += 1
                yield item

        meta = note_metadata or {}
        batches = self._batches(self._slots(documents(), report, chunk, run_id))
        if not (self.config.index_pipeline and overlap):
            for batch in batches:
                exs = self.writer.extract_slots(batch, extractions, report)
                self.writer.write(batch, exs, report, run_id, meta, evolve)
        else:
            # extraction (spaCy or LLM calls, mostly one core) of batch i+1 overlaps the
            # embedding (ONNX Runtime, both cores, without the GIL) and writing of batch i
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as pool:
                prev: tuple[list[Slot], Future] | None = None
                for batch in batches:
                    fut = pool.submit(self.writer.extract_slots, batch, extractions, report)
                    if prev is not None:
                        self.writer.write(prev[0], prev[1].result(), report, run_id, meta,
                                          evolve)
                    prev = (batch, fut)
                if prev is not None:
                    self.writer.write(prev[0], prev[1].result(), report, run_id, meta, evolve)
        report.seconds = time.perf_counter() - t0
        report.stage_seconds["read+chunk"] = max(
            0.0, report.seconds - sum(report.stage_seconds.values()))
        log.info("indexed %d documents, %d passages in %.1fs (%s)", report.documents_indexed,
                 report.passages_indexed, report.seconds, report.extractor)
        return report

    def _batches(self, slots: Iterator[Slot]) -> Iterator[list[Slot]]:
        """Cut after every ``index_batch_size`` pending passages. A passage planned in the
        batch before is not pending again (with extraction running ahead, that batch may
        not be committed yet when this one is planned)."""
        batch: list[Slot] = []
        pending = 0
        for slot in slots:
            if slot.pending and slot.passage.id in self._planned:
                slot.pending = False
            batch.append(slot)
            if slot.pending:
                pending += 1
                self._planned_now.add(slot.passage.id)
            if pending >= self.config.index_batch_size:
                yield batch
                self._planned, self._planned_now = self._planned_now, set()
                batch, pending = [], 0
        if batch:
            yield batch

    def retry_failed(self, passage_ids: list[str], report: IndexReport) -> None:
        """Extract again passages whose extraction failed in an earlier run."""
        if not passage_ids or self.extractor is None:
            return
        still = self.store.graph.failed_passages()
        ids = [p for p in passage_ids if p in still]
        run_id = uuid.uuid4().hex[:12]
        passages = self.store.graph.get_passages(ids)
        self.writer.retry([passages[p] for p in ids if p in passages], report, run_id)
