"""The evolution step: a new note meets its nearest notes, and the memory reorganises.

For a new note: find its k nearest notes — by the passage embedding (what it says), the
note embedding (its keywords, tags and context) and the specific entities it shares
with them in the graph — then decide (the LLM when configured, else the offline
policy), and apply the decision as one store event: links become note–note edges of the
graph, rewritten neighbours get a new version (the old one stays, revertible) and are
re-embedded at once, so evolution changes what retrieval finds.
"""

from __future__ import annotations

import logging
import uuid
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
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMError
from graphmem.store.base import NoteUpdate, Store
from graphmem.store.vectors import rows_for
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


class Evolver:
    def __init__(self, store: Store, embedder: Embedder, config: Config,
                 llm: LLMClient | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.llm = llm

    def neighbors(self, note_id: str, k: int | None = None) -> list[tuple[str, float]]:
        """The k notes closest to ``note_id`` (itself excluded), best first, with scores."""
        k = k or self.config.evolution_k
        pids, pmat = self.store.vectors("passage")
        nids, nmat = self.store.vectors("note")
        if note_id not in pids or len(pids) < 2:
            return []
        p_index = {p: i for i, p in enumerate(pids)}
        me = p_index[note_id]
        score = (pmat @ pmat[me]).astype(np.float64)
        if len(nids) == len(pids):  # every passage has a note; align the two matrices
            nm = rows_for(nids, nmat, pids)
            score = 0.5 * score + 0.5 * (nm @ nm[me])
        for other, bonus in self._shared_entities(note_id).items():
            if other in p_index:
                score[p_index[other]] += bonus
        score[me] = -np.inf
        top = np.argsort(-score, kind="stable")[:k]
        return [(pids[i], float(score[i])) for i in top if np.isfinite(score[i])]

    def _shared_entities(self, note_id: str) -> dict[str, float]:
        ents = self.store.passage_entities([note_id]).get(note_id, [])
        bonus: dict[str, float] = {}
        for passages in self.store.entity_passages(ents).values():
            if len(passages) > MAX_SHARED_DF:
                continue
            for p in passages:
                if p != note_id:
                    bonus[p] = bonus.get(p, 0.0) + ENTITY_BONUS / len(passages)
        return bonus

    def evolve(self, note_id: str) -> Outcome:
        """Run one evolution step for a note already in the store."""
        near = self.neighbors(note_id)
        out = Outcome(note_id, near, policy="llm" if self.llm else "offline")
        if not near:
            return out
        notes = self.store.get_notes([note_id] + [n for n, _ in near])
        new = notes[note_id]
        shown = [notes[n] for n, _ in near if n in notes]
        try:
            if self.llm is not None:
                decision = llm_decision(self.llm, new, shown)
                model = self.llm.model
            else:
                decision = offline_decision(new, [(notes[n], s) for n, s in near if n in notes],
                                            self.config.link_threshold)
                model = "offline-policy"
        except (LLMError, DecisionError) as exc:
            out.rejected = str(exc)
            log.warning("evolution of %s rejected: %s", note_id, exc)
            self.store.log_ingest("evolution", [IngestProblem(note_id, str(exc),
                                                              status="evolution_rejected")])
            return out
        if not decision.empty:
            out.event = self.apply(new, notes, decision, model)
        return out

    def apply(self, new: Note, notes: dict[str, Note], decision: Decision,
              model: str) -> EvolutionEvent | None:
        """Write the decision as one event: versions, links, fresh embeddings."""
        updates: list[NoteUpdate] = []
        if decision.new_tags is not None and decision.new_tags != new.tags:
            updates.append(NoteUpdate(replace(new, tags=decision.new_tags), new.version))
        for up in decision.updates:
            old = notes[up.note_id]
            if up.context != old.context or up.tags != old.tags:
                updates.append(NoteUpdate(replace(old, context=up.context, tags=up.tags),
                                          old.version))
        links = [Link(new.id, dst, decision.reason) for dst in decision.links
                 if dst != new.id and dst not in new.links]
        if not updates and not links:
            return None
        texts = {text_hash(u.note.embed_text()): u.note.embed_text() for u in updates}
        missing = [h for h in texts if h in self.store.missing_vectors(texts)]
        vectors = dict(zip(missing, self.embedder.embed_documents([texts[h] for h in missing]),
                           strict=True)) if missing else {}
        event = EvolutionEvent(
            id=f"ev:{uuid.uuid4().hex[:16]}", note_id=new.id, model=model,
            decision={"reason": decision.reason, "links": [lk.dst for lk in links],
                      "rewrote": [u.note.id for u in updates], "raw": decision.raw})
        self.store.apply_event(event, updates, links, vectors)
        return event

