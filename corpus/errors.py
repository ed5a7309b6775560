"""Errors raised by citeqa.

Every error citeqa raises derives from one root, so callers can catch them all::

    CiteqaError
     ├── ArticleError            (corpus: a file that cannot be read as an article)
     ├── RetrievalError          (embeddings: see embeddings/errors.py)
     └── QAError subclasses      (qa: see qa/errors.py)
"""

from __future__ import annotations


class CiteqaError(Exception):
    """Base class of every error citeqa raises on purpose."""


class ArticleError(CiteqaError):
    """A file could not be loaded as an article (unreadable, empty, binary, bad encoding)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
