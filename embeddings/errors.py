"""Errors of the retrieval layer.

    CiteqaError (corpus/errors.py)
     └── RetrievalError
          ├── IndexNotFoundError   (no index at the folder; run `citeqa index`)
          ├── IndexMismatchError   (built with another model or chunking settings)
          ├── IndexCorruptError    (files missing, truncated, inconsistent or not matching their checksums)
          ├── IndexBusyError       (a build of the folder is running: there is no finished index to read yet)
          ├── NotAnIndexError      (the folder holds something else than a citeqa index: never touched)
          ├── EmbedderError        (the embedding model cannot be loaded)
          └── StoreUnavailableError (the Milvus store cannot be reached or fails: the message names its URI)
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
    """The index on disk is unreadable, inconsistent or does not match its checksums (`citeqa index` repairs it)."""


class IndexBusyError(RetrievalError):
    """A build of the index folder is running in another process (``pid``, when known)."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class NotAnIndexError(RetrievalError):
    """The folder exists and holds files that are not a citeqa index: citeqa neither reads nor replaces it."""


class EmbedderError(RetrievalError):
    """The embedding model could not be loaded."""


class StoreUnavailableError(RetrievalError, ConnectionError):
    """The vector store (Milvus at ``uri``) cannot be reached or failed; citeqa never falls back to FAISS."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri
