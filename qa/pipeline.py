"""The answer path: history + question → standalone query → hybrid retrieval → generator → cite → Answer.

``QA`` holds the loaded index and models; build it once with ``QA.from_settings`` and call ``answer`` or
``stream`` as often as you like: the query path does no disk I/O and loads no model. Copies made with
``with_settings`` / ``with_generator`` share the loaded index through one ``SharedIndex``, so an update
(``add_files``, ``remove_article``) through any of them is seen by all.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from corpus.errors import ArticleError
from corpus.load import SUPPORTED_SUFFIXES, bundled_corpus_dir, iter_articles, load_article
from corpus.types import Article
from embeddings.config import ChunkSettings
from embeddings.embedder import Embedder, load_embedder
from embeddings.errors import IndexBusyError, IndexNotFoundError
from embeddings.store import BuildReport, Index, build_index, remove_articles
from embeddings.types import Hit
from qa import lexical
from qa.cite import cite, strip_markers
from qa.config import GeneratorSettings, Settings, get_settings
from qa.errors import ConfigError, InvalidQuestionError
from qa.evidence import CachedEmbedder, Evidence
from qa.extractive import REFUSAL_TEXT, ExtractiveGenerator
from qa.prompts import CANNOT_ANSWER_PHRASE
from qa.rewrite import rewrite_followup
from qa.types import Answer

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str], None]


class Generator(Protocol):
    """What the answer path needs of a generator: text deltas with [n] markers indexing the hits."""

    name: str

    def generate(self, question: str, hits: Sequence[Hit], history: Sequence[dict] | None = None) -> Iterator[str]: ...


@dataclass(frozen=True)
class ArticleInfo:
    """An indexed article as the UI and CLI list it."""

    doc_id: str
    title: str
    author: str | None
    outlet: str | None
    date: str | None
    n_chunks: int


@dataclass(frozen=True)
class AddReport:
    """Result of adding files: the index update, the files that were skipped and why, the new doc_ids."""

    report: BuildReport | None
    skipped: list[ArticleError]
    added_doc_ids: list[str]


def validate_question(question: Any, *, max_chars: int) -> str:
    """The question stripped, or InvalidQuestionError with a message a person can act on."""
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be text, not {type(question).__name__}")
    q = question.strip()
    if not q:
        raise InvalidQuestionError("the question is empty")
    if len(q) > max_chars:
        raise InvalidQuestionError(f"the question is {len(q)} characters long; the limit is {max_chars}")
    at = _unencodable_at(q)
    if at is not None:
        raise InvalidQuestionError(f"the question {_NOT_UNICODE} at character {at + 1}")
    bad = [ch for ch in q if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r"]
    if bad:
        raise InvalidQuestionError(f"the question contains control characters ({', '.join(repr(c) for c in bad[:3])})")
    return q


def _validate_history(history: Sequence[dict] | None) -> list[dict]:
    if history is None:
        return []
    out = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant", "system"):
            raise InvalidQuestionError(f"history turn {i} must be a dict with role user/assistant and content")
        if not isinstance(turn.get("content"), str):
            raise InvalidQuestionError(f"history turn {i} has no text content")
        at = _unencodable_at(turn["content"])
        if at is not None:
            raise InvalidQuestionError(f"history turn {i} {_NOT_UNICODE} at character {at + 1}")
        out.append({"role": turn["role"], "content": turn["content"]})
    return out


# What a lone surrogate is to a person: text decoded from bytes that were not UTF-8 (Python's surrogateescape
# turns such bytes into U+DC80..U+DCFF) or a half of a UTF-16 pair. No model, tokenizer, JSON encoder or
# terminal can take it, so it is refused here, by position: echoing the character would break the message too.
_NOT_UNICODE = "contains a character that is not valid Unicode text (a lone surrogate, e.g. from undecodable bytes)"


def _unencodable_at(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def is_refusal(text: str) -> bool:
    """True when the generator said the articles don't contain the answer."""
    folded = lexical.fold(text)
    return lexical.fold(CANNOT_ANSWER_PHRASE) in folded or "do not contain the answer" in folded


def uploads_dir(settings: Settings) -> Path:
    """Where files added through the UI are kept, beside the index folder (the index itself is swapped on writes)."""
    index_dir = settings.index_dir()
    return index_dir.with_name(index_dir.name + "-uploads")


def _load_uploads(files: Sequence[Path], skipped: list[ArticleError], *, max_bytes: int) -> Iterator[Article]:
    """Uploaded files, read one at a time, keep their ``uploads/<name>`` doc_ids when the index is rebuilt."""
    for p in files:
        try:
            yield load_article(p, doc_id=f"uploads/{p.name}", max_bytes=max_bytes)
        except ArticleError as exc:
            skipped.append(exc)


@dataclass(frozen=True)
class LoadedIndex:
    """One loaded index and the sentence evidence over its articles: what one answer reads from start to end."""

    index: Index
    evidence: Evidence


class SharedIndex:
    """The loaded index of a ``QA`` and of every copy made from it, reloaded in place when the index changes.

    ``current`` is one attribute holding a ``LoadedIndex``: a question reads it once and keeps that snapshot, so
    an answer sees either the old index or the new one, never a mix (the swap is a single reference assignment).
    Updates hold a lock for the disk write and the reload, so two of them never interleave.

    Args:
        index: the loaded index.
        embedder: the index's embedder, shared by every copy (wrapped in a ``CachedEmbedder`` if it is not one).
        chunking: the chunking the index was built with (a reload checks it again).
    """

    def __init__(self, index: Index, embedder: Embedder, *, chunking: ChunkSettings) -> None:
        evidence = Evidence(index.articles, embedder)
        self.embedder: CachedEmbedder = evidence.embedder
        self.index_dir = index.index_dir
        self.chunking = chunking
        self.current = LoadedIndex(index, evidence)
        self._update_lock = threading.Lock()

    @contextmanager
    def updating(self) -> Iterator[Index]:
        """Hold the update lock while the body changes the index on disk, then load the result for everyone.

        Yields the index loaded now. When the body raises, nothing is reloaded: index writes are atomic, so the
        disk still holds the index that is loaded.
        """
        with self._update_lock:
            yield self.current.index
            index = Index.load(self.index_dir, embedder=self.embedder, chunking=self.chunking)
            self.current = LoadedIndex(index, Evidence(index.articles, self.embedder))


class QA:
    """Question answering over one index. Build with ``QA.from_settings``.

    Example::

        qa = QA.from_settings({"retrieval": {"top_k": 5}})
        a = qa.answer("Where did Macron receive Putin in 2017?")
        print(a.text, a.citations[0].quote)

    Args:
        settings: resolved settings.
        index: a loaded ``Index``, or the ``SharedIndex`` of another QA to share its index and its updates.
        embedder: the index's embedder (for a ``SharedIndex``, the one it holds).
        generator: a generator to answer with instead of the one ``settings.generator`` names.
    """

    def __init__(
        self,
        settings: Settings,
        index: Index | SharedIndex,
        embedder: Embedder,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        if isinstance(index, SharedIndex):
            if getattr(embedder, "inner", embedder) is not index.embedder.inner:
                raise ValueError("a QA sharing an index must use that index's embedder")
            self.shared = index
        else:
            self.shared = SharedIndex(index, embedder, chunking=settings.chunking)
        self.embedder = self.shared.embedder  # cached: the query embedded for retrieval is reused
        # None: the extractive generator over whichever index is current
        self._generator: Generator | None = generator
        if generator is None and settings.generator.resolved_backend() == "openai":
            from qa.llm import OpenAIGenerator

            self._generator = OpenAIGenerator(settings.generator)

    @property
    def index(self) -> Index:
        """The index as loaded now (an update swaps in another one)."""
        return self.shared.current.index

    @property
    def evidence(self) -> Evidence:
        """Sentences and vectors of the current index's articles."""
        return self.shared.current.evidence

    @property
    def extractive(self) -> ExtractiveGenerator:
        """The offline extractive generator over the current index, with this QA's answer settings."""
        return ExtractiveGenerator(self.evidence, self.settings.answer)

    @property
    def generator(self) -> Generator:
        """The generator that answers: the configured LLM, or the extractive generator over the current index."""
        return self._generator if self._generator is not None else self.extractive

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings | dict[str, Any] | str | Path | None = None) -> QA:
        """Load the index and models once. Raises IndexNotFoundError when there is no index yet."""
        s = get_settings(settings)
        embedder = CachedEmbedder(load_embedder(s.embedding))
        index = Index.load(s.index_dir(), embedder=embedder, chunking=s.chunking)
        return cls(s, index, embedder)

    @staticmethod
    def build(
        settings: Settings | dict[str, Any] | None = None,
        paths: Sequence[str | Path] | None = None,
        *,
        progress: bool = True,
        rebuild: bool = False,
        embedder: Embedder | None = None,
        if_absent: bool = False,
    ) -> tuple[BuildReport, list[ArticleError]]:
        """Build or incrementally update the index from files (default: bundled corpus + uploads).

        Files are read one at a time as the build consumes them (``iter_articles``), so the collection need
        not fit in memory; the skipped files are complete once the build is done. The index is written beside
        the current one and swapped in (``build_index``), so the current index answers until then, with
        ``rebuild`` too, and a folder that is not a citeqa index is refused (NotAnIndexError) and left alone.

        Args:
            rebuild: embed every article again instead of reusing the current index's vectors.
            if_absent: build only into an absent folder, never over an index, a running or an interrupted build
                (see ``build_index``); what a query path may do.
        """
        s = get_settings(settings)
        stream = iter_articles(
            list(paths) if paths else [bundled_corpus_dir()],
            max_file_bytes=s.corpus.max_file_bytes,
            follow_symlinks=s.corpus.follow_symlinks,
        )
        uploads = sorted(uploads_dir(s).iterdir()) if not paths and uploads_dir(s).is_dir() else []
        upload_skips: list[ArticleError] = []
        articles = itertools.chain(stream, _load_uploads(uploads, upload_skips, max_bytes=s.corpus.max_file_bytes))
        first = next(articles, None)  # reads up to the first readable file
        if first is None:
            raise ArticleError(", ".join(str(p) for p in (paths or [])) or "corpus", "no readable articles to index")
        emb = embedder or load_embedder(s.embedding)
        report = build_index(
            itertools.chain([first], articles),
            index_dir=s.index_dir(),
            embedder=emb,
            chunking=s.chunking,
            index_settings=s.index,
            progress=progress,
            replace=True,
            total=stream.n_files + len(uploads),
            rebuild=rebuild,
            if_absent=if_absent,
            sources=[str(Path(p).resolve()) for p in paths] if paths else [],
        )
        skipped = [*stream.skipped, *upload_skips]
        for err in upload_skips:  # logged like the stream's own; the caller reports them all (once)
            logger.info("skipped %s", err)
        return report, skipped

    @classmethod
    def ensure(cls, settings: Settings | dict[str, Any] | None = None, *, progress: bool = True) -> QA:
        """Load the index, building it from the bundled corpus first when the index folder is absent.

        A query path never builds over anything: an existing folder (index or not), a build running in another
        process (IndexBusyError naming its pid) or the checkpoint of an interrupted one (IndexNotFoundError) are
        left alone. While a build updates an existing index, the current index is loaded and answers.
        """
        s = get_settings(settings)
        embedder = CachedEmbedder(load_embedder(s.embedding))
        try:
            index = Index.load(s.index_dir(), embedder=embedder, chunking=s.chunking)
        except IndexNotFoundError:
            logger.info("no index at %s: building it from %s", s.index_dir(), bundled_corpus_dir())
            try:
                cls.build(s, progress=progress, embedder=embedder, if_absent=True)
            except IndexBusyError as exc:
                raise IndexBusyError(f"{exc} and there is no finished index to read yet; try again when it is done",
                                     pid=exc.pid) from None
            index = Index.load(s.index_dir(), embedder=embedder, chunking=s.chunking)
        return cls(s, index, embedder)

    def with_generator(self, generator_settings: GeneratorSettings | dict[str, Any]) -> QA:
        """The same loaded index and models with another generator (e.g. from the UI's settings tab).

        The copy shares this QA's index: files added or removed through either are seen by both.
        """
        merged = self.settings.generator.model_dump()
        update = (
            generator_settings.model_dump() if isinstance(generator_settings, GeneratorSettings) else generator_settings
        )
        merged.update(update)
        settings = self.settings.model_copy(update={"generator": GeneratorSettings.model_validate(merged)})
        return QA(settings, self.shared, self.embedder)

    def with_settings(self, **sections: Any) -> QA:
        """The same index with other retrieval/answer settings, e.g. ``qa.with_settings(retrieval={"top_k": 8})``.

        The copy shares this QA's index: files added or removed through either are seen by both.
        """
        data = self.settings.model_dump()
        for name, values in sections.items():
            if name not in ("retrieval", "answer", "generator"):
                raise ConfigError(f"{name} settings need a rebuilt index; only retrieval/answer/generator can change")
            data[name].update(values)
        return QA(get_settings(data), self.shared, self.embedder)

    # -- the answer path ------------------------------------------------------------------------------
    def standalone_query(self, question: str, history: Sequence[dict]) -> str:
        """The query to search: the LLM rewrites follow-ups when configured, else the deterministic rewrite."""
        if not history:
            return question
        rewrite = getattr(self.generator, "rewrite_query", None)
        if rewrite is not None:
            rewritten = str(rewrite(question, history)).strip()
            if rewritten and rewritten != question:
                return rewritten
            # the LLM gave nothing usable (it falls back to the bare question): carry the subject over ourselves
        return rewrite_followup(question, history)

    def stream(self, question: str, history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text deltas as they are generated, then the final ``Answer``."""
        t0 = time.perf_counter()
        q = validate_question(question, max_chars=self.settings.answer.max_question_chars)
        turns = _validate_history(history)
        timings: dict[str, float] = {}
        query = self.standalone_query(q, turns)
        timings["rewrite"] = (time.perf_counter() - t0) * 1000
        loaded = self.shared.current  # this answer reads one index throughout, even if an update lands meanwhile
        hits, search_ms = loaded.index.search_timed(query, self.settings.retrieval)
        timings.update({f"retrieve.{k}": v for k, v in search_ms.items()})
        timings["retrieve"] = sum(search_ms.values())
        t1 = time.perf_counter()
        parts: list[str] = []
        generator = self._generator
        if generator is None:
            generator = ExtractiveGenerator(loaded.evidence, self.settings.answer)
        if hits:
            if isinstance(generator, ExtractiveGenerator):
                deltas = generator.generate(q, hits, turns, query=query)
            else:
                deltas = generator.generate(q, hits, turns)
            for delta in deltas:
                parts.append(delta)
                yield delta
        else:  # an empty index or a query nothing matches: nothing to answer from
            parts.append(REFUSAL_TEXT)
            yield REFUSAL_TEXT
        raw = "".join(parts)
        timings["generate"] = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        result = cite(raw, hits, loaded.evidence, support_threshold=self.settings.answer.support_threshold)
        # A refusal that still cites something ("The articles don't say X, but [1] says Y") keeps its citations;
        # it counts as a refusal only when it cites nothing or opens with the phrase.
        starts_with_refusal = lexical.fold(raw).lstrip().startswith(lexical.fold(CANNOT_ANSWER_PHRASE))
        refused = is_refusal(raw) and (not result.citations or starts_with_refusal)
        if refused and not result.citations:
            text, citations, unsupported = strip_markers(raw), [], 0
        else:
            text, citations, unsupported = result.text, result.citations, result.unsupported
        timings["cite"] = (time.perf_counter() - t2) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        yield Answer(
            text=re.sub(r"\s+\n", "\n", text),
            citations=citations,
            chunks=list(hits),
            refused=refused,
            query=query,
            backend=generator.name,
            question=q,
            unsupported=unsupported,
            timings_ms={k: round(v, 2) for k, v in timings.items()},
        )

    def answer(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        """Answer a question (with optional conversation history); see ``stream`` for the streaming form."""
        final: Answer | None = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    # -- articles -------------------------------------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        """Indexed articles with their chunk counts, by doc_id."""
        index = self.index
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [
            ArticleInfo(a.doc_id, a.title, a.meta.author, a.meta.outlet, a.meta.date, counts.get(a.doc_id, 0))
            for a in sorted(index.articles.values(), key=lambda a: a.doc_id)
        ]

    def article(self, doc_id: str) -> Article:
        return self.index.articles[doc_id]

    def add_files(self, paths: Sequence[Path], progress: ProgressFn | None = None) -> AddReport:
        """Copy files into the uploads folder and index them incrementally; unreadable ones are skipped.

        Each file is read (and copied) when the build takes it, so only one batch of texts is held at a time.
        """
        up = uploads_dir(self.settings)
        up.mkdir(parents=True, exist_ok=True)
        skipped: list[ArticleError] = []
        added: list[str] = []
        n_files = sum(Path(p).suffix.lower() in SUPPORTED_SUFFIXES for p in paths)

        def read() -> Iterator[Article]:
            for p in map(Path, paths):
                if p.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append(ArticleError(p.name, f"unsupported file type {p.suffix or '(none)'}"))
                    continue
                try:
                    art = load_article(p, doc_id=f"uploads/{p.name}", max_bytes=self.settings.corpus.max_file_bytes)
                except ArticleError as exc:
                    skipped.append(ArticleError(p.name, exc.reason))
                    continue
                shutil.copyfile(p, up / p.name)
                added.append(art.doc_id)
                yield art

        articles = read()
        first = next(articles, None)
        if first is None:
            return AddReport(None, skipped, [])
        if progress:
            progress(f"indexing {n_files} article(s)")
        with self.shared.updating():  # one update at a time; every copy of this QA sees the new index
            report = build_index(
                itertools.chain([first], articles),
                index_dir=self.settings.index_dir(),
                embedder=self.embedder.inner,  # chunk vectors need no cache
                chunking=self.settings.chunking,
                index_settings=self.settings.index,
                progress=False,
                replace=False,
                total=n_files,
            )
        return AddReport(report, skipped, added)

    def remove_article(self, doc_id: str) -> BuildReport:
        """Drop an article from the index (and its uploaded file, if it was uploaded)."""
        with self.shared.updating() as index:
            if doc_id not in index.articles:
                raise KeyError(f"no article {doc_id!r} in the index")
            report = remove_articles(
                [doc_id],
                index_dir=self.settings.index_dir(),
                embedder=self.embedder.inner,
                chunking=self.settings.chunking,
                index_settings=self.settings.index,
            )
            if doc_id.startswith("uploads/"):
                (uploads_dir(self.settings) / doc_id.removeprefix("uploads/")).unlink(missing_ok=True)
        return report
