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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from corpus.config import CorpusSettings
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
    """Which generator answers (by its registered name) and how to reach an LLM endpoint."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(
        "auto",
        description="'auto' = openai when base_url or api_key is set, else the offline extractive generator; "
        "or the name of a registered generator (extractive, openai: see qa.generators; an unknown name is a "
        "ConfigError when the QA is made).",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.")
    api_key: SecretStr | None = Field(None, description="API key for the endpoint (never logged or printed).")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(
        512, ge=16, description="Maximum tokens of the generated answer. Also checked on our side: a reply longer "
        "than 32 characters per token is stopped with an error (the endpoint ignores max_tokens)."
    )
    timeout: float = Field(
        60.0, gt=0, description="Deadline in seconds for one whole LLM reply, from the request to the last token, "
        "retries included (the follow-up rewrite and the answer each get this long)."
    )
    max_retries: int = Field(2, ge=0, description="Retries with exponential backoff on transient errors.")
    context_window: int | None = Field(
        None, ge=256, description="The model's context window in tokens; the prompt (passages, history) is sized to "
        "it, leaving max_tokens for the answer. Unset: read from the server where it says (llama.cpp's /props or "
        "/v1/models meta, Ollama's /api/show num_ctx), else a conservative 2048."
    )
    refuse_by_evidence: bool = Field(
        True, description="Before calling a model that writes free text (openai), run the extractive answerer's "
        "plan over the retrieved sentences: when no sentence answers, refuse without calling the model, saying what "
        "is missing and citing the closest sentence. Also reports the plan's confidence."
    )
    trust_model_refusal: bool = Field(
        False, description="When the model refuses although a retrieved sentence clearly answers (the plan has a "
        "short answer or a confidence well above answer.refusal_threshold): false = answer with that evidence and "
        "flag the disagreement (Answer.disagreement); true = keep the refusal, show the evidence, flag it too."
    )

    def resolved_backend(self) -> str:
        """The generator's registered name, with ``auto`` resolved."""
        if self.backend == "auto":
            return "openai" if (self.base_url or self.api_key) else "extractive"
        return self.backend

    def missing_endpoint(self) -> list[str]:
        """What an OpenAI-compatible endpoint needs and these settings lack: ``base_url``, ``model`` or both."""
        return [name for name in ("base_url", "model") if not getattr(self, name)]


class AnswerSettings(BaseModel):
    """How answers are chosen and checked: refusal, sentences quoted, support, question length."""

    model_config = ConfigDict(extra="forbid")

    refusal_threshold: float = Field(
        0.50,
        description="The extractive generator refuses when the cosine similarity between the query and its best "
        "sentence is below this. Calibrated on evals/sets/seed_dev.jsonl: `python -m evals.calibrate` prints the "
        "refusal rates of each threshold, `citeqa eval` the effect on answers.",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most sentences the extractive generator quotes.")
    answerability: bool = Field(
        True,
        description="The extractive generator answers a question that expects a name, place, date or number only "
        "from a sentence holding such a candidate the question does not give, tied to its role and focus, in a "
        "sentence whose years do not contradict the question's (qa/answerability.py; spaCy), states that short "
        "answer first, and otherwise refuses, saying what is missing and citing the closest sentence; a follow-up "
        "the analysis vouches for, or a question whose best sentence states the answer as asked (qa/stated.py), is "
        "answered a little below the threshold. On by default: on seed_dev, seed_dev2 "
        "and the SQuAD 2.0 sample it refuses more unanswerable questions than the similarity threshold alone at no "
        "more false refusals. Off: the similarity rule alone, and no spaCy load.",
    )
    answer_margin: float = Field(
        0.12, ge=0, le=1, description="With answerability: how far below the best sentence's score a sentence "
        "holding a candidate answer may score and still answer."
    )
    support_threshold: float = Field(
        0.5,
        description="Least cosine similarity between a claim and its cited quote for the citation to count as "
        "supported (numbers and names must also occur in the quote).",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")


def _split_list(value: Any) -> Any:
    """``"a, b"`` (an environment variable) → ``["a", "b"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class EndpointSettings(BaseModel):
    """An extra OpenAI-compatible endpoint the operator offers in the UI's Settings tab."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, description="Name shown in the Settings tab (never the URL).")
    base_url: str = Field(min_length=1, description="The endpoint's base URL, e.g. http://127.0.0.1:8080/v1.")
    api_key: SecretStr | None = Field(None, description="Key sent to this endpoint only (never shown or logged).")
    models: list[str] = Field(min_length=1, description="Models a user may pick at this endpoint (first: default).")


class UISettings(BaseModel):
    """Who may use ``citeqa ui`` and how: endpoints, logins and roles, concurrency."""

    model_config = ConfigDict(extra="forbid")

    endpoints: list[EndpointSettings] = Field(
        default_factory=list,
        description="Extra endpoints a user may pick in the Settings tab, besides the generator's own "
        "(generator.base_url with generator.model). Each endpoint's key goes to that endpoint only.",
    )
    models: list[str] = Field(
        default_factory=list,
        description="More models a user may pick at the generator's own endpoint (generator.model comes first).",
    )
    allowed_base_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes a user may type as a base URL in the Settings tab (with their own key), e.g. "
        "http://127.0.0.1:8080/v1. Empty (the default): only the endpoints above can be picked. Comma-separated "
        "in CITEQA_UI__ALLOWED_BASE_URLS.",
    )
    admins: list[str] = Field(
        default_factory=list,
        description="Users who may upload and delete articles (besides those marked admin in the password file). "
        "Comma-separated in CITEQA_UI__ADMINS.",
    )
    auth_file: Path | None = Field(
        None,
        description="Password file: one 'user:password[:admin]' line per user; the password may be a "
        "pbkdf2_sha256$... hash from `citeqa ui --hash-password`. Logins are then required.",
    )
    max_concurrent_questions: int = Field(
        16, ge=1, le=64, description="Questions answered at the same time (all sessions together)."
    )

    _split = field_validator("admins", "allowed_base_urls", "models", mode="before")(_split_list)

    @model_validator(mode="after")
    def _unique_names(self) -> UISettings:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("ui.endpoints names must be unique")
        return self


class Settings(BaseModel):
    """Every setting of citeqa, by stage. Build with ``get_settings()``."""

    model_config = ConfigDict(extra="forbid")

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    ui: UISettings = Field(default_factory=UISettings)

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
