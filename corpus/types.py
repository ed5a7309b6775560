"""Records of the corpus stage: articles and their chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def text_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: an article's ``content_hash`` (and what index fingerprints are made of)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ArticleMeta:
    """What the article's text states about itself; None when it does not say (never guessed)."""

    author: str | None = None
    outlet: str | None = None
    date: str | None = None  # ISO 8601 (YYYY-MM-DD) when a date is stated in the text


@dataclass(frozen=True)
class Article:
    """One article after cleaning. Every offset in citeqa indexes ``text``.

    Attributes:
        doc_id: the file's path relative to its corpus folder, e.g. ``001_4531c746a2d8eea5.txt``.
        title: the stated title, or the first line when none is marked.
        text: the cleaned text (boilerplate removed), as stored in the index.
        meta: author / outlet / date when stated.
        content_hash: sha256 hex of ``text``; drives incremental indexing.
    """

    doc_id: str
    title: str
    text: str
    meta: ArticleMeta = field(default_factory=ArticleMeta)
    content_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of an article: ``article.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"
