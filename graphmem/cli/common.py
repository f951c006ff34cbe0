"""Shared pieces of the CLI: the --store option, safe printing, clean errors, progress bars.

Why "safe printing": rich reads ``[...]`` as markup, so a title such as ``[/]`` crashed
the CLI and ``[citation needed]`` vanished. Every string that comes from the user or a
model is printed through :func:`text` (a ``rich.text.Text``, never parsed as markup) or
escaped; model answers are printed as plain text with no highlighting, and cut with a
note when long. Heavy modules (numpy, the store, the model) are imported only inside
commands, so ``graphmem --help`` starts fast.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from graphmem.memory import Memory

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)

StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="Memory location: a directory, or bolt:// / neo4j:// URI (default: "
                    "$GRAPHMEM_STORE or ./graphmem_data).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a "
                                                        "table (stable field names).")]
RecipeOpt = Annotated[str | None, typer.Option(
    "--recipe", help="Retrieval recipe: hybrid | hipporag2 | dense (default from config).")]
NamespaceOpt = Annotated[str, typer.Option(
    "--namespace", "-n", help="Whose memory (e.g. user:ana); default the shared namespace; "
                              "'*' searches every namespace.")]

MAX_MODEL_TEXT = 4000
"""Model-written text longer than this is cut when printed (with a note)."""


def text(value: object, style: str | None = None) -> Text:
    """A user- or model-provided string as rich Text: shown verbatim, never as markup."""
    return Text(str(value), style=style or "")


def plain(value: object) -> str:
    """Escape a string for use inside a markup template."""
    return escape(str(value))


def model_text(value: str, limit: int = MAX_MODEL_TEXT) -> str:
    """Model output as plain text, cut with a note when long."""
    if len(value) <= limit:
        return value
    return value[:limit] + f"\n... [{len(value) - limit:,} more characters not shown]"


def print_plain(value: str, style: str | None = None) -> None:
    """Print verbatim: no markup, no highlighting (fast on huge strings too)."""
    console.print(Text(value, style=style or ""), markup=False, highlight=False,
                  soft_wrap=True)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout (no colours, no wrapping)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")
    sys.stdout.flush()


def open_memory(store: str | None, create: bool = False, **overrides: Any) -> Memory:
    """The memory at ``store``. Read commands pass ``create=False``: a path with no memory
    is an error that says so, and nothing is created there."""
    from graphmem.config import Config
    from graphmem.memory import Memory

    config = Config.from_env(**{k: v for k, v in overrides.items() if v is not None},
                             **({"store": store} if store else {}))
    return Memory(config=config, create=create)


def _known_errors() -> tuple[type[BaseException], ...]:
    from graphmem.config import ConfigError
    from graphmem.embeddings import EmbeddingError
    from graphmem.errors import InputError
    from graphmem.indexing.ingest import IngestError
    from graphmem.llm.errors import LLMError
    from graphmem.store.base import NotFound, StoreError

    return (ConfigError, StoreError, NotFound, IngestError, EmbeddingError, LLMError,
            InputError, FileNotFoundError, PermissionError)


def fail_cleanly(fn: F) -> F:
    """Turn expected failures into one readable line and exit code 1 (no stack trace)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except _known_errors() as exc:
            err_console.print(Text("error: ", style="red") + text(str(exc)))
            raise typer.Exit(1) from None
    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``progress(stage, advance, total)`` callback drawing one rich bar per stage."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    labels = {"index": "indexing passages", "extract": "extracting", "embed": "embedding",
              "evolve": "evolving notes", "read": "reading"}
    if not enabled:
        yield lambda stage, advance, total: None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, advance: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            if advance:
                bar.advance(tasks[stage], advance)
        yield update
