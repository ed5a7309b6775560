"""The article collection: building the index, adding and removing articles, the uploads folder, and the one
loaded index that a ``QA`` and every copy of it share.

The answer path (``qa.pipeline``) only reads the collection; everything that changes it is here::

    build(settings, paths)        index files (default: the bundled corpus + the uploads folder)
    load_or_build(settings, ...)  load the index, building it from the bundled corpus when the folder is absent
    Library.add_files(paths)      read files, copy them once into the uploads folder, index them incrementally
    Library.remove_article(id)    drop an article (and its uploaded file)

An uploaded file keeps the doc_id ``upload_doc_id(name)`` (``uploads/<name>``) through every rebuild.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from corpus.errors import ArticleError
from corpus.load import SUPPORTED_SUFFIXES, bundled_corpus_dir, iter_articles, load_article
from corpus.types import Article
from embeddings import BuildReport, Index, build_index, remove_articles
from embeddings.config import ChunkSettings
from embeddings.embedder import Embedder, load_embedder
from embeddings.errors import IndexBusyError, IndexNotFoundError
from qa.config import Settings, get_settings
from qa.errors import ArticleNotFoundError
from qa.evidence import CachedEmbedder, Evidence, SpacyEntities

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str], None]


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


# -- the uploads folder ---------------------------------------------------------------------------------------
def uploads_dir(settings: Settings) -> Path:
    """Where added files are kept, beside the index folder (the index itself is swapped on writes)."""
    index_dir = settings.index_dir()
    return index_dir.with_name(index_dir.name + "-uploads")


def upload_doc_id(name: str) -> str:
    """The doc_id of the file called ``name`` in the uploads folder: the one place that rule is written."""
    return f"uploads/{name}"


def _uploaded_file(settings: Settings, doc_id: str) -> Path | None:
    """The file in the uploads folder behind ``doc_id``, or None when ``doc_id`` is not an upload's."""
    path = uploads_dir(settings) / PurePosixPath(doc_id).name
    return path if upload_doc_id(path.name) == doc_id else None


def _load_uploads(files: Sequence[Path], skipped: list[ArticleError], *, max_bytes: int) -> Iterator[Article]:
    """The uploads folder's files, read one at a time, under their upload doc_ids; unreadable ones are skipped."""
    for p in files:
        try:
            yield load_article(p, doc_id=upload_doc_id(p.name), max_bytes=max_bytes)
        except ArticleError as exc:
            skipped.append(exc)


# -- building ---------------------------------------------------------------------------------------------------
def build(
    settings: Settings | dict[str, Any] | None = None,
    paths: Sequence[str | Path] | None = None,
    *,
    progress: bool = True,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    if_absent: bool = False,
    ray: str | None = None,
    ray_workers: int | None = None,
) -> tuple[BuildReport, list[ArticleError]]:
    """Build or incrementally update the index from files (default: bundled corpus + uploads).

    Files are read one at a time as the build consumes them (``iter_articles``), so the collection need
    not fit in memory; the skipped files are complete once the build is done. The index is written beside
    the current one and swapped in (``build_index``), so the current index answers until then, with
    ``rebuild`` too, and a folder that is not a citeqa index is refused (NotAnIndexError) and left alone.

    Args:
        settings: a Settings, a dict of sections, or None for the defaults.
        paths: files and folders to index; None for the bundled corpus and the uploads folder.
        progress: show a progress bar.
        rebuild: embed every article again instead of reusing the current index's vectors.
        embedder: the embedder to use (default: the one ``settings.embedding`` names, loaded now).
        if_absent: build only into an absent folder, never over an index, a running or an interrupted build
            (see ``build_index``); what a query path may do.
        ray: read, chunk and embed the new and changed articles on Ray first (``embeddings.ray_ingest``): a Ray
            address, or "local" for a Ray instance on this machine; None: no Ray (nothing imports it).
        ray_workers: actors embedding on Ray (default: the cluster's CPUs minus one).

    Returns:
        The build's report and the files that were skipped (each with its reason).

    Raises:
        ArticleError: no readable article at all.

    Example::

        report, skipped = build({"index": {"dir": "/tmp/idx"}}, ["corpus/articles"])
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
    files = [*stream.files, *((p, upload_doc_id(p.name)) for p in uploads)] if ray is not None else []
    first = next(articles, None)  # reads up to the first readable file
    if first is None:
        raise ArticleError(", ".join(str(p) for p in (paths or [])) or "corpus", "no readable articles to index")
    emb = embedder or load_embedder(s.embedding)
    ray_report = None
    if ray is not None:  # phase 1 on Ray fills the build's checkpoint; build_index below embeds nothing again
        from embeddings.ray_ingest import embed_on_ray

        ray_report = embed_on_ray(files, index_dir=s.index_dir(), embedder=emb, settings=s.embedding,
                                  chunking=s.chunking, address=ray, workers=ray_workers, rebuild=rebuild,
                                  max_file_bytes=s.corpus.max_file_bytes, progress=progress)
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
        entities=SpacyEntities() if s.answer.answerability else None,  # what the answers read (qa.evidence)
        sentence_vectors=s.index.sentence_vectors,
    )
    if ray_report is not None:  # the chunks embedded on Ray were embedded by this build, not resumed
        moved = min(ray_report.embedded_chunks, report.resumed_chunks)
        report = dataclasses.replace(report, embedded_chunks=report.embedded_chunks + moved,
                                     resumed_chunks=report.resumed_chunks - moved,
                                     seconds=report.seconds + ray_report.seconds)
    skipped = [*stream.skipped, *upload_skips]
    for err in upload_skips:  # logged like the stream's own; the caller reports them all (once)
        logger.info("skipped %s", err)
    return report, skipped


def load_or_build(settings: Settings, embedder: Embedder, *, progress: bool = True) -> Index:
    """Load the index, building it from the bundled corpus first when the index folder is absent.

    A query path never builds over anything: an existing folder (index or not), a build running in another
    process (IndexBusyError naming its pid) or the checkpoint of an interrupted one (IndexNotFoundError) are
    left alone. While a build updates an existing index, the current index is loaded and answers.
    """
    try:
        return Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking,
                          store=settings.index)
    except IndexNotFoundError:
        logger.info("no index at %s: building it from %s", settings.index_dir(), bundled_corpus_dir())
    try:
        build(settings, progress=progress, embedder=embedder, if_absent=True)
    except IndexBusyError as exc:
        raise IndexBusyError(f"{exc} and there is no finished index to read yet; try again when it is done",
                             pid=exc.pid) from None
    return Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking,
                      store=settings.index)


# -- the loaded index, shared ----------------------------------------------------------------------------------
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
        evidence = Evidence(index.articles, embedder, stored=index.entities, vectors=index.sentence_vectors)
        self.embedder: CachedEmbedder = evidence.embedder
        if index.embedder is not self.embedder and getattr(index.embedder, "inner", index.embedder) is embedder:
            index.embedder = self.embedder  # an index loaded with the bare model: the question is embedded once
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
            index = Index.load(self.index_dir, embedder=self.embedder, chunking=self.chunking,
                               store=self.current.index.store_settings)
            self.current = LoadedIndex(index, Evidence(index.articles, self.embedder, stored=index.entities,
                                                       vectors=index.sentence_vectors))


# -- the collection ----------------------------------------------------------------------------------------------
class Library:
    """The articles of one shared index: list, look up, add and remove them (every ``QA`` copy sees the change).

    A ``QA`` holds one as ``qa.library``.

    Args:
        settings: resolved settings (index folder, chunking, index and corpus settings).
        shared: the loaded index to read and update.

    Example::

        qa = QA.from_settings()
        report = qa.library.add_files([Path("report.txt")])
        qa.library.remove_article("uploads/report.txt")
    """

    def __init__(self, settings: Settings, shared: SharedIndex) -> None:
        self.settings = settings
        self.shared = shared

    def articles(self) -> list[ArticleInfo]:
        """Indexed articles with their chunk counts, by doc_id."""
        index = self.shared.current.index
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [
            ArticleInfo(a.doc_id, a.title, a.meta.author, a.meta.outlet, a.meta.date, counts.get(a.doc_id, 0))
            for a in sorted(index.articles.values(), key=lambda a: a.doc_id)
        ]

    def article(self, doc_id: str) -> Article:
        """The indexed article ``doc_id``.

        Raises:
            ArticleNotFoundError: no such article in the index (a ``KeyError`` too).
        """
        try:
            return self.shared.current.index.articles[doc_id]
        except KeyError:
            raise ArticleNotFoundError(f"no article {doc_id!r} in the index") from None

    def add_files(
        self, paths: Sequence[Path], progress: ProgressFn | None = None, *, names: Sequence[str] | None = None
    ) -> AddReport:
        """Index files incrementally and keep a copy of each in the uploads folder; unreadable ones are skipped.

        Each file is read, then copied (once), when the build takes it, so only one batch of texts is held at a
        time. Whether a file can be an article (type, size, text) is decided by ``corpus.load.load_article``.

        Args:
            paths: the files to add.
            progress: called with a status line as each file is read and once indexing starts.
            names: the name to keep each file under (its doc_id is ``upload_doc_id(name)``); default: its own name.
                The UI passes the names its upload policy checked (``ui.uploads``).
        """
        paths = [Path(p) for p in paths]
        kept = [Path(n).name for n in names] if names is not None else [p.name for p in paths]
        if len(kept) != len(paths):
            raise ValueError("add_files needs one name per path")
        up = uploads_dir(self.settings)
        up.mkdir(parents=True, exist_ok=True)
        skipped: list[ArticleError] = []
        added: list[str] = []
        # counted before reading, for the progress line and bar; load_article refuses the other types
        n_files = sum(Path(name).suffix.lower() in SUPPORTED_SUFFIXES for name in kept)

        def read() -> Iterator[Article]:
            for k, (p, name) in enumerate(zip(paths, kept, strict=True), 1):
                if progress:  # as the build takes each file: a line per file while a long upload is indexed
                    progress(f"reading {name} ({k} of {len(paths)})")
                try:
                    art = load_article(p, doc_id=upload_doc_id(name), max_bytes=self.settings.corpus.max_file_bytes)
                except ArticleError as exc:
                    skipped.append(ArticleError(name, exc.reason))
                    continue
                shutil.copyfile(p, up / name)
                added.append(art.doc_id)
                yield art

        articles = read()
        first = next(articles, None)
        if first is None:
            return AddReport(None, skipped, [])
        if progress:
            progress(f"indexing {n_files} article(s)")
        with self.shared.updating():  # one update at a time; every copy of the QA sees the new index
            report = build_index(
                itertools.chain([first], articles),
                index_dir=self.settings.index_dir(),
                embedder=self.shared.embedder.inner,  # chunk vectors need no cache
                chunking=self.settings.chunking,
                index_settings=self.settings.index,
                progress=False,
                replace=False,
                total=n_files,
                entities=SpacyEntities() if self.settings.answer.answerability else None,
                sentence_vectors=self.settings.index.sentence_vectors,
            )
        return AddReport(report, skipped, added)

    def remove_article(self, doc_id: str) -> BuildReport:
        """Drop an article from the index (and its file in the uploads folder, if it was added).

        Raises:
            ArticleNotFoundError: no such article in the index (a ``KeyError`` too).
        """
        with self.shared.updating() as index:
            if doc_id not in index.articles:
                raise ArticleNotFoundError(f"no article {doc_id!r} in the index")
            report = remove_articles(
                [doc_id],
                index_dir=self.settings.index_dir(),
                embedder=self.shared.embedder.inner,
                chunking=self.settings.chunking,
                index_settings=self.settings.index,
            )
            uploaded = _uploaded_file(self.settings, doc_id)
            if uploaded is not None:
                uploaded.unlink(missing_ok=True)
        return report
