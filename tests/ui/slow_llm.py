"""A slow OpenAI-compatible chat endpoint on 127.0.0.1 for the browser tests: real HTTP and server-sent events,
one word every ``delay_s`` seconds, so an answer is still streaming when the test acts (e.g. sends a second
question). It stands in for the LLM only; the app, the browser and the UI under test are the real ones."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "Macron received Putin at the Palace of Versailles in May 2017 [1]. They spoke about Syria and Ukraine [1]."


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta: dict[str, Any] = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-slow",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "slow-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    server: SlowLLM
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"object": "list", "data": [{"id": "slow-model", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.hits += 1
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        try:
            for i, word in enumerate(ANSWER.split(" ")):
                if self.server.stopping.wait(self.server.delay_s):
                    return
                self.wfile.write(_chunk(word if i == 0 else " " + word))
                self.wfile.flush()
            self.wfile.write(_chunk(finish="stop") + b"data: [DONE]\n\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


class SlowLLM(ThreadingHTTPServer):
    """``with SlowLLM(delay_s=0.3) as llm: llm.base_url`` — served from a thread until the block ends."""

    daemon_threads = True

    def __init__(self, delay_s: float = 0.3) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay_s = delay_s
        self.hits = 0
        self.stopping = threading.Event()
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.serve_forever, name="slow-llm", daemon=True)

    def __enter__(self) -> SlowLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
        time.sleep(0)
