"""Phrase normalisation: the one rule that decides when two mentions are the same entity.

Why this rule: entity nodes are keyed by their normalised phrase, so "The Beatles",
"the beatles" and "Beatles" must land on one node while "Göttingen" must keep its
letters (HippoRAG's ASCII-only rule drops them). Apostrophes vanish rather than split
words ("McDonald's" -> "mcdonalds"); other punctuation becomes a space; a leading
article is dropped; whitespace collapses.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NON_WORD = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_ARTICLES = ("the ", "a ", "an ")
MAX_PHRASE_CHARS = 200


def normalize_phrase(text: str) -> str:
    """Lower-case, strip punctuation and a leading article; '' if nothing is left.

    >>> normalize_phrase("The Beatles")
    'beatles'
    >>> normalize_phrase("  University of Göttingen, ")
    'university of göttingen'
    >>> normalize_phrase("McDonald's")
    'mcdonalds'
    """
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _APOSTROPHES.sub("", s)
    s = _NON_WORD.sub(" ", s)
    s = _SPACES.sub(" ", s).strip()
    for art in _ARTICLES:
        if s.startswith(art) and len(s) > len(art):
            s = s[len(art):]
            break
    if len(s) > MAX_PHRASE_CHARS:
        return ""
    return s


def normalize_predicate(text: str) -> str:
    """Predicates keep their words but lose case and stray punctuation."""
    if not isinstance(text, str):
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _APOSTROPHES.sub("", s)
    s = _NON_WORD.sub(" ", s)
    return _SPACES.sub(" ", s).strip()[:MAX_PHRASE_CHARS]
