"""The evolution step: a new note meets its nearest notes, and the memory reorganises.

For a new note: link it to the notes stored just before it in its namespace (the
conversation it continues: on LoCoMo these *sequence links* raised evidence R@10 by ~8
points, because the answer to a question often sits in the turn after the one that
matches its words); find its k nearest notes — by the passage embedding (what it says), the
note embedding (its keywords, tags and context) and the specific entities it shares
with them in the graph — then decide (the LLM when configured, else the offline
policy), bound what the decision may do to others (``guard.py``), and apply it as one
store event: links become note–note edges of the graph, rewritten neighbours get a new
version (the old one stays, revertible) and are re-embedded at once, so evolution
changes what retrieval finds. Rewrites out of bounds are rejected and listed in the event.

A step that fails (LLM unreachable, a kill -9 between the add and its evolution) stays
recorded as pending in the store and is finished by the next ``Memory`` that opens it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from graphmem.config import Config
from graphmem.embeddings import Embedder, text_hash
from graphmem.evolution.decision import (
    Decision,
    DecisionError,
    llm_decision,
    offline_decision,
)
from graphmem.evolution.guard import check_rewrite, looks_like_instructions
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMError
from graphmem.retrieval.snapshot import Snapshot
from graphmem.store.base import Store, StoreError
from graphmem.store.records import NoteUpdate
from graphmem.types import EvolutionEvent, IngestProblem, Link, Note

log = logging.getLogger(__name__)

ENTITY_BONUS = 0.2
"""Added to a neighbour's similarity per shared entity, divided by that entity's
document frequency (a rare shared name says more than a common one)."""
MAX_SHARED_DF = 50


@dataclass
class Outcome:
    """What one evolution step did (or why it did nothing)."""

    note_id: str
    neighbors: list[tuple[str, float]]
    event: EvolutionEvent | None = None
    rejected: str | None = None
    policy: str = ""
    guarded: bool = False
    """The memory read as instructions to the memory system: it could link, not rewrite."""


class Evolver:
    def __init__(self, store: Store, embedder: Embedder, config: Config,
                 snapshot: Callable[[], Snapshot], llm: LLMClient | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.snapshot = snapshot
        self.llm = llm

    def neighbors(self, note_id: str, k: int | None = None) -> list[tuple[str, float]]:
        """The k notes closest to ``note_id`` (itself excluded), best first, with scores."""
        k = k or self.config.evolution_k
        snap = self.snapshot()
        me = snap.passages.row(note_id)
        if me is None or len(snap.passages) < 2:
            return []
        pmat, nmat = snap.passages.matrix, snap.notes.matrix
        score = 0.5 * (pmat @ pmat[me]).astype(np.float64) + 0.5 * (nmat @ nmat[me])
        same = snap.namespace_mask(snap.passages.column("namespaces")[me])
        if same is not None:  # a memory evolves only with memories of its own namespace
            score[~same] = -np.inf
        for other, bonus in self._shared_entities(note_id).items():
            r = snap.passages.row(other)
            if r is not None:
                score[r] += bonus
        score[me] = -np.inf
        top = np.argsort(-score, kind="stable")[:k]
        return [(snap.passages.id(int(i)), float(score[i])) for i in top
                if np.isfinite(score[i])]

    def previous(self, note_id: str, n: int | None = None) -> list[str]:
        """The ``n`` notes stored just before ``note_id`` in its namespace, latest first
        (the snapshot keeps passages in the order they were stored)."""
        n = self.config.sequence_links if n is None else n
        snap = self.snapshot()
        me = snap.passages.row(note_id)
        if me is None or n <= 0:
            return []
        same = snap.namespace_mask(snap.passages.column("namespaces")[me])
        out: list[str] = []
        for r in range(me - 1, -1, -1):
            if same is None or same[r]:
                out.append(snap.passages.id(r))
                if len(out) == n:
                    break
        return out

    def _shared_entities(self, note_id: str) -> dict[str, float]:
        ents = self.store.graph.passage_entities([note_id]).get(note_id, [])
        bonus: dict[str, float] = {}
        for passages in self.store.graph.entity_passages(ents).values():
            if len(passages) > MAX_SHARED_DF:
                continue
            for p in passages:
                if p != note_id:
                    bonus[p] = bonus.get(p, 0.0) + ENTITY_BONUS / len(passages)
        return bonus

    def evolve(self, note_id: str) -> Outcome:
        """Run one evolution step for a note already in the store (retried once if a
        concurrent writer rewrote a neighbour in between)."""
        try:
            out = self._evolve(note_id)
        except StoreError as exc:
            log.info("evolution of %s raced another writer (%s); trying again", note_id, exc)
            out = self._evolve(note_id)
        if out.event is None:
            self.store.notes.finish_evolution(note_id, out.rejected or "nothing to do")
        return out

    def _evolve(self, note_id: str) -> Outcome:
        near = self.neighbors(note_id)
        before = self.previous(note_id)
        out = Outcome(note_id, near, policy="llm" if self.llm else "offline")
        if not near and not before:
            return out
        notes = self.store.notes.get([note_id] + [n for n, _ in near])
        if note_id not in notes:
            return out
        new = notes[note_id]
        shown = [notes[n] for n, _ in near if n in notes]
        try:
            if self.llm is not None and shown:
                decision = llm_decision(self.llm, new, shown)
                model = self.llm.model
            elif self.llm is not None:
                decision, model = Decision(reason="no neighbours to reconsider"), self.llm.model
            else:
                decision = offline_decision(new, [(notes[n], s) for n, s in near if n in notes],
                                            self.config.link_threshold)
                model = "offline-policy"
        except (LLMError, DecisionError) as exc:
            out.rejected = str(exc)
            log.warning("evolution of %s rejected: %s", note_id, exc)
            self.store.kv.log_ingest("evolution", [IngestProblem(note_id, str(exc),
                                                                 status="evolution_rejected")])
            return out
        decision.sequence = [p for p in before if p not in decision.links]
        out.guarded = looks_like_instructions(new.content)
        if not decision.empty:
            out.event = self.apply(new, notes, decision, model, out.guarded)
            if out.event is not None and out.event.decision.get("rejected"):
                out.rejected = "; ".join(out.event.decision["rejected"])
                self.store.kv.log_ingest("evolution", [IngestProblem(
                    note_id, out.rejected, status="evolution_rejected")])
        return out

    def apply(self, new: Note, notes: dict[str, Note], decision: Decision, model: str,
              guarded: bool = False) -> EvolutionEvent | None:
        """Write the decision as one event: versions, links, fresh embeddings; rewrites
        out of bounds (or any rewrite of others, for a guarded memory) are left out and
        listed under ``rejected``."""
        updates: list[NoteUpdate] = []
        rejected: list[str] = []
        if decision.new_tags is not None and decision.new_tags != new.tags:
            updates.append(NoteUpdate(replace(new, tags=decision.new_tags), new.version))
        for up in decision.updates:
            old = notes[up.note_id]
            if up.context == old.context and up.tags == old.tags:
                continue
            if guarded and up.note_id != new.id:
                rejected.append(f"rewrite of {old.id} refused: the new memory reads as "
                                "instructions to the memory system")
                continue
            why = check_rewrite(old, up.context, up.tags, new, self.config.rewrite_max_change)
            if why:
                rejected.append(why)
                continue
            updates.append(NoteUpdate(replace(old, context=up.context, tags=up.tags),
                                      old.version))
        links = [Link(new.id, dst, decision.reason) for dst in decision.links
                 if dst != new.id and dst not in new.links]
        links += [Link(new.id, dst, "sequence: stored just before it") for dst in
                  decision.sequence if dst != new.id and dst not in new.links]
        if not updates and not links and not rejected:
            return None
        texts = {text_hash(u.note.embed_text()): u.note.embed_text() for u in updates}
        absent = self.store.vectors.missing(texts)
        missing = [h for h in texts if h in absent]
        vectors = dict(zip(missing, self.embedder.embed_documents([texts[h] for h in missing]),
                           strict=True)) if missing else {}
        event = EvolutionEvent(
            id=f"ev:{uuid.uuid4().hex[:16]}", note_id=new.id, model=model,
            decision={"reason": decision.reason, "links": [lk.dst for lk in links],
                      "sequence": decision.sequence,
                      "rewrote": [u.note.id for u in updates], "rejected": rejected,
                      "guarded": guarded, "raw": decision.raw})
        self.store.notes.apply_event(event, updates, links, vectors)
        return event
