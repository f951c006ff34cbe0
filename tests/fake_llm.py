"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for the LLM error paths.

Each request to /v1/chat/completions takes the next scripted step: a status code, extra
headers, a body (a chat completion built from ``content`` unless ``raw`` is given) and an
optional delay. When the script runs out, the last step repeats. The real model proves
the happy path; this server proves retries, fallbacks and error messages.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Step:
    status: int = 200
    content: str = '{"entities": []}'
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    delay: float = 0.0
    when_format: str | None = None
    """Only apply to requests whose response_format type is this (else fall through)."""
    respond: Callable[[dict], str] | None = None
    """Build the content from the request body (a scripted model that reads the prompt)."""


class FakeLLM:
    def __init__(self, steps: list[Step], key: str | None = None) -> None:
        self.steps = list(steps)
        self.key = key
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake._lock:
                    fake.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    step = fake._next(body)
                if fake.key and self.headers.get("Authorization") != f"Bearer {fake.key}":
                    step = Step(401, raw=json.dumps({"error": {"message": "bad key"}}))
                time.sleep(step.delay)
                with fake._lock:  # done working; count down before the client can see a reply
                    fake.in_flight -= 1
                content = step.respond(body) if step.respond else step.content
                payload = step.raw if step.raw is not None else json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 7,
                              "total_tokens": 18}})
                data = payload.encode()
                try:
                    self.send_response(step.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in step.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next(self, body: dict) -> Step:
        fmt = (body.get("response_format") or {}).get("type")
        for i, step in enumerate(self.steps):
            if step.when_format is None or step.when_format == fmt:
                return self.steps.pop(i) if len(self.steps) > 1 else step
        return Step()

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
