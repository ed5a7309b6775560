"""Shared fixtures: every test runs with its own citeqa data dir and no LLM credentials from the caller."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from llm_server import llm_server, llm_server_factory  # noqa: F401  (session fixtures: one server for all tests)

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "corpus" / "articles"

# gRPC (pymilvus, Milvus Lite's in-process server, Ray) runs in the pytest process, and some code still fork()s it:
# Ray starts every process of an in-process cluster with a preexec_fn. gRPC's fork support then runs its handlers
# around the fork, and while gRPC threads are busy 2-5% of the children abort before exec ("epoll_wait error: Bad
# file descriptor", exit -6): the CI at 5aa4b4d lost the llama.cpp server that way; at 0ffaa29 the Ray head node
# never registered after five forks that logged "skipping fork() handlers". With fork support off, a forked child
# just execs (0 aborts in 3,000 forks beside a busy gRPC server, tests/reliability/test_rel_grpc_fork.py). Set
# before anything imports grpc (it reads the switch once); child processes inherit it.
os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"

_FORKS: list[str] = []  # the test running each time something fork()ed the pytest process (a Python-level fork)
_CURRENT = ["(collection)"]
os.register_at_fork(before=lambda: _FORKS.append(_CURRENT[0]))


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Remember which test is running, for the fork report."""
    _CURRENT[0] = nodeid


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which tests fork()ed the pytest process (each such child copies every thread's state: see above)."""
    if _FORKS:
        counts = {test: _FORKS.count(test) for test in dict.fromkeys(_FORKS)}
        terminalreporter.write_line(f"the pytest process was fork()ed {len(_FORKS)} times, by: "
                                    + ", ".join(f"{test} ({n})" for test, n in counts.items()))


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the embedding model per test session (exporting takes ~15 s), shared by every test."""
    return tmp_path_factory.mktemp("model_cache")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                  _model_cache: Path) -> None:
    home = tmp_path_factory.mktemp("citeqa_home")
    monkeypatch.setenv("CITEQA_HOME", str(home))
    monkeypatch.setenv("CITEQA_EMBEDDING__CACHE_DIR", str(_model_cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_model_cache / "xdg"))  # bare EmbeddingSettings: the user cache dir
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "CITEQA_CONFIG", "CITEQA_INDEX_DIR",
                "CITEQA_AUTH"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS
