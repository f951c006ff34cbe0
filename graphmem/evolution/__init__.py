"""Evolution room: A-MEM style linking and versioned rewriting of neighbouring notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphmem.evolution.engine import Evolver, Outcome
from graphmem.types import EvolutionEvent, Note


@dataclass
class Added:
    """What ``Memory.add`` did: the new note(s) and each evolution step's outcome."""

    doc_id: str
    notes: list[Note] = field(default_factory=list)
    evolution: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    superseded: list[EvolutionEvent] = field(default_factory=list)
    """Supersession events: older facts this memory's facts replaced (kept, with valid-to)."""


__all__ = ["Added", "Evolver", "Outcome"]
