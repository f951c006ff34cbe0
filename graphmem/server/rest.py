"""The REST API: JSON over HTTP for the nine operations, on FastAPI + uvicorn.

Why FastAPI: typed request models give validation (4xx with a JSON body on bad input)
and an OpenAPI document at ``/openapi.json`` for free, and it sits on Starlette, the same
ASGI stack the MCP SDK's HTTP transport uses, so both servers share one middleware for
tokens and body limits (``auth.py``). Handlers are plain functions run in the thread
pool: many searches run at once on the shared ``Memory``; its write lock lets one write
through at a time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from graphmem.server.auth import Guard, check_bind
from graphmem.server.ops import OpError, Service


class SearchIn(BaseModel):
    query: str = Field(..., description="What to look for.")
    k: int = Field(5, ge=1, le=100, description="How many passages.")
    recipe: str | None = Field(None, description="hybrid | hipporag2 | dense")
    namespace: str = Field("", description="Whose memory ('*': every namespace).")
    filters: dict[str, Any] | None = Field(
        None, description="tags, doc_id, source, metadata (all must hold).")
    as_of: str | None = Field(None, description="What had happened by then (e.g. 2023-05-08).")
    since: str | None = Field(None, description="Only memories from this time on.")
    until: str | None = Field(None, description="Only memories up to this time.")

class AskIn(BaseModel):
    question: str
    k: int = Field(5, ge=1, le=100)
    multi_hop: bool = False
    recipe: str | None = None
    namespace: str = ""
    filters: dict[str, Any] | None = None
    as_of: str | None = None
    since: str | None = None
    until: str | None = None

class MemoryIn(BaseModel):
    text: str = Field(..., description="The memory (a chat turn, an observation).")
    timestamp: str | None = Field(None, description="When it happened.")
    metadata: dict[str, Any] | None = None
    namespace: str = ""

class DocumentIn(BaseModel):
    title: str = ""
    text: str
    namespace: str = ""
    metadata: dict[str, Any] | None = None



def create_app(memory: Any, token: str | None = None, max_bytes: int = 4 * 1024 * 1024) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    import graphmem

    service = Service(memory)
    app = FastAPI(title="graphmem", version=graphmem.__version__,
                  description="A long-term associative memory: search, ask, add memories, "
                              "index documents, read notes and their history.")

    @app.exception_handler(OpError)
    async def op_error(_: Request, exc: OpError) -> JSONResponse:
        return JSONResponse({"error": exc.message, "status": exc.status},
                            status_code=exc.status)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "store": memory.store.location}

    @app.post("/v1/search")
    def search(body: SearchIn) -> dict[str, Any]:
        return service.search(body.query, body.k, body.recipe, body.namespace, body.filters,
                              body.as_of, body.since, body.until)

    @app.post("/v1/ask")
    def ask(body: AskIn) -> dict[str, Any]:
        return service.ask(body.question, body.k, body.multi_hop, body.recipe, body.namespace,
                           body.filters, body.as_of, body.since, body.until)

    @app.post("/v1/memories", status_code=201)
    def add_memory(body: MemoryIn) -> dict[str, Any]:
        return service.add_memory(body.text, body.timestamp, body.metadata, body.namespace)

    @app.post("/v1/documents", status_code=201)
    def index_text(body: DocumentIn) -> dict[str, Any]:
        return service.index_text(body.title, body.text, body.namespace, body.metadata)

    @app.get("/v1/notes/{note_id}")
    def get_note(note_id: str) -> dict[str, Any]:
        return service.get_note(note_id)

    @app.get("/v1/notes/{note_id}/history")
    def history(note_id: str) -> dict[str, Any]:
        return service.history(note_id)

    @app.post("/v1/events/{event_id}/revert")
    def revert(event_id: str) -> dict[str, Any]:
        return service.revert(event_id)

    @app.delete("/v1/documents/{doc_id}")
    def delete_document(doc_id: str) -> dict[str, Any]:
        return service.delete_document(doc_id)

    @app.get("/v1/stats")
    def stats() -> dict[str, Any]:
        return service.stats()

    return Guard(app, token, max_bytes)


def serve(memory: Any, host: str, port: int, token: str | None, max_bytes: int) -> None:
    import uvicorn

    check_bind(host, token)
    uvicorn.run(create_app(memory, token, max_bytes), host=host, port=port,
                log_level="warning", timeout_graceful_shutdown=5)
