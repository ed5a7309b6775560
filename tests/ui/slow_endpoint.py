"""An OpenAI-compatible chat endpoint on 127.0.0.1 that streams a scripted reply and can hold it mid-answer.

It stands in for the LLM server (the thing not under test) so the browser tests can stop an answer while it is
written: with ``hold`` set, it sends the reply's first ``head`` deltas, then waits until ``release`` (or its guard
time) before the rest.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GUARD_S = 120.0  # the longest a held reply waits; only stops a test that hangs


class SlowEndpoint:
    """``POST /v1/chat/completions`` streams ``reply`` as server-sent events; ``GET /v1/models`` lists one model."""

    def __init__(self, reply: list[str], *, head: int = 2, model: str = "slow-model") -> None:
        self.reply = reply
        self.head = head
        self.model = model
        self.hold = threading.Event()  # set: hold each reply after its first ``head`` deltas
        self.release = threading.Event()
        self.held = threading.Event()  # a reply is being held now
        self.requests = 0
        self.bodies: list[str] = []  # the request bodies, in order
        self.completed = 0  # replies sent to their end
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps({"object": "list", "data": [{"id": outer.model, "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                outer.bodies.append(self.rfile.read(int(self.headers.get("content-length") or 0)).decode())
                outer.requests += 1
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                try:
                    for i, delta in enumerate(outer.reply):
                        if i == outer.head and outer.hold.is_set():
                            outer.held.set()
                            outer.release.wait(GUARD_S)
                            outer.held.clear()
                        self._event({"content": delta}, None)
                    self._event({}, "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    outer.completed += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _event(self, delta: dict[str, Any], finish: str | None) -> None:
                chunk = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": outer.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
