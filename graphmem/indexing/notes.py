"""Default note attributes when an extractor gave none (imported OpenIE, no extractor).

Why a fallback at all: every passage is a note, and evolution and retrieval read its
keywords, tags and context. This heuristic uses only what the extraction already has:
keywords are the entities ranked by how often they take part in facts, tags are their
types, and the context is the first sentence that names the top keyword.
"""

from __future__ import annotations

import re
from collections import Counter

from graphmem.text import cut_words
from graphmem.types import Extraction, Note, NoteAttrs, Passage

_SENT = re.compile(r"(?<=[.!?])\s+")


def fallback_attrs(passage: Passage, ex: Extraction) -> NoteAttrs:
    score: Counter[str] = Counter({e: 0 for e in ex.entities})
    for t in ex.triples:
        score[t.subject] += 1
        score[t.object] += 1
    keywords = [name for name, _ in score.most_common(8)]
    tags = sorted({ex.entity_types[k].lower() for k in keywords if ex.entity_types.get(k)})
    sentences = [s.strip() for s in _SENT.split(passage.text) if s.strip()]
    context = sentences[0] if sentences else ""
    if keywords:
        top = keywords[0]
        context = next((s for s in sentences if top in s.lower()), context)
    return NoteAttrs(keywords=keywords, tags=tags, context=cut_words(context, 240, ""))


def note_for(passage: Passage, ex: Extraction, metadata: dict | None = None) -> Note:
    attrs = ex.note or fallback_attrs(passage, ex)
    return Note(id=passage.id, content=passage.text, title=passage.title,
                timestamp=passage.timestamp, keywords=list(attrs.keywords),
                tags=list(attrs.tags), context=attrs.context, metadata=dict(metadata or {}))
