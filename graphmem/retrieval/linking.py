"""Linking a query to entity nodes: the spans that name things, matched by embedding.

Why spans and not every word: a walk seeded from "state" or "name" wanders off into hubs.
Capitalised spans ("Hello Love", "Journal of Psychotherapy Integration"), quoted titles
and years are what multi-hop questions hang on; each is embedded and linked to its
nearest entity node if the cosine clears a threshold (so "Aschenbrodel" finds
"aschenbrödel"). A regular expression finds them in microseconds, where a spaCy parse
of the query would cost ~6 ms and linked no better on MuSiQue (R@5 75.1 vs 74.8).
For queries written without capitals, multi-word entity names found verbatim in the
query are used instead.
"""

from __future__ import annotations

import re

from graphmem.indexing.normalize import normalize_phrase

_CONNECT = r"(?:of|the|de|del|der|du|la|le|von|van|and|for|in|on|&)"
_CAPITAL_SPAN = re.compile(
    rf"\b([A-Z][\w'’\-.]*(?:\s+(?:{_CONNECT}\s+)*[A-Z0-9][\w'’\-.]*)*)")
_QUOTED = re.compile(r"[\"“”']([^\"“”']{3,80})[\"“”']")
_POSSESSIVE = re.compile(r"['’]s\b")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_QUESTION_WORDS = {"what", "who", "whom", "whose", "which", "when", "where", "how", "why",
                   "in", "the", "a", "an", "is", "was", "are", "were", "did", "does", "do",
                   "name", "tell", "list", "give", "i", "and", "of"}
MAX_NGRAM = 6


def query_spans(query: str) -> list[str]:
    """Normalised spans of the query that probably name entities, in order, no repeats."""
    found: list[str] = []
    for m in _QUOTED.finditer(query):
        found.append(m.group(1))
    for m in _CAPITAL_SPAN.finditer(query):
        words = m.group(1).split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        while words and words[-1].lower() in _QUESTION_WORDS:
            words = words[:-1]
        if words:
            found.append(" ".join(words))
    found.extend(_YEAR.findall(query))
    spans = (normalize_phrase(_POSSESSIVE.sub("", s)) for s in found)
    return list(dict.fromkeys(s for s in spans if s))


def verbatim_names(query: str, names: dict[str, int], max_n: int = MAX_NGRAM) -> list[str]:
    """Multi-word entity names that occur word for word in the (normalised) query."""
    toks = normalize_phrase(query).split()
    hits: list[str] = []
    for n in range(min(max_n, len(toks)), 1, -1):
        for i in range(len(toks) - n + 1):
            phrase = " ".join(toks[i:i + n])
            if phrase in names and not any(phrase in h for h in hits):
                hits.append(phrase)
    return hits
