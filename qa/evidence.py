"""Sentences of retrieved chunks and their embeddings, computed lazily and cached per process.

Both the extractive generator and the citation check look at the same sentences; this keeps the
splitting and the embedding of each sentence to once per process.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.sentences import split_sentences
from corpus.types import Article
from embeddings.embedder import Embedder
from embeddings.types import Hit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str


class Evidence:
    """Sentence splitting and embedding over a fixed set of articles, with caches.

    Args:
        articles: doc_id → Article (the index's articles; offsets index ``Article.text``).
        embedder: the index's embedder, so sentence and query vectors are comparable.
        cache_size: most sentence/claim vectors kept.
    """

    def __init__(self, articles: Mapping[str, Article], embedder: Embedder, *, cache_size: int = 20_000) -> None:
        self.articles = articles
        self.embedder = embedder
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def spans(self, doc_id: str) -> list[tuple[int, int]]:
        if doc_id not in self._spans:
            self._spans[doc_id] = split_sentences(self.articles[doc_id].text)
        return self._spans[doc_id]

    def sentences(self, hit: Hit) -> list[Sentence]:
        """Sentences lying inside the chunk; the chunk itself when a sentence was split across chunks."""
        text = self.articles[hit.doc_id].text
        inside = [
            Sentence(hit.doc_id, s, e, text[s:e]) for s, e in self.spans(hit.doc_id) if s >= hit.start and e <= hit.end
        ]
        return inside or [Sentence(hit.doc_id, hit.start, hit.end, text[hit.start : hit.end])]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors for texts, embedding only those not cached, in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vecs = self.embedder.embed(missing)
            for t, v in zip(missing, vecs, strict=True):
                self._vectors[t] = v
            while len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
        out = np.empty((len(texts), self.embedder.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            self._vectors.move_to_end(t)
            out[i] = self._vectors[t]
        return out
