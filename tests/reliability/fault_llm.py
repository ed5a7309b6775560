"""A misbehaving OpenAI-compatible chat endpoint for the reliability tests: real HTTP on 127.0.0.1.

``FaultServer(mode)`` serves ``POST /v1/chat/completions`` the way a broken or hostile server would, over
real sockets (a threaded ``http.server``), so the generator's HTTP client meets the fault exactly as it
would in the field. The modes (``FaultServer.MODES``):

    ok             a normal streamed answer ("Paris is the capital [1].") with finish_reason "stop"
    pings          200 and headers, then only SSE keep-alive comments (": ping") forever
    drip           one token every ``drip_s`` seconds, never finishing
    flood          a multi-megabyte answer in many deltas, ignoring max_tokens
    big_delta      a multi-megabyte answer in one delta
    bad_json       a data line that is not JSON
    cut            two deltas, then the connection closes without [DONE] or a finish_reason
    no_finish      two deltas and [DONE], but never a finish_reason
    error_event    an OpenAI-style {"error": ...} event inside the stream
    hang_headers   accepts the request and never answers (no status line)
    status:<code>  an OpenAI-style JSON error with that HTTP status (e.g. status:500, status:429)
    redirect:<url> a 307 redirect to <url>
    garbage        a 200 with a plain-text body that is no event stream
    empty          a 200 with an empty event stream ([DONE] only)

``hits`` counts the requests served, so a test can check retries; ``disconnects`` the replies the client
walked away from mid-stream. Every connection is closed when the
server stops, and the server binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLOOD_CHARS = 2_200_000  # the 2.2 MB answer of issue 10


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta: dict[str, Any] = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fault",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep pytest's output clean

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.hits += 1
        self.server.auth.append(self.headers.get("authorization", ""))
        mode = self.server.mode
        try:
            self._serve(mode)
        except OSError:  # broken pipe, reset: the client went away, which a deadline is meant to make it do
            self.server.disconnects += 1
        self.close_connection = True

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _serve(self, mode: str) -> None:
        stop = self.server.stopping
        if mode.startswith("status:"):
            status = int(mode.split(":", 1)[1])
            body = json.dumps({"error": {"message": f"fault server says {status}", "type": "fault"}}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.end_headers()
            self._write(body)
            return
        if mode.startswith("redirect:"):  # e.g. redirect:http://127.0.0.1:PORT/v1/chat/completions
            self.send_response(307)
            self.send_header("location", mode.split(":", 1)[1])
            self.send_header("content-length", "0")
            self.send_header("connection", "close")
            self.end_headers()
            return
        if mode == "hang_headers":
            stop.wait()
            return
        if mode == "garbage":
            body = b"<html>this is not an event stream</html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self._write(body)
            return
        self._start_stream()
        if mode == "ok":
            for word in ("Paris", " is", " the", " capital", " [1]", "."):
                self._write(_chunk(word))
            self._write(_chunk(finish="stop") + b"data: [DONE]\n\n")
        elif mode == "pings":
            while not stop.wait(self.server.ping_s):
                self._write(b": ping\n\n")
        elif mode == "drip":
            self._write(_chunk("Once"))
            while not stop.wait(self.server.drip_s):
                self._write(_chunk(" more"))
        elif mode == "flood":
            piece = "lorem ipsum " * 100  # 1,200 characters per delta
            for _ in range(FLOOD_CHARS // len(piece) + 1):
                if stop.is_set():
                    return
                self._write(_chunk(piece))
            self._write(_chunk(finish="stop") + b"data: [DONE]\n\n")
        elif mode == "big_delta":
            self._write(_chunk("x" * FLOOD_CHARS))
            self._write(_chunk(finish="stop") + b"data: [DONE]\n\n")
        elif mode == "bad_json":
            self._write(_chunk("Hello"))
            self._write(b"data: {this is not json\n\n")
            self._write(_chunk(finish="stop") + b"data: [DONE]\n\n")
        elif mode == "cut":
            self._write(_chunk("Paris"))
            self._write(_chunk(" is"))
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "no_finish":
            self._write(_chunk("Paris") + _chunk(" is") + b"data: [DONE]\n\n")
        elif mode == "error_event":
            self._write(_chunk("Paris"))
            self._write(b'data: {"error": {"message": "the model crashed", "type": "server_error"}}\n\n')
        elif mode == "empty":
            self._write(b"data: [DONE]\n\n")
        else:
            raise ValueError(f"unknown fault mode {mode!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode: str
    hits: int
    disconnects: int
    auth: list[str]
    drip_s: float
    ping_s: float
    stopping: threading.Event


class FaultServer:
    """A running fault endpoint; use as a context manager (``with FaultServer("pings") as srv: srv.base_url``)."""

    MODES = (
        "ok pings drip flood big_delta bad_json cut no_finish error_event hang_headers garbage empty".split()
    )

    def __init__(self, mode: str, *, drip_s: float = 2.0, ping_s: float = 0.05) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.mode = mode
        self._server.hits = 0
        self._server.disconnects = 0
        self._server.auth = []
        self._server.drip_s = drip_s
        self._server.ping_s = ping_s
        self._server.stopping = threading.Event()
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def hits(self) -> int:
        """Requests served so far."""
        return self._server.hits

    @property
    def disconnects(self) -> int:
        """Replies the client walked away from (the server's write failed)."""
        return self._server.disconnects

    @property
    def auth(self) -> list[str]:
        """The Authorization header of every request, in order (test keys only: the server is the test's own)."""
        return self._server.auth

    def set_mode(self, mode: str) -> None:
        """Serve the next requests in ``mode``."""
        self._server.mode = mode

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()  # ends pings, drips and hangs
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        time.sleep(0)  # let handler threads see the event
