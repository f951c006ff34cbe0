"""Facts that change over time: a newer fact about the same subject and relation
supersedes an older one with another object ("Bob works at Google", later "Bob works at
Microsoft").

The older fact is never deleted: it gets ``valid_to`` (the newer fact's event time) and
``superseded_by``, stays in ``graphmem facts`` as history, and the supersession is an
event that ``graphmem revert`` undoes. Searches use only facts valid at the time asked
(now, or ``as_of``) as seeds.

Who decides:

* offline, a conservative rule: the two relations belong to the same *single-valued*
  class (where someone lives, works, who they are married to, where an organisation is
  based...; ``RELATION_CLASSES``), the subject is the same entity, the objects differ, and
  the newer fact's event time is strictly later. "Bob likes tea" never supersedes "Bob
  likes coffee": liking is not single-valued;
* with an LLM, the model judges each pair of facts with the same subject and relation
  (any relation): does the newer one mean the older no longer holds? Its answer is kept
  in the event. An unusable answer supersedes nothing.

Memories may arrive out of order: a fact whose event time is *earlier* than a current
fact of the same class is itself closed by the later one.
"""

from __future__ import annotations

import logging
import re
import uuid

from graphmem.llm import prompts
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMError
from graphmem.store.base import Store
from graphmem.store.records import FactRow
from graphmem.types import EvolutionEvent

log = logging.getLogger(__name__)

RELATION_CLASSES: dict[str, frozenset[str]] = {
    "residence": frozenset({"lives in", "live in", "lived in", "living in", "resides in",
                            "resided in", "moved to", "relocated to", "lives at", "home in"}),
    "employer": frozenset({"works at", "works for", "work at", "work for", "worked at",
                           "worked for", "working at", "working for", "employed by",
                           "employed at", "job at"}),
    "spouse": frozenset({"married to", "wife of", "husband of", "spouse of"}),
    "partner": frozenset({"dating", "partner of", "girlfriend of", "boyfriend of"}),
    "head": frozenset({"ceo of", "president of", "head of", "leader of", "chair of"}),
    "seat": frozenset({"based in", "headquartered in", "located in", "headquarters in"}),
    "age": frozenset({"age", "aged", "years old"}),
}
"""Relations that hold one object at a time, by class (after :func:`relation_key`)."""

_AUX = re.compile(r"^(?:(?:is|was|are|were|has been|have been|had been|has|have|had|now|"
                  r"currently|still|being)\s+)+")


def relation_key(predicate: str) -> str:
    """A predicate without case, spacing and leading auxiliaries ("is now married to")."""
    return _AUX.sub("", " ".join(predicate.lower().split()))


def relation_class(predicate: str) -> str | None:
    key = relation_key(predicate)
    for name, members in RELATION_CLASSES.items():
        if key in members:
            return name
    return None


class Superseder:
    """Finds and records supersessions for newly written passages."""

    def __init__(self, store: Store, llm: LLMClient | None = None) -> None:
        self.store = store
        self.llm = llm

    def run(self, passage_ids: list[str]) -> list[EvolutionEvent]:
        """Check the facts these passages state against current facts; one event per
        passage that superseded something."""
        events = []
        for pid in passage_ids:
            new_facts = [f for f in self.store.time.passage_facts([pid])
                         if f.valid_to is None and f.valid_from]
            if not new_facts:
                continue
            current = self.store.time.current_facts({f.subject_id for f in new_facts})
            pairs: list[tuple[str, str]] = []
            decision: dict = {"policy": "llm" if self.llm else "offline", "judged": []}
            for new in new_facts:
                for old in current:
                    pair = self._candidate(old, new)
                    if pair and pair not in pairs and self._decide(pair, old, new, decision):
                        pairs.append(pair)
            if not decision["judged"]:
                continue  # nothing to judge: no event (an LLM's "no" is kept as one)
            decision["pairs"] = [list(p) for p in pairs]
            event = EvolutionEvent(f"ev:{uuid.uuid4().hex[:16]}", pid,
                                   self.llm.model if self.llm else "offline", decision,
                                   kind="supersede")
            self.store.time.supersede(pairs, event)
            log.info("passage %s: %d older fact(s) superseded (%s)", pid, len(pairs),
                     decision["policy"])
            events.append(event)
        return events

    def _candidate(self, old: FactRow, new: FactRow) -> tuple[str, str] | None:
        """(older, newer) if the two could supersede one another, else None."""
        if old.id == new.id or old.subject_id != new.subject_id or \
                old.object_id == new.object_id or not old.valid_from:
            return None
        if self.llm is None:
            cls = relation_class(new.predicate)
            if cls is None or relation_class(old.predicate) != cls:
                return None
        elif relation_key(old.predicate) != relation_key(new.predicate) and (
                relation_class(new.predicate) is None
                or relation_class(new.predicate) != relation_class(old.predicate)):
            return None
        if old.valid_from < new.valid_from:  # type: ignore[operator]
            return (old.id, new.id)
        if new.valid_from < old.valid_from:  # type: ignore[operator]
            return (new.id, old.id)  # an older memory arrived late
        return None

    def _decide(self, pair: tuple[str, str], a: FactRow, b: FactRow, decision: dict) -> bool:
        older, newer = (a, b) if pair[0] == a.id else (b, a)
        judged = {"older": older.text, "newer": newer.text}
        if self.llm is None:
            judged["rule"] = f"single-valued relation ({relation_class(newer.predicate)})"
            decision["judged"].append(judged)
            return True
        try:
            out = self.llm.chat_json("supersede", prompts.supersede_prompt(older.text,
                                                                            newer.text),
                                     prompts.SUPERSEDE_SCHEMA)
            replaced = out.get("replaced") is True
            judged["replaced"] = replaced
            judged["why"] = str(out.get("why", ""))[:300]
        except LLMError as exc:
            log.warning("supersession not judged (%s); both facts stay current", exc)
            judged["error"] = str(exc)[:300]
            replaced = False
        decision["judged"].append(judged)
        return replaced
