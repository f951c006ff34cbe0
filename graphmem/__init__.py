"""graphmem: long-term associative memory for LLM applications.

Text becomes a knowledge graph of passages (which are also Zettelkasten notes),
entities and facts; questions are answered by walking it with Personalized PageRank.

>>> from graphmem import Memory          # doctest: +SKIP
>>> mem = Memory("my_memory")            # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphmem.config import Config, ConfigError
from graphmem.types import Document, Explanation, Hit, IndexReport, Note, Passage, Triple

if TYPE_CHECKING:
    from graphmem.memory import Memory

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``Memory`` is imported on first use: it pulls numba, numpy and the stores, which a
    process that only parses ``graphmem --help`` (or imports ``graphmem.config``) must not
    pay for."""
    if name == "Memory":
        from graphmem.memory import Memory

        return Memory
    raise AttributeError(f"module 'graphmem' has no attribute {name!r}")
__all__ = ["Config", "ConfigError", "Document", "Explanation", "Hit", "IndexReport", "Memory",
           "Note", "Passage", "Triple", "__version__"]
