"""Errors raised by citeqa: one tree, drawn here whole.

Every error citeqa raises on purpose derives from one root, so callers can catch them all (the CLI and the
UI turn any of them into one line). Each package keeps its own branch in its ``errors.py``::

    CiteqaError
     ├── ArticleError                 (corpus: a file that cannot be read as an article)
     ├── RetrievalError               (embeddings/errors.py)
     │    ├── IndexNotFoundError      (no index at the folder; also a FileNotFoundError)
     │    ├── IndexMismatchError      (built with another model or chunking settings)
     │    ├── IndexCorruptError       (files missing, truncated, inconsistent or failing their checksums)
     │    ├── IndexBusyError          (a build of the folder is running in another process)
     │    ├── NotAnIndexError         (the folder holds something else than a citeqa index)
     │    └── EmbedderError           (the embedding model cannot be loaded)
     ├── QAError                      (qa/errors.py)
     │    ├── InvalidQuestionError    (empty, too long, control characters; also a ValueError)
     │    ├── ConfigError             (settings that cannot work as given; also a ValueError)
     │    ├── ArticleNotFoundError    (no article with that doc_id; also a KeyError)
     │    └── GeneratorError          (the generator failed)
     │         ├── EndpointError      (unreachable, timed out, kept failing)
     │         ├── AuthError          (the endpoint rejected the API key)
     │         └── ModelNotFoundError (the endpoint does not serve the model; also a KeyError)
     └── EvalError                    (evals/errors.py)
          ├── EvalSetError            (an eval set file that cannot be read; also a ValueError)
          └── SquadImportError        (a file that is not SQuAD JSON, or an unwritable output; also a ValueError)
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
