"""Shared pieces of the CLI: the --store option, clean errors, progress bars."""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from graphmem.config import Config, ConfigError
from graphmem.memory import Memory

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[Path | None, typer.Option(
    "--store", help="Memory directory (default: $GRAPHMEM_STORE or ./graphmem_data).")]


def open_memory(store: Path | None, **overrides: Any) -> Memory:
    config = Config.from_env(**{k: v for k, v in overrides.items() if v is not None},
                             **({"store": store} if store else {}))
    return Memory(config=config)


def _known_errors() -> tuple[type[BaseException], ...]:
    from graphmem.embeddings import EmbeddingError
    from graphmem.indexing.ingest import IngestError
    from graphmem.llm.errors import LLMError
    from graphmem.store.base import StoreError

    return (ConfigError, StoreError, IngestError, EmbeddingError, LLMError, KeyError,
            FileNotFoundError, sqlite3.DatabaseError)


def fail_cleanly(fn: F) -> F:
    """Turn expected failures into one readable line and exit code 1 (no stack trace)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _known_errors() as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            Console(stderr=True).print(f"[red]error:[/red] {msg}")
            raise typer.Exit(1) from None
    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bars(console: Console) -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``progress(stage, advance, total)`` callback drawing one rich bar per stage."""
    labels = {"index": "indexing passages", "extract": "extracting", "embed": "embedding"}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, advance: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            if advance:
                bar.advance(tasks[stage], advance)
        yield update
