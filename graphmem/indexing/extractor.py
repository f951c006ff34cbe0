"""The extractor interface: passages in, :class:`Extraction` objects out.

Why one small protocol: the graph builder must not care whether spaCy, an LLM, or a
file of someone else's OpenIE output produced the entities and triples. Every extractor
returns normalised phrases and well-formed triples, and says in ``problems`` what it
dropped, so malformed output is counted instead of crashing a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from graphmem.indexing.normalize import normalize_phrase, normalize_predicate
from graphmem.types import Extraction, Passage, Triple

ProgressFn = Callable[[int], None]


class Extractor(Protocol):
    """Finds entities, triples and note attributes in passages."""

    name: str

    def extract(self, passages: list[Passage],
                progress: ProgressFn | None = None) -> list[Extraction]:
        """One Extraction per passage, in order. ``progress(n)`` reports n more done."""
        ...


class NoExtractor:
    """Embeds and stores passages without building entities or triples (dense only)."""

    name = "none"

    def extract(self, passages: list[Passage],
                progress: ProgressFn | None = None) -> list[Extraction]:
        if progress:
            progress(len(passages))
        return [Extraction(passage_id=p.id, extractor=self.name) for p in passages]


def clean_triples(raw: Iterable[object], problems: list[str]) -> list[Triple]:
    """Keep well-formed (subject, relation, object) triples; describe every one dropped.

    Accepts lists/tuples of three strings; anything else (wrong arity, empty or
    non-string parts, subject equal to object) is reported in ``problems``.
    """
    out: dict[str, Triple] = {}
    for item in raw:
        if not isinstance(item, list | tuple):
            problems.append(f"triple is not a list: {str(item)[:80]!r}")
            continue
        if len(item) != 3:
            problems.append(f"triple has {len(item)} parts, not 3: {str(item)[:80]!r}")
            continue
        if not all(isinstance(x, str) for x in item):
            problems.append(f"triple has a non-string part: {str(item)[:80]!r}")
            continue
        s, p, o = normalize_phrase(item[0]), normalize_predicate(item[1]), normalize_phrase(item[2])
        if not s or not p or not o:
            problems.append(f"triple has an empty part after normalisation: {str(item)[:80]!r}")
            continue
        if s == o:
            problems.append(f"triple relates a phrase to itself: {str(item)[:80]!r}")
            continue
        t = Triple(s, p, o)
        out.setdefault(t.id, t)
    return list(out.values())


def clean_entities(raw: Iterable[object], problems: list[str]) -> list[str]:
    """Normalise entity strings, dropping (and reporting) non-strings and empties."""
    out: dict[str, None] = {}
    for item in raw:
        if not isinstance(item, str):
            problems.append(f"entity is not a string: {str(item)[:80]!r}")
            continue
        name = normalize_phrase(item)
        if not name:
            problems.append(f"entity is empty after normalisation: {item[:80]!r}")
            continue
        out[name] = None
    return list(out)
