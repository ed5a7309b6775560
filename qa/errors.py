"""Errors of the generation layer (the whole tree of citeqa's errors is drawn in corpus/errors.py).

    CiteqaError (corpus/errors.py)   catch it to catch every citeqa error, whatever the layer
     └── QAError                     (qa: catch it to catch the errors below)
          ├── InvalidQuestionError   (empty, too long, control characters)
          ├── ConfigError            (settings that cannot work together, e.g. openai backend without a model)
          ├── ArticleNotFoundError   (no article with that doc_id in the index; also a KeyError)
          └── GeneratorError         (the generator failed)
               ├── EndpointError     (unreachable endpoint, timeout, server error after retries)
               ├── AuthError         (the endpoint rejected the API key)
               └── ModelNotFoundError(the endpoint does not serve the model)
"""

from __future__ import annotations

from corpus.errors import CiteqaError


class QAError(CiteqaError):
    """Base class of the errors the generation layer raises on purpose."""


class InvalidQuestionError(QAError, ValueError):
    """The question is empty, too long or contains control characters."""


class ConfigError(QAError, ValueError):
    """The settings cannot work as given."""


class ArticleNotFoundError(QAError, KeyError):
    """No article with that doc_id is in the index (a ``KeyError`` too, as a lookup by key that failed)."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class GeneratorError(QAError):
    """The generator failed to produce an answer."""

    retryable: bool = False


class EndpointError(GeneratorError):
    """The LLM endpoint is unreachable, timed out or kept failing."""

    retryable = True


class AuthError(GeneratorError):
    """The LLM endpoint rejected the API key."""


class ModelNotFoundError(GeneratorError, KeyError):
    """The LLM endpoint does not serve the configured model."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""
