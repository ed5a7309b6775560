"""citeqa's generation layer: grounded answers whose every claim cites the exact words of its source.

Example::

    from qa import answer
    a = answer("Where did Macron receive Putin in 2017?")
    print(a.text)
    for c in a.citations:
        print(c.n, c.doc_id, c.quote)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from corpus.errors import CiteqaError
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RetrievalError
from qa.config import Settings, get_settings
from qa.errors import (
    ArticleNotFoundError,
    AuthError,
    ConfigError,
    EndpointError,
    GeneratorError,
    InvalidQuestionError,
    ModelNotFoundError,
    QAError,
)
from qa.pipeline import QA
from qa.types import Answer, Citation, CitedClaim, ClaimCheck, Retrieved, ShortAnswer

__all__ = [
    "QA",
    "Answer",
    "ArticleNotFoundError",
    "AuthError",
    "CiteqaError",
    "Citation",
    "CitedClaim",
    "ClaimCheck",
    "ConfigError",
    "EndpointError",
    "GeneratorError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InvalidQuestionError",
    "ModelNotFoundError",
    "QAError",
    "RetrievalError",
    "Retrieved",
    "Settings",
    "ShortAnswer",
    "answer",
    "get_settings",
]

_default: dict[str, QA] = {}
_lock = threading.Lock()
# Secrets enter the cache key as keyed hashes: a key that changes gets its own QA, and the cache's keys
# never hold the secret (nor an unsalted hash of it that a guess could be checked against).
_SALT = os.urandom(16)


def _cache_key(settings: Settings) -> str:
    """``settings`` as JSON, every secret replaced by an HMAC of it (JSON dumps mask secrets as '**********',
    so two API keys would look the same)."""

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            digest = hmac.new(_SALT, value.get_secret_value().encode("utf-8", "surrogatepass"), hashlib.sha256)
            return "secret:" + digest.hexdigest()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(settings.model_dump()), sort_keys=True, default=str)


def answer(
    question: str,
    *,
    settings: Settings | dict[str, Any] | str | Path | None = None,
    history: Sequence[dict] | None = None,
) -> Answer:
    """Answer one question with a cached ``QA`` (built once per distinct settings; index built if missing).

    Args:
        question: the question.
        settings: a Settings, a dict of sections, a JSON config path, or None for the defaults.
        history: earlier turns, [{"role": "user"|"assistant", "content": str}, ...].

    Example::

        a = answer("And who did they meet?", history=[{"role": "user", "content": "..."}, ...])
    """
    s = get_settings(settings)
    key = _cache_key(s)
    with _lock:
        qa = _default.get(key)
        if qa is None:
            qa = _default[key] = QA.ensure(s, progress=False)
    return qa.answer(question, history)
