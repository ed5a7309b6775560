"""Lexical retrieval over the same chunks as the dense index: bm25s with an English stemmer and stopwords.

Documents and queries go through one tokenizer (``tokenize``), so a query term matches every inflection
the stemmer conflates. Row ``i`` is chunk ``i``, as in the FAISS index.
"""

from __future__ import annotations

import json
import logging
import re
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import spelling
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

    def query_terms(self, text: str) -> list[list[str]]:
        """Per query word, its term and the terms of its other spellings (``embeddings.spelling``): 'behaviour'
        -> ['behaviour', 'behavior']. The index keeps each article's own spelling, so a query searches both."""
        words = [w for w in _WORD.findall(text.lower()) if w not in self._stopwords]
        return [list(dict.fromkeys(self._stemmer.stemWords([w, *sorted(spelling.variants(w))]))) for w in words]


_tokenizer: _Tokenizer | None = None


def tokenize(text: str) -> list[str]:
    """The BM25 terms of ``text`` (stemmed, stopwords removed)."""
    global _tokenizer
    if _tokenizer is None:
        _tokenizer = _Tokenizer()
    return _tokenizer(text)


def query_terms(text: str) -> list[list[str]]:
    """The BM25 terms of a query, per word: its own term first, then those of its other spellings."""
    global _tokenizer
    if _tokenizer is None:
        _tokenizer = _Tokenizer()
    return _tokenizer.query_terms(text)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise RetrievalError("BM25 needs bm25s: pip install bm25s") from exc
    return bm25s


class BM25Builder:
    """Collects documents one at a time as token ids, then builds a ``BM25Index`` over them.

    Holds 4 bytes per token (an int32 array of the ids of every document, end to end), 8 bytes per document
    and the vocabulary, instead of the strings: a list of token strings per chunk costs ~60 bytes per token
    (a str object plus a pointer; the stemmer returns a new str for every word). bm25s builds its index from
    the ids directly (``bm25s.tokenization.Tokenized``).

    Example:
        >>> builder = BM25Builder()
        >>> builder.add("Cats purr."); builder.add("Ships sail.")
        >>> builder.build().n_docs
        2
    """

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}
        self._ids = array("i")
        self._ends = array("q")

    @property
    def n_docs(self) -> int:
        return len(self._ends)

    def add(self, text: str) -> None:
        """Append ``text`` as the next document (row ``n_docs``)."""
        vocab = self._vocab
        # A chunk without any indexable word still needs a row; "" is bm25s's own empty token.
        for term in tokenize(text) or [""]:
            term_id = vocab.get(term)
            if term_id is None:
                term_id = vocab[term] = len(vocab)
            self._ids.append(term_id)
        self._ends.append(len(self._ids))

    def build(self) -> BM25Index:
        """The index over every document added (the builder may be dropped afterwards)."""
        bm25s = _bm25s()
        # scipy (when installed; it comes with sentence-transformers) builds the score matrix in about half the
        # memory of bm25s's numpy code, which sorts 64-bit keys (`python -m evals.bench.index_memory` measures it).
        retriever = bm25s.BM25(csc_backend="auto")
        if self.n_docs:
            corpus = bm25s.tokenization.Tokenized(ids=_TokenIds(self._ids, self._ends), vocab=self._vocab)
            retriever.index(corpus, show_progress=False)
        return BM25Index(retriever, self.n_docs)


class _TokenIds:
    """Documents' token ids as bm25s reads them (a sequence of lists), sliced from one array on demand."""

    def __init__(self, ids: array, ends: array) -> None:
        self._ids = ids
        self._ends = ends

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, row: int) -> list[int]:
        start = self._ends[row - 1] if row > 0 else 0
        return self._ids[start : self._ends[row]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        start = 0
        for end in self._ends:
            yield self._ids[start:end].tolist()
            start = end


class BM25Index:
    """A bm25s index over chunk texts; ``search`` returns chunk rows."""

    def __init__(self, retriever: Any, n_docs: int) -> None:
        self._retriever = retriever
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Iterable[str]) -> BM25Index:
        """Index ``texts`` (row i = the i-th text)."""
        builder = BM25Builder()
        for text in texts:
            builder.add(text)
        return builder.build()

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows with a positive score: ``(scores, rows)`` best first; empty when no term is known."""
        if self.n_docs == 0 or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        vocab = self._retriever.vocab_dict
        # each word's term and those of its other spellings the index holds: a chunk says 'behavior' or
        # 'behaviour', seldom both, so either one scores as the word would
        ids = [vocab[t] for terms in query_terms(query) for t in terms if t in vocab]
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
