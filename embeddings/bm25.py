"""Lexical retrieval over the same chunks as the dense index: bm25s with an English stemmer and stopwords.

Documents and queries go through one tokenizer (``tokenize``), so a query term matches every inflection
the stemmer conflates. Row ``i`` is chunk ``i``, as in the FAISS index.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import RetrievalError

logger = logging.getLogger(__name__)

_WORD = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default splitter: words of two characters or more
TOKENIZER_VERSION = 1
_STATE_FILE = "citeqa_bm25.json"


class _Tokenizer:
    """Lowercase, split, drop English stopwords, Snowball-stem (PyStemmer)."""

    def __init__(self) -> None:
        try:
            import Stemmer
            from bm25s.stopwords import STOPWORDS_EN
        except ImportError as exc:  # pragma: no cover - core dependencies
            raise RetrievalError("BM25 needs bm25s and PyStemmer: pip install bm25s PyStemmer") from exc
        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(STOPWORDS_EN)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in self._stopwords]
        return self._stemmer.stemWords(words) if words else []


_tokenizer: _Tokenizer | None = None


def tokenize(text: str) -> list[str]:
    """The BM25 terms of ``text`` (stemmed, stopwords removed)."""
    global _tokenizer
    if _tokenizer is None:
        _tokenizer = _Tokenizer()
    return _tokenizer(text)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise RetrievalError("BM25 needs bm25s: pip install bm25s") from exc
    return bm25s


class BM25Index:
    """A bm25s index over chunk texts; ``search`` returns chunk rows."""

    def __init__(self, retriever: Any, n_docs: int) -> None:
        self._retriever = retriever
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts`` (row i = texts[i])."""
        bm25s = _bm25s()
        retriever = bm25s.BM25()
        if texts:
            # A chunk without any indexable word still needs a row; "" is bm25s's own empty token.
            corpus = [tokenize(t) or [""] for t in texts]
            retriever.index(corpus, show_progress=False)
        return cls(retriever, len(texts))

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows with a positive score: ``(scores, rows)`` best first; empty when no term is known."""
        if self.n_docs == 0 or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        vocab = self._retriever.vocab_dict
        ids = [vocab[t] for t in tokenize(query) if t in vocab]
        if not ids:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        # Sort by score, then row, so ties come out in a stable order.
        top = top[np.lexsort((top, -scores[top]))]
        top = top[scores[top] > 0]
        return scores[top], top.astype(np.int64)

    def save(self, folder: Path) -> None:
        """Write the bm25s files and our own state (document count, tokenizer version) into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.n_docs:
            self._retriever.save(str(folder), show_progress=False)
        state = {"n_docs": self.n_docs, "tokenizer_version": TOKENIZER_VERSION}
        (folder / _STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        """Read an index written by ``save``; raises ValueError/OSError on missing or inconsistent files."""
        state = json.loads((folder / _STATE_FILE).read_text(encoding="utf-8"))
        if state.get("tokenizer_version") != TOKENIZER_VERSION:
            raise ValueError(f"BM25 tokenizer version {state.get('tokenizer_version')} != {TOKENIZER_VERSION}")
        n_docs = int(state["n_docs"])
        if n_docs == 0:
            return cls(_bm25s().BM25(), 0)
        retriever = _bm25s().BM25.load(str(folder), show_progress=False, verbosity=0)
        if int(retriever.scores["num_docs"]) != n_docs:
            raise ValueError(f"BM25 index holds {retriever.scores['num_docs']} documents, expected {n_docs}")
        return cls(retriever, n_docs)
