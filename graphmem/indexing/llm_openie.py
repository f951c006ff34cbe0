"""LLM extraction (OpenIE in two steps, HippoRAG style) producing the offline shapes.

Why two steps: asking first for the named entities (with the note's keywords, tags and
context in the same call) and then for triples *conditioned on those entities* keeps
the triples anchored on the phrases that become graph nodes, and lets the second prompt
ask for pronouns to be resolved to them. The output is exactly an :class:`Extraction`,
so the graph builder cannot tell this extractor from the offline one. A malformed answer
(no JSON, wrong shapes, too big) marks the passage as failed (``failed``): it is stored,
its failure recorded, and the next run extracts it again; malformed single items (a
triple of the wrong arity) are dropped and described in ``problems``. Only an
unreachable endpoint stops the run.
"""

from __future__ import annotations

import logging

from graphmem.indexing.extractor import ProgressFn, clean_entities, clean_triples
from graphmem.llm import prompts
from graphmem.llm.client import LLMClient
from graphmem.llm.errors import LLMError, LLMUnavailable
from graphmem.text import cut_words
from graphmem.types import Extraction, NoteAttrs, Passage

log = logging.getLogger(__name__)


class LLMExtractor:
    """Entities, note attributes and triples from an OpenAI-compatible model."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.name = f"llm:{client.model}"

    def extract(self, passages: list[Passage],
                progress: ProgressFn | None = None) -> list[Extraction]:
        def one(p: Passage) -> Extraction:
            ex = self.extract_one(p)
            if progress:
                progress(1)
            return ex
        return self.client.map(one, passages)

    def extract_one(self, passage: Passage) -> Extraction:
        ex = Extraction(passage_id=passage.id, extractor=self.name)
        text = passage.embed_text
        refs = [passage.id]
        try:
            first = self.client.chat_json("ner", prompts.entities_prompt(text),
                                          prompts.ENTITIES_SCHEMA, refs=refs)
        except LLMUnavailable:
            raise
        except LLMError as exc:
            ex.failed = f"entity extraction failed: {exc}"
            return ex
        raw_entities = first.get("entities", [])
        ex.entities = clean_entities(raw_entities, ex.problems)
        ex.note = NoteAttrs(
            keywords=clean_entities(first.get("keywords", []), ex.problems)[:8],
            tags=clean_entities(first.get("tags", []), ex.problems)[:5],
            context=cut_words(str(first.get("context", "")).strip(), 300, ""))
        if not ex.entities:
            return ex
        surface = [e for e in raw_entities if isinstance(e, str)]
        try:
            second = self.client.chat_json("triples", prompts.triples_prompt(text, surface),
                                           prompts.TRIPLES_SCHEMA, refs=refs)
        except LLMUnavailable:
            raise
        except LLMError as exc:
            ex.failed = f"triple extraction failed: {exc}"
            return ex
        ex.triples = clean_triples(second.get("triples", []), ex.problems)
        return ex
