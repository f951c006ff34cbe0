"""Commands that put a memory behind a server: ``graphmem serve`` (REST) and
``graphmem mcp`` (Model Context Protocol)."""

from __future__ import annotations

from typing import Annotated

import typer

from graphmem.cli import app
from graphmem.cli.common import StoreOpt, err_console, fail_cleanly, open_memory, text

HostOpt = Annotated[str, typer.Option(
    help="Address to listen on; anything but loopback needs GRAPHMEM_API_TOKEN.")]


@app.command()
@fail_cleanly
def serve(store: StoreOpt = None, host: HostOpt = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8000) -> None:
    """Serve the memory as a REST API (JSON over HTTP, OpenAPI at /openapi.json)."""
    from graphmem.server.auth import check_bind
    from graphmem.server.rest import serve as run

    mem = open_memory(store, create=True)
    check_bind(host, mem.config.api_token)
    mem.retriever.graph()  # load the model and the graph before the first request
    rule = "required" if mem.config.api_token else "not set: loopback only"
    err_console.print(text(f"graphmem REST API for {mem.store.location} on "
                           f"http://{host}:{port} (token {rule})"))
    run(mem, host, port, mem.config.api_token, mem.config.max_request_bytes)


@app.command()
@fail_cleanly
def mcp(store: StoreOpt = None,
        transport: Annotated[str, typer.Option(help="stdio | http")] = "stdio",
        host: HostOpt = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port (with --transport http).")] = 8765
        ) -> None:
    """Serve the memory over the Model Context Protocol (stdio, or streamable HTTP at /mcp)."""
    from graphmem.server.auth import check_bind
    from graphmem.server.mcp import run

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("--transport must be stdio or http")
    mem = open_memory(store, create=True)
    if transport == "http":
        check_bind(host, mem.config.api_token)
        err_console.print(text(f"graphmem MCP server for {mem.store.location} on "
                               f"http://{host}:{port}/mcp"))
    run(mem, "stdio" if transport == "stdio" else "streamable-http", host, port,
        mem.config.api_token, mem.config.max_request_bytes)
