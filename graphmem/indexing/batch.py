"""One indexing batch: extract, build notes, embed what is new, find synonyms, commit.

Why its own unit: the pipeline decides *which* passages form a batch (streaming,
resumable); this decides what a batch writes, and isolates failures inside it. If the
extractor raises on a batch, the passages are extracted one by one so that only the bad
one fails; a failed passage is still stored (it is searchable densely), recorded with
its reason, and retried by the next run. Only an unreachable LLM endpoint stops a run
(every later passage would fail the same way); what was committed before stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from graphmem.config import Config
from graphmem.embeddings import Embedder, text_hash
from graphmem.indexing.extractor import Extractor
from graphmem.indexing.notes import note_for
from graphmem.indexing.synonyms import new_synonyms
from graphmem.llm.errors import LLMUnavailable
from graphmem.store.base import Store
from graphmem.store.records import DocumentRecord, WriteBatch
from graphmem.store.sqlite import entity_id
from graphmem.types import Extraction, IndexReport, IngestProblem, Note, Passage

log = logging.getLogger(__name__)


class _Clock:
    """Adds the time since the last lap to a stage's total (where a run's time goes)."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals
        self.t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.totals[stage] = self.totals.get(stage, 0.0) + now - self.t
        self.t = now


class BatchWriter:
    def __init__(self, store: Store, embedder: Embedder, extractor: Extractor | None,
                 config: Config, progress: Callable[[str, int, int | None], None],
                 entity_rows: Callable[[], tuple[list[str], Any]] | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.extractor = extractor
        self.config = config
        self.progress = progress
        self.entity_rows = entity_rows
        self._t0 = time.perf_counter()

    # --- extraction with failure isolation ----------------------------------------------
    def extract(self, passages: list[Passage]) -> list[Extraction]:
        if not passages:
            return []
        extractor = self.extractor
        if extractor is None:
            raise ValueError("an extractor is needed unless extractions are given")
        try:
            return extractor.extract(passages, lambda n: self.progress("extract", n, None))
        except LLMUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the passage that breaks it
            if len(passages) == 1:
                msg = f"extraction failed ({type(exc).__name__}: {str(exc)[:200]})"
                log.warning("%s#%d: %s", passages[0].doc_id, passages[0].index, msg)
                return [Extraction(passages[0].id, extractor=extractor.name, failed=msg)]
            return [ex for p in passages for ex in self.extract([p])]

    # --- a batch of new passages ----------------------------------------------------------
    def extract_slots(self, slots: list, extractions: dict[str, Extraction] | None,
                      report: IndexReport) -> list[Extraction]:
        """The extractions of a batch's pending passages (may run on another thread while
        the previous batch is embedded and written)."""
        pending = [s.passage for s in slots if s.pending]
        clock = _Clock(report.stage_seconds)
        if extractions is not None:
            exs = [extractions.get(p.id) or Extraction(p.id, extractor="none") for p in pending]
        else:
            exs = self.extract(pending)
        clock.lap("extract")
        return exs

    def write(self, slots: list, exs: list[Extraction], report: IndexReport, run_id: str,
              note_metadata: dict[str, dict], evolve: bool) -> None:
        pending = [s.passage for s in slots if s.pending]
        clock = _Clock(report.stage_seconds)
        notes = [note_for(p, ex, note_metadata.get(p.doc_id))
                 for p, ex in zip(pending, exs, strict=True)]
        vectors, n_embedded = self._embed(pending, exs, notes)
        clock.lap("embed")
        synonyms = self._synonyms(exs, vectors)
        clock.lap("synonyms")
        records: dict[str, DocumentRecord] = {}
        for s in slots:
            rec = records.setdefault(s.doc.id, DocumentRecord(s.doc, s.passage.index + 1, False))
            rec.n_passages = max(rec.n_passages, s.passage.index + 1)
            if s.last_of_doc:
                rec.complete = True
                rec.n_passages = s.n_passages or rec.n_passages
        failures = {ex.passage_id: ex.failed for ex in exs if ex.failed}
        wb = WriteBatch(documents=list(records.values()), passages=[s.passage for s in slots],
                        extractions=exs, notes=notes, vectors=vectors, synonyms=synonyms,
                        failures=failures, strings_embedded=n_embedded,
                        pending_evolution=[p.id for p in pending] if evolve else [])
        res = self.store.write_batch(wb)
        clock.lap("write")
        if report.seconds_to_first_commit is None:
            report.seconds_to_first_commit = time.perf_counter() - self._t0
        self._report(report, run_id, pending, exs)
        report.documents_indexed += sum(r.complete for r in records.values())
        report.passages_indexed += res.passages_added
        report.new_passage_ids.extend(res.passage_ids)
        report.entities_added += len(res.entities_added)
        report.triples_added += res.triples_added
        report.synonym_edges_added += res.synonyms_added
        report.strings_embedded += n_embedded
        self.progress("index", len(pending), None)

    def retry(self, passages: list[Passage], report: IndexReport, run_id: str) -> None:
        """Extract again passages whose extraction failed before; write what now works."""
        size = self.config.index_batch_size
        for start in range(0, len(passages), size):
            part = passages[start:start + size]
            exs = self.extract(part)
            report.retried += len(part)
            ok = [ex for ex in exs if not ex.failed]
            report.retried_ok += len(ok)
            vectors, n = self._embed([], exs, [])
            wb = WriteBatch(extractions=exs, vectors=vectors, strings_embedded=n,
                            synonyms=self._synonyms(ok, vectors),
                            failures={ex.passage_id: ex.failed for ex in exs if ex.failed})
            res = self.store.write_batch(wb)
            self._report(report, run_id, part, exs)
            report.entities_added += len(res.entities_added)
            report.triples_added += res.triples_added
            report.synonym_edges_added += res.synonyms_added
            report.strings_embedded += n

    def _report(self, report: IndexReport, run_id: str, passages: list[Passage],
                exs: list[Extraction]) -> None:
        problems = []
        for p, ex in zip(passages, exs, strict=True):
            where = f"{p.doc_id}#{p.index}"
            problems += [IngestProblem(where, msg, status="extraction") for msg in ex.problems]
            if ex.failed:
                problems.append(IngestProblem(where, ex.failed, status="extraction_failed"))
                report.extraction_failures += 1
        self.store.kv.log_ingest(run_id, problems)
        report.problems.extend(problems)
        report.extraction_problems += sum(len(ex.problems) for ex in exs)

    # --- embeddings and synonyms ----------------------------------------------------------
    def _embed(self, passages: list[Passage], exs: list[Extraction], notes: list[Note]
               ) -> tuple[dict[str, np.ndarray], int]:
        """Embeddings for every string of the batch the store does not have yet."""
        strings: dict[str, str] = {}
        for p in passages:
            strings.setdefault(text_hash(p.embed_text), p.embed_text)
        for ex in exs:
            for name in ex.all_entities():
                strings.setdefault(text_hash(name), name)
            for t in ex.triples:
                strings.setdefault(text_hash(t.text), t.text)
        for note in notes:
            strings.setdefault(text_hash(note.embed_text()), note.embed_text())
        absent = self.store.vectors.missing(strings)
        missing = [k for k in strings if k in absent]
        if not missing:
            return {}, 0
        mat = self.embedder.embed_documents([strings[k] for k in missing])
        return dict(zip(missing, mat, strict=True)), len(missing)

    def _synonyms(self, exs: list[Extraction], vectors: dict[str, np.ndarray]) -> list:
        names = list(dict.fromkeys(n for ex in exs for n in ex.all_entities()))
        ids = [entity_id(n) for n in names]
        known = self.store.graph.known_entities(ids)
        new = [(i, n) for i, n in zip(ids, names, strict=True) if i not in known]
        if not new:
            return []
        cached = self.store.vectors.get(text_hash(n) for _, n in new
                                        if text_hash(n) not in vectors)
        new_vecs = np.vstack([vectors.get(text_hash(n), cached.get(text_hash(n)))
                              for _, n in new])
        if self.entity_rows is not None:
            old_ids, old_mat = self.entity_rows()
        else:
            old_ids, old_mat = [], np.zeros((0, new_vecs.shape[1]), np.float32)
        return new_synonyms([i for i, _ in new], new_vecs, old_ids, old_mat,
                            self.config.synonym_threshold, self.config.synonym_k)
