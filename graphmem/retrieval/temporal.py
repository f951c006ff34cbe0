"""Time in searches: hard windows the caller sets, soft boosts from the question itself.

* ``as_of`` / ``since`` / ``until`` (Python, CLI, REST, MCP) are *filters*: only memories
  whose event time falls in the window are ranked, and with ``as_of`` only facts valid
  then seed the walk (without it, only facts nothing has superseded).
* A time the question names ("in June", "last week", "before 2022", "before the move")
  is a *boost*, not a filter: questions are loose about time ("in June" may be answered
  by a memory from early July saying "last month"), so memories inside the window move
  up the ranking rather than everything else being dropped. Relative times resolve
  against the memory's newest event time (or ``as_of``): a memory of 2023 conversations
  asked about "last week" means the last week of those conversations, not of today.
* A "when" question ("When did Caroline go to the support group?") is answered by the
  memory that *places* the event in time ("I went ... yesterday"): memories that mention
  a time move up too. Measured on LoCoMo in ``graphmem eval memory`` (per category).

Boosts are by rank, not by score, so they behave the same for dense cosine scores and
PPR masses: a candidate that matches gets its rank divided by ``1 + time_boost`` per
match (with the default 1.0, a match at rank 10 competes with rank 5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from graphmem.errors import InputError
from graphmem.retrieval.recipes import DENSE
from graphmem.retrieval.retriever import Retriever, Scope
from graphmem.store.base import Store
from graphmem.types import Hit
from graphmem.when import Window, asks_when, bound, from_iso, mentions_time, question_window

CANDIDATES = 40
"""How many candidates a time-aware search re-ranks (at least 4 x k)."""
LOCATE_MIN_SCORE = 0.4
"""Cosine a memory needs to stand for the event a question refers to ("before the move")."""


@dataclass(frozen=True)
class TimeFilter:
    """A search's hard time window, as stored-time strings (see :mod:`graphmem.when`)."""

    since: str | None = None
    until: str | None = None
    as_of: str | None = None

    @classmethod
    def of(cls, as_of: object = None, since: object = None,
           until: object = None) -> TimeFilter | None:
        tf = cls(bound(since, "since", end=False), bound(until, "until", end=True),
                 bound(as_of, "as_of", end=True))
        if tf.since and tf.end and tf.since >= tf.end:
            raise InputError(f"empty time window: since {tf.since} is not before {tf.end}")
        return tf if (tf.since or tf.until or tf.as_of) else None

    @property
    def end(self) -> str | None:
        ends = [t for t in (self.until, self.as_of) if t]
        return min(ends) if ends else None


@dataclass(frozen=True)
class TimePlan:
    """What one question says about time."""

    window: Window | None
    asks_when: bool

    @property
    def active(self) -> bool:
        return self.window is not None or self.asks_when


_EVENT_REF = re.compile(r"\b(before|after|since)\s+(?:the\s+|my\s+|her\s+|his\s+|their\s+|"
                        r"our\s+|your\s+)(?P<phrase>[a-z][\w' -]{2,40}?)\s*(?=[?.,!;]|$)", re.I)


def might_name_time(question: str) -> bool:
    """Cheap test before anything is looked up: could the question involve time?"""
    return asks_when(question) or mentions_time(question) or bool(_EVENT_REF.search(question))


def plan(question: str, anchor: datetime | None,
         locate: Callable[[str], datetime | None] | None = None) -> TimePlan:
    """The question's window (resolved against ``anchor``) and whether it asks "when".

    ``locate`` finds when an event the question refers to happened ("before the move":
    the event time of the memory that best matches "the move")."""
    window = question_window(question, anchor) if anchor is not None else None
    if window is None and locate is not None:
        m = _EVENT_REF.search(question)
        if m:
            t = locate(m.group("phrase"))
            if t is not None:
                label = m.group(0).strip()
                window = (Window(None, t, label) if m.group(1).lower() == "before"
                          else Window(t, None, label))
    return TimePlan(window, asks_when(question))


def plans(queries: list[str], store: Store, retriever: Retriever, namespace: str | None,
          tf: TimeFilter | None, boost: float) -> list[TimePlan]:
    """What each query says about time (nothing is looked up unless one might name one)."""
    idle = TimePlan(None, False)
    if boost <= 0 or not any(map(might_name_time, queries)):
        return [idle] * len(queries)
    anchor = (tf.as_of if tf and tf.as_of else None) or store.time.latest_event(namespace)
    at = from_iso(anchor) if anchor else None

    def locate(phrase: str) -> datetime | None:
        """When the memory best matching ``phrase`` happened (if one matches well)."""
        best = retriever.search_many([phrase], 1, DENSE, False, scope=Scope(namespace))[0]
        if not best or best[0].score < LOCATE_MIN_SCORE:
            return None
        times = store.time.passage_times([best[0].passage_id])
        return from_iso(times[best[0].passage_id][0]) if times else None

    return [plan(q, at, locate) if might_name_time(q) else idle for q in queries]


def rerank(hits: list[Hit], p: TimePlan, times: dict[str, list[str]], boost: float,
           k: int) -> list[Hit]:
    """Move memories in the question's window, and (for "when" questions) memories that
    say when, up the ranking; keep the best ``k``."""
    if not p.active or boost <= 0:
        return hits[:k]
    keyed = []
    for i, h in enumerate(hits):
        why = []
        if p.window is not None and any(p.window.contains(from_iso(t))
                                        for t in times.get(h.passage_id, [])):
            why.append(f"in the question's time ({p.window.label})")
        if p.asks_when and mentions_time(h.text):
            why.append("says when")
        keyed.append(((i + 1) / (1.0 + boost) ** len(why), -len(why), i, h, why))
    keyed.sort(key=lambda x: x[:3])  # on a tie, the one that matches the time goes first
    out = []
    for *_, h, why in keyed[:k]:
        if why:
            h = replace(h, why=replace(h.why, time="; ".join(why)))
        out.append(replace(h, rank=len(out) + 1))
    return out
