"""The memory behind servers, end to end: real processes on real 127.0.0.1 ports, the REST
API driven with httpx, MCP driven with the SDK's own client over stdio and HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from graphmem.llm.local import free_port

TOKEN = "test-token-abc123"
DOCS = [{"title": "Orrin Theatre", "text": "The Orrin Theatre in Port Sable was designed by "
         "Paul Dreyer and opened in 1931."},
        {"title": "Night Tide", "text": "Night Tide is an opera by Lena Varga. It premiered at "
         "the Orrin Theatre in 1987."}]


def env(**extra: str) -> dict:
    out = {**os.environ, "HF_HUB_OFFLINE": "1", **extra}
    out.pop("GRAPHMEM_API_TOKEN", None)
    out.update(extra)
    return out


class Running:
    """A server subprocess on a free port, stopped at the end."""

    def __init__(self, args: list[str], port: int, environ: dict, ready: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "graphmem", *args], env=environ,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.proc.stderr.read()[-2000:]}")
            try:
                httpx.get(self.url + ready, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def rest(tmp_path):
    port = free_port()
    srv = Running(["serve", "--store", str(tmp_path / "s"), "--port", str(port)], port,
                  env(GRAPHMEM_API_TOKEN=TOKEN, GRAPHMEM_MAX_REQUEST_BYTES="200000",
                      GRAPHMEM_LINK_THRESHOLD="0.3"), "/healthz")
    yield srv
    srv.stop()


def test_rest_api(rest):
    c = httpx.Client(base_url=rest.url, timeout=120,
                     headers={"Authorization": f"Bearer {TOKEN}"})
    anon = httpx.Client(base_url=rest.url, timeout=30)
    assert anon.get("/healthz").json()["ok"]
    for method, path in (("post", "/v1/search"), ("get", "/v1/stats"),
                         ("delete", "/v1/documents/d:x"), ("post", "/v1/events/e/revert")):
        r = getattr(anon, method)(path, **({"json": {"query": "x"}} if method == "post" else {}))
        assert r.status_code == 401 and "token" in r.json()["error"]
    assert anon.get("/v1/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for d in DOCS:
        r = c.post("/v1/documents", json=d)
        assert r.status_code == 201 and r.json()["passages_indexed"] == 1
    doc_id = r.json()["doc_id"]
    r = c.post("/v1/search", json={"query": "Who designed the theatre where Night Tide "
                                            "premiered?", "k": 2})
    hits = r.json()["hits"]
    assert r.status_code == 200 and {h["title"] for h in hits} == {"Orrin Theatre",
                                                                   "Night Tide"}
    assert hits[0]["why"]["method"] and "passage_id" in hits[0]
    a = c.post("/v1/memories", json={"text": "Ana saw Night Tide at the Orrin Theatre.",
                                     "namespace": "user:ana"}).json()
    b = c.post("/v1/memories", json={"text": "Ana loved Night Tide at the Orrin Theatre.",
                                     "namespace": "user:ana"}).json()
    note_id = a["notes"][0]["id"]
    assert c.get(f"/v1/notes/{note_id}").json()["content"].startswith("Ana saw")
    assert c.get(f"/v1/notes/{note_id}/history").json()["versions"][0]["version"] == 1
    ev = b["evolution"][0]["event_id"]
    assert ev and c.post(f"/v1/events/{ev}/revert").status_code == 200
    assert c.post(f"/v1/events/{ev}/revert").status_code == 409  # already reverted
    mine = c.post("/v1/search", json={"query": "Night Tide", "namespace": "user:ana"}).json()
    assert {h["text"] for h in mine["hits"]} <= {"Ana saw Night Tide at the Orrin Theatre.",
                                                 "Ana loved Night Tide at the Orrin Theatre."}
    shared = c.post("/v1/search", json={"query": "Ana Night Tide"}).json()["hits"]
    assert all(not h["text"].startswith("Ana") for h in shared)
    ans = c.post("/v1/ask", json={"question": "Who designed the Orrin Theatre?"}).json()
    assert ans["answer"] is None and "No LLM" in ans["message"] and ans["evidence"]
    assert c.get("/v1/stats").json()["documents"] == 4
    assert c.delete(f"/v1/documents/{doc_id}").json()["passages"] == 1
    assert c.delete(f"/v1/documents/{doc_id}").status_code == 404
    assert c.get("/v1/notes/p:nothing").status_code == 404
    bad = [("/v1/search", {"query": "   "}), ("/v1/search", {"query": "x", "k": 0}),
           ("/v1/search", {"k": 3}), ("/v1/search", {"query": "x", "filters": {"color": 1}}),
           ("/v1/memories", {"text": 42})]
    for path, body in bad:
        r = c.post(path, json=body)
        assert r.status_code == 422, (path, body, r.text)
    r = c.post("/v1/memories", content=json.dumps({"text": "x" * 300_000}),
               headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    spec = anon.get("/openapi.json").json()
    assert {"/v1/search", "/v1/ask", "/v1/memories", "/v1/documents", "/v1/notes/{note_id}",
            "/v1/notes/{note_id}/history", "/v1/events/{event_id}/revert",
            "/v1/documents/{doc_id}", "/v1/stats"} <= set(spec["paths"])


def test_no_token_means_loopback_only(tmp_path):
    r = subprocess.run([sys.executable, "-m", "graphmem", "serve", "--store",
                        str(tmp_path / "s"), "--host", "0.0.0.0", "--port", str(free_port())],
                       env=env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "GRAPHMEM_API_TOKEN" in r.stderr
    r = subprocess.run([sys.executable, "-m", "graphmem", "mcp", "--store", str(tmp_path / "s"),
                        "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port())],
                       env=env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "GRAPHMEM_API_TOKEN" in r.stderr


async def _exercise(session) -> None:
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"search", "ask", "add_memory", "index_text", "get_note", "history",
                          "revert", "delete_document", "stats"}
    assert "query" in tools["search"].input_schema["properties"] and tools["search"].description
    for d in DOCS:
        r = await session.call_tool("index_text", {"title": d["title"], "text": d["text"]})
        assert not r.is_error, r.content
    r = await session.call_tool("search", {"query": "Who designed the Orrin Theatre?", "k": 1})
    hit = json.loads(r.content[0].text)["hits"][0]
    assert hit["title"] == "Orrin Theatre" and hit["why"]
    r = await session.call_tool("add_memory", {"text": "Bob booked Night Tide tickets.",
                                               "namespace": "user:bob"})
    note = json.loads(r.content[0].text)["notes"][0]["id"]
    r = await session.call_tool("history", {"note_id": note})
    assert json.loads(r.content[0].text)["versions"]
    r = await session.call_tool("get_note", {"note_id": "p:missing"})
    assert r.is_error and "no note" in r.content[0].text
    r = await session.call_tool("search", {"query": "   "})
    assert r.is_error and "non-empty" in r.content[0].text
    r = await session.call_tool("stats", {})
    assert json.loads(r.content[0].text)["documents"] == 3


def test_mcp_over_stdio(tmp_path):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "graphmem", "mcp", "--store",
                                         str(tmp_path / "s")], env=env())

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await _exercise(s)

    anyio.run(main)


def test_mcp_over_http_with_a_token(tmp_path):
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    srv = Running(["mcp", "--store", str(tmp_path / "s"), "--transport", "http", "--port",
                   str(port)], port, env(GRAPHMEM_API_TOKEN=TOKEN), "/mcp")
    try:
        assert httpx.post(srv.url + "/mcp", json={}).status_code == 401

        async def main() -> None:
            client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"},
                                        timeout=120)
            async with client, streamable_http_client(srv.url + "/mcp", http_client=client) \
                    as (read, write), ClientSession(read, write) as s:
                await _exercise(s)

        anyio.run(main)
    finally:
        srv.stop()


def test_desktop_agent_configuration_in_the_readme_is_valid_json():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index('{\n  "mcpServers"')
    end = readme.index("```", start)
    conf = json.loads(readme[start:end])
    server = conf["mcpServers"]["graphmem"]
    assert server["command"] == "graphmem" and server["args"][0] == "mcp"
