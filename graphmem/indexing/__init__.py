"""Indexing room: reading, chunking, extraction (offline, LLM, imported), graph building."""

from __future__ import annotations

import logging

from graphmem.config import Config, ConfigError
from graphmem.indexing.extractor import Extractor, NoExtractor

log = logging.getLogger(__name__)


def make_extractor(config: Config, llm: object | None = None) -> Extractor:
    """The extractor the config asks for; ``auto`` is the LLM if configured, else offline."""
    choice = config.extractor
    if choice == "none":
        return NoExtractor()
    if choice == "llm" or (choice == "auto" and config.llm_configured):
        if not config.llm_configured:
            raise ConfigError("extractor='llm' needs an LLM endpoint: set GRAPHMEM_LLM_MODEL and "
                              "GRAPHMEM_LLM_BASE_URL (or OPENAI_API_KEY)")
        from graphmem.indexing.llm_openie import LLMExtractor
        from graphmem.llm.client import LLMClient

        client = llm if isinstance(llm, LLMClient) else LLMClient.from_config(config)
        return LLMExtractor(client)
    if choice == "auto":
        log.info("no LLM configured: extracting entities and triples with the offline "
                 "spaCy extractor")
    from graphmem.indexing.offline import OfflineExtractor

    return OfflineExtractor(config.spacy_model)


__all__ = ["Extractor", "NoExtractor", "make_extractor"]
