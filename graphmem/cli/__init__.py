"""The ``graphmem`` command line: a thin typer layer over :class:`graphmem.Memory`.

Why thin: every command is one call into the Python API plus presentation (rich tables,
progress bars, or ``--json`` on stdout), so the CLI, the servers and notebooks can never
disagree. Commands live in small modules by what they do; heavy imports happen inside
commands, so ``graphmem --help`` answers at once.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

app = typer.Typer(help="graphmem: a long-term associative memory (knowledge graph + "
                       "Personalized PageRank) for LLM applications.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                                help="Log progress details.")] = False) -> None:
    from rich.logging import RichHandler

    from graphmem.cli.common import err_console

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False,
                                              markup=False)])
    # the driver logs every retried transaction; conflicts between writers are expected
    logging.getLogger("neo4j").setLevel(logging.INFO if verbose else logging.ERROR)


def _register() -> None:
    from graphmem.cli import admin, data, evals, inspect, query, serve  # noqa: F401


_register()


def main() -> None:
    app()
