"""graphmem: long-term associative memory for LLM applications.

Text becomes a knowledge graph of passages (which are also Zettelkasten notes),
entities and facts; questions are answered by walking it with Personalized PageRank.

>>> from graphmem import Memory          # doctest: +SKIP
>>> mem = Memory("my_memory")            # doctest: +SKIP
"""

from graphmem.config import Config, ConfigError
from graphmem.memory import Memory
from graphmem.types import Document, Explanation, Hit, IndexReport, Note, Passage, Triple

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "Document", "Explanation", "Hit", "IndexReport", "Memory",
           "Note", "Passage", "Triple", "__version__"]
