"""Shared fixtures: every test runs with its own citeqa data dir and no LLM credentials from the caller."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import llm_server, llm_server_factory  # noqa: F401  (session fixtures: one server for all tests)

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "corpus" / "articles"


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
