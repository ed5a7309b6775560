"""Errors of the retrieval layer.

    CiteqaError (corpus/errors.py)
     └── RetrievalError
          ├── IndexNotFoundError   (no index at the folder; run `citeqa index`)
          ├── IndexMismatchError   (built with another model or chunking settings)
          ├── IndexCorruptError    (files missing, truncated or inconsistent)
          └── EmbedderError        (the embedding model cannot be loaded)
"""

from __future__ import annotations

from corpus.errors import CiteqaError


class RetrievalError(CiteqaError):
    """Base class of retrieval-layer errors."""


class IndexNotFoundError(RetrievalError, FileNotFoundError):
    """There is no index at the given folder."""


class IndexMismatchError(RetrievalError):
    """The index on disk was built with another embedding model or other chunking settings."""


class IndexCorruptError(RetrievalError):
    """The index on disk is unreadable or inconsistent."""


class EmbedderError(RetrievalError):
    """The embedding model could not be loaded."""
