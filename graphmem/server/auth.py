"""Who may talk to a server: a bearer token, or loopback only.

The rule (the same for REST and for MCP over HTTP, which can delete and revert too):
with ``GRAPHMEM_API_TOKEN`` set, every protected request must carry
``Authorization: Bearer <token>`` (compared in constant time) or gets 401; with no token
the server binds to a loopback address only and refuses to start on any other. Request
bodies above ``max_request_bytes`` are refused with 413 before they are read whole.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from graphmem.config import ConfigError

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not token and not is_loopback(host):
        raise ConfigError(f"refusing to listen on {host} without a token: set "
                          "GRAPHMEM_API_TOKEN (clients then send 'Authorization: Bearer "
                          "<token>'), or bind to 127.0.0.1")


async def _reply(send: Callable[[dict], Awaitable[None]], status: int, message: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: bearer token on protected paths, and a cap on body size."""

    def __init__(self, app: ASGIApp, token: str | None, max_bytes: int,
                 open_paths: tuple[str, ...] = ("/healthz",)) -> None:
        self.app = app
        self.token = token
        self.max_bytes = max_bytes
        self.open_paths = open_paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token and scope["path"] not in self.open_paths and \
                not scope["path"].startswith(("/docs", "/openapi.json")):
            given = headers.get("authorization", "")
            expected = f"Bearer {self.token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                await _reply(send, 401, "missing or wrong bearer token",
                             [(b"www-authenticate", b"Bearer")])
                return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _reply(send, 413, f"request body of {int(length):,} bytes is above the "
                                    f"limit of {self.max_bytes:,}")
            return
        seen = 0

        async def capped() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return msg

        try:
            await self.app(scope, capped, send)
        except _TooLarge:
            await _reply(send, 413, f"request body is above the limit of {self.max_bytes:,} "
                                    "bytes")


class _TooLarge(Exception):
    pass
