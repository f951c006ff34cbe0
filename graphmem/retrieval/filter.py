"""HippoRAG 2's recognition filter: the LLM keeps the candidate facts that bear on a query.

Why exact matching back: a model asked to copy facts sometimes paraphrases or invents
them. A returned fact counts only if it equals one of the candidates after trivial
normalisation (case, spacing); anything else is rejected and logged. There is no fuzzy
"closest candidate" step that would turn any output into some fact.
"""

from __future__ import annotations

import logging

from graphmem.llm import prompts
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMOutputError

log = logging.getLogger(__name__)


def _key(parts: object) -> tuple[str, ...] | None:
    if not isinstance(parts, list | tuple) or len(parts) != 3:
        return None
    if not all(isinstance(p, str) for p in parts):
        return None
    return tuple(" ".join(p.lower().split()) for p in parts)


class FactFilter:
    """Calls the LLM once per query with the top candidate facts."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client

    def __call__(self, question: str, facts: list[tuple[str, str, str]],
                 refs: list[str] | None = None) -> list[int]:
        """Indices of the candidates the model kept (all of them if its answer is unusable)."""
        if not facts:
            return []
        try:
            out = self.client.chat_json("filter", prompts.filter_prompt(question, facts),
                                        prompts.FILTER_SCHEMA, refs=refs or [])
        except LLMOutputError as exc:
            log.warning("fact filter answer unusable (%s); keeping all candidate facts", exc)
            return list(range(len(facts)))
        index = {_key(f): i for i, f in enumerate(facts)}
        kept: list[int] = []
        rejected = 0
        for item in out.get("facts", []):
            i = index.get(_key(item))
            if i is None:
                rejected += 1
            elif i not in kept:
                kept.append(i)
        if rejected:
            log.info("fact filter: %d returned fact(s) matched no candidate and were dropped",
                     rejected)
        return kept
