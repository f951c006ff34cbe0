"""The JSON shapes graphmem hands out: one definition for the CLI's ``--json``, the REST
API and the MCP tools, so a field is named the same everywhere (documented in the README).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def hit(h: Any) -> dict[str, Any]:
    """One search hit: its passage, scores, documents and why it was found."""
    return {"rank": h.rank, "passage_id": h.passage_id, "title": h.title, "text": h.text,
            "score": h.score, "dense_score": h.dense_score, "doc_ids": h.doc_ids,
            "times": list(h.times),
            "why": {"method": h.why.method, "time": h.why.time,
                    "seed_facts": [{"fact": f, "score": s} for f, s in h.why.seed_facts],
                    "seed_entities": [{"entity": e, "weight": s}
                                      for e, s in h.why.seed_entities],
                    "path": h.why.path}}


def answer(ans: Any) -> dict[str, Any]:
    return {"question": ans.question, "answer": ans.answer, "message": ans.message,
            "reasoning": ans.reasoning, "llm_used": ans.llm_used, "trace": ans.trace,
            "cited": [hit(h) for h in ans.cited], "evidence": [hit(h) for h in ans.evidence],
            "rejected": list(getattr(ans, "rejected", []))}


def added(a: Any) -> dict[str, Any]:
    """What ``add`` did: the note(s), and for each evolution step what it linked, rewrote
    or rejected (and why)."""
    return {"doc_id": a.doc_id,
            "notes": [dataclasses.asdict(n) for n in a.notes],
            "evolution": [{"note_id": o.note_id, "policy": o.policy,
                           "neighbors": [{"note_id": n, "score": s} for n, s in o.neighbors],
                           "event_id": o.event.id if o.event else None,
                           "linked": o.event.decision["links"] if o.event else [],
                           "rewrote": o.event.decision["rewrote"] if o.event else [],
                           "rejected": (o.event.decision.get("rejected", []) if o.event
                                        else ([o.rejected] if o.rejected else [])),
                           "guarded": o.guarded}
                          for o in a.evolution],
            "superseded": [{"event_id": e.id, "facts": e.decision.get("judged", []),
                            "pairs": e.decision.get("pairs", [])} for e in a.superseded],
            "skipped": a.skipped}


def plain(obj: Any) -> Any:
    """A dataclass (or a list of them) as plain JSON values."""
    if isinstance(obj, list):
        return [plain(x) for x in obj]
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
