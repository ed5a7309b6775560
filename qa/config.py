"""One settings object for citeqa, built from arguments, a config file and the environment.

Precedence (highest first): keyword arguments / dict, ``CITEQA_*`` environment variables (nested with
``__``, e.g. ``CITEQA_RETRIEVAL__TOP_K=8``), ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` / ``OPENAI_MODEL``,
the JSON config file (``CITEQA_CONFIG`` or ``<data dir>/config.json``), then defaults.

This is the only module that reads environment variables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from embeddings.config import ChunkSettings, EmbeddingSettings, IndexSettings, RetrievalSettings
from qa.errors import ConfigError


def data_dir() -> Path:
    """citeqa's data folder: ``CITEQA_HOME`` or the platform's user data dir."""
    env = os.environ.get("CITEQA_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("citeqa", appauthor=False))


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "extractive", "openai"] = Field(
        "auto", description="'auto' = openai when base_url or api_key is set, else the offline extractive generator."
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.")
    api_key: SecretStr | None = Field(None, description="API key for the endpoint (never logged or printed).")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=16, description="Maximum tokens of the generated answer.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the endpoint per request.")
    max_retries: int = Field(2, ge=0, description="Retries with exponential backoff on transient errors.")

    def resolved_backend(self) -> Literal["extractive", "openai"]:
        if self.backend == "auto":
            return "openai" if (self.base_url or self.api_key) else "extractive"
        return self.backend


class AnswerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refusal_threshold: float = Field(
        0.50,
        description="The extractive generator refuses when the cosine similarity between the query and its best "
        "sentence is below this. Calibrated on evals/sets/seed_dev.jsonl (scripts/calibrate_refusal.py): 0.50 refuses "
        "43% of unanswerable questions at 10% false refusals; 0.46 gives 29% at 6%.",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most sentences the extractive generator quotes.")
    support_threshold: float = Field(
        0.5,
        description="Least cosine similarity between a claim and its cited quote for the citation to count as "
        "supported (numbers and names must also occur in the quote).",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")


class Settings(BaseModel):
    """Every setting of citeqa, by stage. Build with ``get_settings()``."""

    model_config = ConfigDict(extra="forbid")

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)

    @model_validator(mode="after")
    def _default_cache_dir(self) -> Settings:
        # Filled here because only this module knows the data dir (CITEQA_HOME); embeddings/ reads no env.
        if self.embedding.cache_dir is None:
            self.embedding.cache_dir = data_dir() / "cache"
        return self

    def index_dir(self) -> Path:
        return self.index.dir if self.index.dir is not None else data_dir() / "index"

    def __repr__(self) -> str:  # SecretStr already masks the key; keep repr short
        return f"Settings({self.model_dump_json(exclude_none=True)})"


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_layer(environ: dict[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    openai_map = {"OPENAI_API_KEY": "api_key", "OPENAI_BASE_URL": "base_url", "OPENAI_MODEL": "model"}
    for var, key in openai_map.items():
        if environ.get(var):
            layer.setdefault("generator", {})[key] = environ[var]
    for var, value in environ.items():
        if not var.startswith("CITEQA_") or "__" not in var:
            continue
        section, _, key = var[len("CITEQA_") :].lower().partition("__")
        layer.setdefault(section, {})[key] = value
    if environ.get("CITEQA_INDEX_DIR"):
        layer.setdefault("index", {})["dir"] = environ["CITEQA_INDEX_DIR"]
    return layer


def config_file_path() -> Path:
    env = os.environ.get("CITEQA_CONFIG")
    return Path(env).expanduser() if env else data_dir() / "config.json"


def get_settings(settings: Settings | dict[str, Any] | str | Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings from an object, a dict, a JSON file path or None, over file and environment layers.

    Example::

        s = get_settings({"retrieval": {"top_k": 8}})
    """
    if isinstance(settings, Settings) and not overrides:
        return settings
    layers: dict[str, Any] = {}
    cfg = config_file_path()
    if cfg.is_file():
        layers = _deep_merge(layers, _read_json(cfg))
    layers = _deep_merge(layers, _env_layer(dict(os.environ)))
    if isinstance(settings, Settings):
        layers = _deep_merge(layers, settings.model_dump(exclude_unset=True))
    elif isinstance(settings, dict):
        layers = _deep_merge(layers, settings)
    elif isinstance(settings, (str, Path)):
        layers = _deep_merge(layers, _read_json(Path(settings)))
    layers = _deep_merge(layers, overrides)
    try:
        return Settings.model_validate(layers)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return data
