"""The memory as a Model Context Protocol server, on the official ``mcp`` SDK (2.x).

Nine tools, each with a typed schema (from its signature) and a docstring an agent can
act on. Results are JSON (ids, scores, the why-path of every hit). Any failure comes back
as an MCP tool error with a clear message (``ToolError``), never a crash of the server.
Transports: stdio (the default: an agent spawns ``graphmem mcp``) and streamable HTTP at
``/mcp`` (``--transport http``), behind the same token rule as the REST API.
"""

from __future__ import annotations

import json
from typing import Any

from graphmem.server.auth import Guard, check_bind
from graphmem.server.ops import OpError, Service

INSTRUCTIONS = (
    "graphmem is a long-term memory. Use `search` to find what is stored (each hit says why "
    "it was found), `ask` for a written answer with citations, `add_memory` to remember "
    "something said or observed, and `index_text` for a whole document. Notes (one per "
    "memory) have versions: `get_note`, `history`, and `revert` to undo an evolution event.")


def create_server(memory: Any) -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    service = Service(memory)
    server = MCPServer("graphmem", instructions=INSTRUCTIONS)

    def call(fn: Any, *args: Any, **kwargs: Any) -> str:
        try:
            return json.dumps(fn(*args, **kwargs), ensure_ascii=False, default=str)
        except OpError as exc:
            raise ToolError(f"{exc.message} (status {exc.status})") from None

    @server.tool()
    def search(query: str, k: int = 5, recipe: str | None = None, namespace: str = "",
               tags: list[str] | None = None, doc_id: str | None = None,
               as_of: str | None = None, since: str | None = None,
               until: str | None = None) -> str:
        """Find the k passages of the memory most relevant to `query`, best first.

        Each hit has passage_id, title, text, score, `times` (when it happened) and `why`
        (the seed entities/facts and the graph path that led to it). `recipe`: hybrid
        (default), hipporag2 or dense. `namespace` limits the search to one user's or
        agent's memories ('*' for all); `tags` / `doc_id` narrow it further; `since` /
        `until` keep memories in a time window and `as_of` what was known and true then
        (dates like 2023-05-08 or 'May 2023').
        """
        filters = {k2: v for k2, v in (("tags", tags), ("doc_id", doc_id)) if v} or None
        return call(service.search, query, k, recipe, namespace, filters, as_of, since, until)

    @server.tool()
    def ask(question: str, multi_hop: bool = False, k: int = 5, namespace: str = "",
            as_of: str | None = None, since: str | None = None,
            until: str | None = None) -> str:
        """Answer `question` from the memory with an LLM, citing the passages used.

        With `multi_hop` the model reasons step by step and retrieves again after each
        step. `as_of` / `since` / `until` limit it in time as for `search`. Without an
        LLM configured, `answer` is null and the evidence passages are returned with a
        message saying so.
        """
        return call(service.ask, question, k, multi_hop, None, namespace, None, as_of, since,
                    until)

    @server.tool()
    def add_memory(text: str, timestamp: str | None = None,
                   metadata: dict[str, Any] | None = None, namespace: str = "") -> str:
        """Remember `text` (a chat turn, an observation). It becomes a note; nearby notes
        may be linked and rewritten (evolution), and the result says which, or why not.
        `timestamp` is when it happened (ISO date or free text)."""
        return call(service.add_memory, text, timestamp, metadata, namespace)

    @server.tool()
    def index_text(title: str, text: str, namespace: str = "") -> str:
        """Index a whole document: it is chunked into passages, and its entities and facts
        join the graph. Returns counts and the document's id."""
        return call(service.index_text, title, text, namespace, None)

    @server.tool()
    def get_note(note_id: str) -> str:
        """A note as it is now: content, keywords, tags, context, links, version."""
        return call(service.get_note, note_id)

    @server.tool()
    def history(note_id: str) -> str:
        """Every version of a note, oldest first, with the event that produced each."""
        return call(service.history, note_id)

    @server.tool()
    def revert(event_id: str) -> str:
        """Undo an evolution event: its links go, the notes it rewrote get their earlier
        attributes back (as a new version). Returns the restored note ids."""
        return call(service.revert, event_id)

    @server.tool()
    def delete_document(doc_id: str) -> str:
        """Delete a document (or an added memory, by its doc_id) and everything only it
        supported: passages, facts, vectors, cached answers, rewrites it caused."""
        return call(service.delete_document, doc_id)

    @server.tool()
    def stats() -> str:
        """Counts of documents, passages, entities, facts, notes, edges; LLM usage."""
        return call(service.stats)

    return server


def run(memory: Any, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8765,
        token: str | None = None, max_bytes: int = 4 * 1024 * 1024) -> None:
    server = create_server(memory)
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    check_bind(host, token)
    app = server.streamable_http_app(host=host, max_request_body_size=max_bytes)
    uvicorn.run(Guard(app, token, max_bytes, open_paths=()), host=host, port=port,
                log_level="warning", timeout_graceful_shutdown=5)
