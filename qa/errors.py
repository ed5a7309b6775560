"""Errors of the generation layer.

    CiteqaError (corpus/errors.py)         exported from qa as QAError: catch it to catch everything
     ├── RetrievalError ... (embeddings/errors.py)
     ├── InvalidQuestionError   (empty, too long, control characters)
     ├── ConfigError            (settings that cannot work together, e.g. openai backend without a model)
     └── GeneratorError         (the generator failed)
          ├── EndpointError     (unreachable endpoint, timeout, server error after retries)
          ├── AuthError         (the endpoint rejected the API key)
          └── ModelNotFoundError(the endpoint does not serve the model)
"""

from __future__ import annotations

from corpus.errors import CiteqaError

QAError = CiteqaError


class InvalidQuestionError(CiteqaError, ValueError):
    """The question is empty, too long or contains control characters."""


class ConfigError(CiteqaError, ValueError):
    """The settings cannot work as given."""


class GeneratorError(CiteqaError):
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
