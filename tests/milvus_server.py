"""A real Milvus Lite server for tests: ``milvus-lite server`` started as its own process on 127.0.0.1.

It speaks the gRPC protocol of a Milvus cluster, so the client code under test is the one a Milvus Standalone or
Distributed deployment meets. Use the ``milvus_server`` fixture (module-scoped: one server per test module) or
``running_milvus(data_dir)`` directly; both stop the process when done.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

_START_TIMEOUT = 120.0  # seconds: the server imports numpy, grpc and its engine first (~2 s here, idle)
_ATTEMPTS = 3  # starts on a new port when another process took the chosen one


@dataclass(frozen=True)
class MilvusServer:
    """A running server: its URI (http://127.0.0.1:<port>), port and process."""

    uri: str
    port: int
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# pymilvus pings its connection every 10 s, even between calls; Milvus Lite's gRPC server keeps gRPC's defaults
# (no ping more often than every 5 min without data, 2 strikes), so after ~30 s of quiet it sends GOAWAY
# "too_many_pings" and the client's next call fails ("Fail connecting to server"): under load, a test that loads the
# real model between two calls met it. Milvus Standalone accepts such pings; the server here is started through
# this shim, which gives Milvus Lite's gRPC server the same tolerance.
_SHIM = """
import sys
import grpc
_server = grpc.server
def _tolerant(*args, options=None, **kwargs):
    keepalive = [("grpc.keepalive_permit_without_calls", 1),
                 ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000), ("grpc.http2.max_ping_strikes", 0)]
    return _server(*args, options=[*(options or []), *keepalive], **kwargs)
grpc.server = _tolerant
from milvus_lite.cmdline import main
sys.argv[0] = "milvus-lite"
sys.exit(main())
"""


def _command() -> list[str]:
    """``milvus-lite`` run through ``_SHIM``."""
    return [sys.executable, "-c", _SHIM]


@contextmanager
def running_milvus(data_dir: Path, *, log: Path | None = None) -> Iterator[MilvusServer]:
    """Start ``milvus-lite server`` on 127.0.0.1 and a free port, wait until it says it listens, stop it after.

    The port is free when chosen but the server binds it a moment later: when another process took it meanwhile,
    the server exits with "Address already in use" and is started again on another port (3 attempts).
    """
    log_path = log or data_dir.with_name(data_dir.name + ".log")
    for _ in range(_ATTEMPTS):
        port = free_port()
        offset = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as out:  # appended: an earlier attempt's log is kept
            proc = subprocess.Popen([*_command(), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                                     "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})  # the 'listening' line at once
        try:
            listening = _wait_listening(proc, port, log_path, offset)
        except BaseException:
            stop(proc)
            raise
        if listening:
            break
        stop(proc)
    else:
        raise RuntimeError(f"milvus-lite lost its port to another process {_ATTEMPTS} times: {_tail(log_path)}")
    try:
        yield MilvusServer(f"http://127.0.0.1:{port}", port, proc)
    finally:
        stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log_path: Path, offset: int) -> bool:
    """Wait until the server logs (after ``offset``) that it listens on ``port`` and accepts a connection there:
    True. False when it exited because the port was taken; RuntimeError when it exited otherwise or did not listen
    in time.

    A connection alone proves nothing: another process that took the port would accept it too."""
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
        if proc.poll() is not None:
            if "Address already in use" in text or "Failed to bind" in text:
                return False
            raise RuntimeError(f"milvus-lite server exited with {proc.returncode}: {_tail(log_path)}")
        if f"listening on 127.0.0.1:{port} " in text:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    return True
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"milvus-lite did not listen on {port} in {_START_TIMEOUT:g} s: {_tail(log_path)}")
        time.sleep(0.1)


def _tail(log_path: Path) -> str:
    return log_path.read_text(encoding="utf-8", errors="replace")[-2000:]


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server and wait for it (killed after 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One Milvus Lite server process for the test module, stopped at its end."""
    pytest.importorskip("pymilvus", reason="the [scale] extra is not installed")
    with running_milvus(tmp_path_factory.mktemp("milvus") / "data") as server:
        yield server
