"""A real Milvus Lite server for tests: ``milvus-lite server`` started as its own process on 127.0.0.1.

It speaks the gRPC protocol of a Milvus cluster, so the client code under test is the one a Milvus Standalone or
Distributed deployment meets. Use the ``milvus_server`` fixture (module-scoped: one server per test module) or
``running_milvus(data_dir)`` directly; both stop the process when done.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

_START_TIMEOUT = 60.0  # seconds: the server imports numpy, grpc and its engine first (~2 s here)


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


def _executable() -> list[str]:
    exe = Path(sys.executable).with_name("milvus-lite")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("milvus-lite")
    if found:
        return [found]
    return [sys.executable, "-m", "milvus_lite"]


@contextmanager
def running_milvus(data_dir: Path, *, log: Path | None = None) -> Iterator[MilvusServer]:
    """Start ``milvus-lite server`` on 127.0.0.1 and a free port, wait until it accepts connections, stop it after."""
    port = free_port()
    log_path = log or data_dir.with_name(data_dir.name + ".log")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([*_executable(), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"milvus-lite did not listen on {port} in {_START_TIMEOUT} s") from None
                time.sleep(0.1)
        yield MilvusServer(f"http://127.0.0.1:{port}", port, proc)
    finally:
        stop(proc)


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
