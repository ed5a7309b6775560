"""Settings: layers, environment, validation, and the API key never showing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.config import Settings, get_settings
from qa.errors import ConfigError


def test_defaults() -> None:
    s = get_settings()
    assert s.retrieval.top_k == 5
    assert s.generator.resolved_backend() == "extractive"


def test_env_and_file_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"retrieval": {"top_k": 7, "mode": "dense"}}))
    monkeypatch.setenv("CITEQA_CONFIG", str(cfg))
    monkeypatch.setenv("CITEQA_RETRIEVAL__TOP_K", "9")
    s = get_settings()
    assert s.retrieval.top_k == 9  # env beats file
    assert s.retrieval.mode == "dense"
    assert get_settings({"retrieval": {"top_k": 3}}).retrieval.top_k == 3  # arguments beat env


def test_openai_env_selects_openai_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-verysecret-123")
    s = get_settings()
    assert s.generator.resolved_backend() == "openai"
    assert "sk-verysecret-123" not in repr(s)
    assert "sk-verysecret-123" not in str(s)
    assert "sk-verysecret-123" not in s.model_dump_json()


def test_invalid_settings_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="retrieval.top_k"):
        get_settings({"retrieval": {"top_k": 0}})
    with pytest.raises(ConfigError, match="retrieval"):
        get_settings({"retrieval": {"nonsense": 1}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read config file"):
        get_settings(bad)


def test_settings_object_passes_through() -> None:
    s = Settings()
    assert get_settings(s) is s
