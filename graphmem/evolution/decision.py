"""Evolution decisions: what to link and rewrite, asked of an LLM or made offline.

Why aliases: a model shown real note IDs (or list positions) mangles them, and A-MEM's
library applied rewrites by list position to the first notes ever stored (its issue
#32) and stored links as "0", "1" (#11). Here the model sees the neighbours as N1, N2, …;
every alias it returns is mapped back through the table it was shown, and a decision
with an unknown alias, a repeated one, a list of the wrong length or shape, or no JSON
at all is rejected whole. Nothing half-applied ever reaches the store.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from graphmem.llm.client import LLMClient
from graphmem.llm.prompts import DATA_RULE, fence
from graphmem.text import cut_words
from graphmem.types import Note

log = logging.getLogger(__name__)

MAX_TAGS = 8
MAX_CONTEXT = 300


class DecisionError(ValueError):
    """The decision does not fit what was shown; it is rejected as a whole."""


@dataclass
class NeighborUpdate:
    note_id: str
    context: str
    tags: list[str]


@dataclass
class Decision:
    """A validated decision, in real note IDs."""

    links: list[str] = field(default_factory=list)
    sequence: list[str] = field(default_factory=list)
    """The memories stored just before this one (linked whatever the policy decides)."""
    new_tags: list[str] | None = None
    updates: list[NeighborUpdate] = field(default_factory=list)
    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (not self.links and not self.sequence and self.new_tags is None
                and not self.updates)


DECISION_SCHEMA = {
    "type": "object",
    "properties": {
        "should_evolve": {"type": "boolean"},
        "links": {"type": "array", "items": {"type": "string"}},
        "new_note_tags": {"type": "array", "items": {"type": "string"}},
        "neighbor_updates": {"type": "array", "items": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "context": {"type": "string"},
                           "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["id", "context", "tags"]}},
        "reason": {"type": "string"},
    },
    "required": ["should_evolve"],
}


def _describe(note: Note) -> dict[str, Any]:
    return {"content": cut_words(note.content, 600), "keywords": note.keywords, "tags": note.tags,
            "context": note.context}


def decision_prompt(new: Note, neighbors: dict[str, Note]) -> list[dict[str, str]]:
    shown = {alias: _describe(n) for alias, n in neighbors.items()}
    return [{"role": "system", "content": (
        "You maintain a Zettelkasten of memory notes. When a new note arrives you decide "
        "whether it should be linked to related notes and whether those notes' context "
        "and tags should be updated in the light of it. A rewrite keeps what a note says "
        "and may only add what the new note tells about the same subject. You answer with "
        "one JSON object and nothing else. " + DATA_RULE)},
        {"role": "user", "content": (
            f"New note:\n{fence(json.dumps(_describe(new), ensure_ascii=False))}\n\n"
            "Nearest existing notes:\n"
            f"{fence(json.dumps(shown, ensure_ascii=False, indent=1))}\n\n"
            "Return a JSON object with:\n"
            '- "should_evolve": true or false;\n'
            '- "links": the ids (such as "N1") of the existing notes the new note should be '
            "linked to;\n"
            '- "new_note_tags": improved tags for the new note (or omit);\n'
            '- "neighbor_updates": for each existing note whose context or tags should '
            'change, {"id": "N…", "context": "one sentence", "tags": ["…"]};\n'
            '- "reason": one sentence explaining the decision.\n'
            f"Only use these ids: {', '.join(neighbors)}.")}]


def _clean_tags(tags: Any, where: str) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise DecisionError(f"{where}: tags must be a list of strings")
    if len(tags) > MAX_TAGS:
        raise DecisionError(f"{where}: {len(tags)} tags, at most {MAX_TAGS} allowed")
    out = list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))
    return out


def validate_decision(raw: dict[str, Any], aliases: dict[str, str]) -> Decision:
    """Map aliases to note IDs and check every list; DecisionError on anything off."""
    def resolve(alias: Any, where: str) -> str:
        key = alias.strip().upper() if isinstance(alias, str) else None
        if key not in aliases:
            raise DecisionError(f"{where}: unknown note id {alias!r} (shown: "
                                f"{', '.join(aliases)})")
        return aliases[key]

    d = Decision(reason=str(raw.get("reason", ""))[:MAX_CONTEXT], raw=raw)
    if not raw.get("should_evolve", False):
        return d
    links = [resolve(a, "links") for a in raw.get("links", [])]
    if len(links) > len(aliases) or len(set(links)) != len(links):
        raise DecisionError(f"links: {len(links)} entries for {len(aliases)} notes shown, or "
                            "the same note named twice")
    d.links = links
    if "new_note_tags" in raw:
        d.new_tags = _clean_tags(raw["new_note_tags"], "new_note_tags")
    updates = raw.get("neighbor_updates", [])
    if len(updates) > len(aliases):
        raise DecisionError(f"neighbor_updates: {len(updates)} entries for {len(aliases)} "
                            "notes shown")
    seen: set[str] = set()
    for i, up in enumerate(updates):
        note_id = resolve(up.get("id"), f"neighbor_updates[{i}].id")
        if note_id in seen:
            raise DecisionError(f"neighbor_updates: note {up.get('id')} updated twice")
        seen.add(note_id)
        context = up.get("context", "").strip()
        if not context or len(context) > MAX_CONTEXT:
            raise DecisionError(f"neighbor_updates[{i}].context must be 1-{MAX_CONTEXT} chars")
        d.updates.append(NeighborUpdate(note_id, context,
                                        _clean_tags(up.get("tags"), f"neighbor_updates[{i}]")))
    return d


def llm_decision(client: LLMClient, new: Note, neighbors: list[Note]) -> Decision:
    """Ask the model; LLMOutputError (no JSON) or DecisionError (does not fit) if unusable."""
    aliases = {f"N{i}": n.id for i, n in enumerate(neighbors, start=1)}
    shown = {alias: n for alias, n in zip(aliases, neighbors, strict=True)}
    raw = client.chat_json("evolution", decision_prompt(new, shown), DECISION_SCHEMA,
                           refs=[new.id, *(n.id for n in neighbors)])
    return validate_decision(raw, aliases)


def offline_decision(new: Note, neighbors: list[tuple[Note, float]],
                     threshold: float | None) -> Decision:
    """The clearly-labelled offline policy: optionally link close neighbours and share
    keywords as tags (the sequence links are added by the engine for every policy).

    With a ``threshold``, every neighbour at least that similar is linked and gains as
    tags the new note's keywords that it also mentions (in its text or keywords). Without
    one (the default) there are no similarity links: on LoCoMo they spread the walk over
    small talk and lowered recall. No context is rewritten: that needs a model that can
    read.
    """
    d = Decision(reason=f"offline policy: similarity >= {threshold}" if threshold is not None
                 else "offline policy")
    if threshold is None:
        return d
    new_kw = [k for k in new.keywords if k]
    for note, score in neighbors:
        if score < threshold:
            continue
        d.links.append(note.id)
        text = (note.content + " " + " ".join(note.keywords)).lower()
        shared = [k for k in new_kw if k in text and k not in note.tags]
        if shared:
            tags = (note.tags + shared)[:MAX_TAGS]
            d.updates.append(NeighborUpdate(note.id, note.context, tags))
    return d
