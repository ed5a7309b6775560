"""The builder: write, update or shrink an index folder incrementally, atomically and resumably.

The folder's format is ``embeddings.layout``'s; ``embeddings.index.Index`` reads what this writes.

Atomicity: a build writes a sibling staging folder, fsyncs it and swaps it into place; a crash at any point
leaves either the old or the new index, and the old one answers until the swap (``rebuild=True`` too: it only
ignores the old index's contents). Builds of one folder are serialised with a lock file that names the builder's
pid. A folder holding anything but citeqa's files is never read, replaced or deleted (``NotAnIndexError``).

Reuse: an unchanged article (same content hash) keeps its stored chunks and vectors, once the files that hold them
match their sha256; damaged FAISS or BM25 files are rebuilt from the stored vectors, damaged records or vectors are
re-embedded from the articles.

Resumability: new and changed articles are chunked and embedded in batches (``_EMBED_BATCH_*``), and each
batch's vectors are committed to a checkpoint folder ``.<index>.resume/`` (see ``embeddings/checkpoint.py``)
as soon as they exist. A killed build leaves that checkpoint behind, and the next build with the same model
and chunking reuses it instead of re-embedding; a successful swap deletes it.

Memory: a build reads the articles as a stream, in two passes, and holds one batch of article texts at most.
  1. Each incoming article is compared with the previous index by content hash. A new or changed one is
     appended to a spill file in the staging folder and queued for embedding (``BatchEmbedder``); an
     unchanged one is dropped at once (its record, chunks and vectors are in the previous index).
  2. In doc_id order, each article's record is read back from the spill file or the previous
     ``articles.jsonl`` and written out with its chunk records; its vectors (checkpoint or previous
     ``vectors.npy``) are appended to the new ``vectors.npy`` and its chunks' BM25 token ids to a
     ``BM25Builder``. Then FAISS is built and saved, freed, and BM25 is built and saved.
What stays O(collection) in memory (``python -m evals.bench.index_memory`` measures it): per article its doc_id,
content hash and file offsets; per chunk its span (in the checkpoint's entries or the previous index's span array) and
its BM25 token ids (4 bytes per token); while FAISS is built, its copy of all vectors (flat/HNSW; IVF-SQ8 keeps 1 byte
per dimension) plus the pages of vectors.npy it reads through a map; while BM25 is built, bm25s's score matrix (a few
bytes per distinct term of each chunk, with scipy). A no-op run loads the FAISS and BM25 files to check them.
"""

from __future__ import annotations

import functools
import logging
import operator
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from corpus.types import Article, ArticleMeta
from embeddings.atomic import (
    build_lock,
    check_index_folder,
    discard,
    jsonl_line,
    parse_record,
    read_jsonl,
    recover,
    remove_stale_temps,
    sibling,
    staging_dir,
    swap_into_place,
)
from embeddings.bm25 import BM25Builder, BM25Index
from embeddings.checkpoint import PRECOUNT_GROUP, BatchEmbedder, Checkpoint, chunk_articles
from embeddings.config import ChunkSettings, IndexSettings
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.entities import EntityFinder
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from embeddings.faiss_index import DenseIndex
from embeddings.layout import (
    ARTICLES,
    BM25_DIR,
    CHUNKS,
    FAISS_FILE,
    INDEX_NAMES,
    MANIFEST_KEYS,
    VECTORS,
    article_record,
    check_compatible,
    check_span,
    checkpoint_key,
    content_hash,
    corrupt_error,
    fingerprint_hashes,
    is_derived,
    is_source,
    new_manifest,
    read_manifest,
    record_key,
    verify_files,
)
from embeddings.sentence_vectors import extras_current, finish_folder

logger = logging.getLogger(__name__)

# A checkpoint batch: at most this many articles, cut early once it holds this many chunks. 512 chunks are
# tens of seconds of work for the shipped model on a small CPU (``citeqa bench`` measures chunks/s): the most a
# killed build loses. Smaller calls should cost little (the model encodes 64 texts at a time anyway).
_EMBED_BATCH_ARTICLES = PRECOUNT_GROUP  # one token pre-count per batch
_EMBED_BATCH_CHUNKS = 512
_SPILL = "incoming.jsonl"  # records of new/changed articles, in the staging folder until the swap


@dataclass(frozen=True)
class BuildReport:
    """What a build or removal did.

    ``embedded_chunks`` counts chunks that went through the model in this build; ``resumed_chunks`` those
    whose vectors an earlier, interrupted build of the same folder had already computed.
    """

    articles: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    embedded_chunks: int
    seconds: float
    resumed_chunks: int = 0  # chunks whose vectors came from the checkpoint of an interrupted build


class _Stored(NamedTuple):
    """One article of the previous index, without its text."""

    content_hash: str
    record_key: bytes  # record_key of its title, meta and hash: equal iff its record would be written unchanged
    offset: int  # of its line in the previous articles.jsonl
    n_chars: int


@dataclass
class _Previous:
    """What a build can reuse from the index already on disk: per-article metadata, chunk spans, vectors.npy."""

    manifest: dict[str, Any]
    articles_file: Path
    docs: dict[str, _Stored]
    rows: dict[str, range]  # doc_id -> its rows in chunks.jsonl / vectors.npy (an article's rows are consecutive)
    spans: np.ndarray  # int64 (n_chunks, 2): start, end of each row's chunk
    vectors_file: Path
    vectors_offset: int  # where row 0 starts in vectors.npy (after the .npy header)

    def read_vectors(self, fh: IO[bytes], rows: range) -> np.ndarray:
        """Rows of the previous vectors.npy, read (not memory-mapped: mapped pages would stay resident)."""
        dim = int(self.manifest["dim"])
        fh.seek(self.vectors_offset + rows.start * dim * 4)
        data = fh.read(len(rows) * dim * 4)
        if len(data) != len(rows) * dim * 4:
            raise ValueError(f"{self.vectors_file} is shorter than its header says")
        return np.frombuffer(data, dtype=np.float32).reshape(len(rows), dim)


def _read_previous(index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings, missing_ok: bool,
                   damage_ok: bool) -> _Previous | None:
    """The reusable part of the current index, its source files checked against their sha256.

    Reads ``articles.jsonl`` and ``chunks.jsonl`` line by line, keeping no article text, with the same checks
    as ``Index.load``. Returns None (and logs why) when there is none (``missing_ok``) or it is incompatible or
    damaged (``damage_ok``: everything is then embedded again); raises otherwise.
    """
    try:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, index_dir=index_dir, embedder=embedder, chunking=chunking)
        try:
            verify_files(index_dir, manifest, select=is_source, hashed=is_source)
            return _scan_previous(index_dir, manifest, dim=embedder.dim)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise corrupt_error(index_dir, exc, manifest) from exc
    except IndexNotFoundError:
        if not missing_ok:
            raise
        return None
    except (IndexMismatchError, IndexCorruptError) as exc:
        if not damage_ok:
            raise
        logger.warning("rebuilding the index from scratch: %s", exc)
        return None


def _scan_previous(index_dir: Path, manifest: dict[str, Any], *, dim: int) -> _Previous:
    docs: dict[str, _Stored] = {}
    path = index_dir / ARTICLES
    with open(path, "rb") as fh:
        offset = 0
        for line in fh:
            if line.strip():
                rec = parse_record(line, path)
                key = record_key(rec["title"], ArticleMeta(**rec.get("meta", {})), rec["content_hash"])
                docs[rec["doc_id"]] = _Stored(rec["content_hash"], key, offset, len(rec["text"]))
            offset += len(line)
    n_chunks = int(manifest["n_chunks"])
    spans = np.zeros((n_chunks, 2), dtype=np.int64)
    rows: dict[str, range] = {}
    n_rows = 0
    for rec in read_jsonl(index_dir / CHUNKS):
        doc_id, start, end = rec["doc_id"], int(rec["start"]), int(rec["end"])
        check_span(doc_id, start, end, n_chars=docs[doc_id].n_chars)
        if n_rows == n_chunks:
            raise ValueError(f"more chunks on disk than the manifest's {n_chunks}")
        doc_rows = rows.get(doc_id)
        if doc_rows is not None and doc_rows.stop != n_rows:
            raise ValueError(f"the chunks of {doc_id} are not consecutive")
        rows[doc_id] = range(doc_rows.start if doc_rows else n_rows, n_rows + 1)
        spans[n_rows] = start, end
        n_rows += 1
    if n_rows != n_chunks or len(docs) != manifest["n_articles"]:
        raise ValueError(f"{len(docs)} articles / {n_rows} chunks on disk, manifest says "
                         f"{manifest['n_articles']} / {n_chunks}")
    if fingerprint_hashes((d, s.content_hash) for d, s in docs.items()) != manifest["corpus_fingerprint"]:
        raise ValueError("articles do not match the manifest's corpus fingerprint")
    vectors = np.load(index_dir / VECTORS, mmap_mode="r")  # reads the header only
    if vectors.shape != (n_chunks, dim) or vectors.dtype != np.float32 or not vectors.flags.c_contiguous:
        raise ValueError(f"{VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({n_chunks}, {dim}) float32")
    return _Previous(manifest, path, docs, rows, spans, index_dir / VECTORS, int(vectors.offset))


def build_index(
    articles: Iterable[Article], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings,
    index_settings: IndexSettings, progress: bool = True, replace: bool = True, total: int | None = None,
    rebuild: bool = False, if_absent: bool = False, sources: Sequence[str] | None = None,
    entities: EntityFinder | None = None, sentence_vectors: bool = False) -> BuildReport:
    """Build or update the index at ``index_dir`` from ``articles``, atomically.

    On an existing compatible index only added or changed articles (by content hash) are chunked and
    embedded; the others keep their stored chunks and vectors (checked against their sha256 first). With
    ``replace``, an incompatible or damaged index is rebuilt (FAISS and BM25 from the stored vectors when only they
    are damaged). The old index answers until the new one is swapped in, also with ``rebuild``.
    ``articles`` is read once, as a stream (e.g. ``corpus.load.iter_articles``): at most one batch of article
    texts is held at a time, so the collection need not fit in memory.

    Args:
        articles: the articles, any iterable; doc_ids must be unique (ValueError when the stream repeats one;
            vectors embedded before that are kept in the checkpoint for the next build).
        replace: True: the index ends up holding exactly ``articles``; False: add/update only (a damaged or
            incompatible index then raises rather than being replaced by ``articles`` alone).
        progress: show a progress bar while embedding (stderr).
        total: how many articles to expect, for the progress bar; default ``operator.length_hint(articles)``.
        rebuild: embed every article again, reusing nothing of the current index (an interrupted build's
            checkpoint still counts: its vectors were embedded with these very settings).
        if_absent: build only into an absent or empty folder with no checkpoint, and never wait for a running
            build: when a finished index appeared meanwhile, nothing is done (a report of zeros). For query paths
            that build a default index.
        sources: the paths the articles come from, recorded in the manifest ([] = the bundled articles) so that
            a damaged index can say how to repair it.
        entities: finds the sentence entities stored in the index (``embeddings.entities``); None keeps the reusable.
        sentence_vectors: embed the sentences of new articles for ``sentence_vectors.bin``; False keeps the reusable.

    Raises:
        NotAnIndexError: ``index_dir`` holds files that are not a citeqa index (nothing is touched).
        IndexBusyError: ``if_absent`` and another process is building the folder.
        IndexNotFoundError: ``if_absent`` and an interrupted build left its checkpoint (finish that one first).
        IndexCorruptError / IndexMismatchError: ``replace=False`` and the current index is damaged/incompatible.

    Example:
        >>> build_index(iter_articles(["~/articles"]), index_dir=Path("index"), embedder=load_embedder(),
        ...             chunking=ChunkSettings(), index_settings=IndexSettings())
    """
    return _update(Path(index_dir), articles, set(), embedder=embedder, chunking=chunking,
                   index_settings=index_settings, progress=progress, replace=replace, missing_ok=True,
                   damage_ok=replace, total=operator.length_hint(articles) if total is None else total,
                   rebuild=rebuild, if_absent=if_absent, entities=entities, sentence_vectors=sentence_vectors,
                   sources=None if sources is None else [str(x) for x in sources])


def remove_articles(
    doc_ids: Iterable[str], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings,
    index_settings: IndexSettings,
) -> BuildReport:
    """Drop ``doc_ids`` (unknown ids are ignored) from the existing index at ``index_dir``, atomically.

    Raises:
        IndexNotFoundError / IndexMismatchError / IndexCorruptError: as ``Index.load``.
    """
    return _update(Path(index_dir), [], set(doc_ids), embedder=embedder, chunking=chunking,
                   index_settings=index_settings, progress=False, replace=False, missing_ok=False, damage_ok=False,
                   total=0)


class _Doc(NamedTuple):
    """An article of the index being built: where its record is, and whether its vectors are new."""

    content_hash: str
    offset: int  # of its record in the spill file (``spilled``) or in the previous articles.jsonl
    spilled: bool
    fresh: bool  # chunks and vectors from the checkpoint, else from the previous index


def _update(
    index_dir: Path, incoming: Iterable[Article], removals: set[str], *, embedder: Embedder,
    chunking: ChunkSettings, index_settings: IndexSettings, progress: bool, replace: bool, missing_ok: bool,
    damage_ok: bool, total: int, rebuild: bool = False, if_absent: bool = False, sources: list[str] | None = None,
    entities: EntityFinder | None = None, sentence_vectors: bool = False) -> BuildReport:
    t0 = time.perf_counter()
    check_index_folder(index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS)  # before any embedding (again at the swap)
    with build_lock(index_dir, wait=not if_absent):
        recover(index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS, locked=True)
        remove_stale_temps(index_dir)
        if if_absent:
            if index_dir.exists() and any(index_dir.iterdir()):
                logger.info("index %s was built meanwhile: not building it again", index_dir)
                return BuildReport(0, 0, 0, 0, 0, 0, 0, time.perf_counter() - t0)
            if sibling(index_dir, "resume").is_dir() and not sibling(index_dir, "resume").is_symlink():
                raise IndexNotFoundError(
                    f"no index at {index_dir}: an interrupted build left its checkpoint at "
                    f"{sibling(index_dir, 'resume')}; run `citeqa index` with the files it was indexing to finish it")
        if rebuild:
            prev = None
            logger.info("rebuilding %s: every article is embedded again; the current index answers until the swap",
                        index_dir)
        else:
            prev = _read_previous(index_dir, embedder=embedder, chunking=chunking, missing_ok=missing_ok,
                                  damage_ok=damage_ok)
        old = prev.docs if prev else {}
        store = _open_store(index_dir, index_settings, embedder, rebuild=rebuild)  # fails before any embedding
        fresh = BatchEmbedder(
            sibling(index_dir, "resume"), key=checkpoint_key(embedder, chunking), embedder=embedder,
            chunk=functools.partial(chunk_articles, embedder=embedder, chunking=chunking),
            batch_articles=_EMBED_BATCH_ARTICLES, batch_chunks=_EMBED_BATCH_CHUNKS, progress=progress, total=total,
        )
        tmp = staging_dir(index_dir)
        try:
            docs, retitled = _take_articles(incoming, old, fresh, spill=tmp / _SPILL)
            if fresh.resumed_articles:
                logger.info("resuming: %d of %d articles already embedded (%d chunks, from %s)",
                            fresh.resumed_articles, fresh.added, fresh.n_resumed, fresh.folder)
            if not replace:
                docs.update((d, _Doc(s.content_hash, s.offset, spilled=False, fresh=False))
                            for d, s in old.items() if d not in docs)
            for doc_id in removals:
                docs.pop(doc_id, None)
            added = sum(d.fresh and doc_id not in old for doc_id, d in docs.items())
            updated = sum(d.fresh for d in docs.values()) - added
            removed = sum(d not in docs for d in old)
            n_unchanged = len(docs) - added - updated
            same_faiss = prev is not None and prev.manifest.get("faiss_setting") == index_settings.faiss
            same_sources = prev is not None and (sources is None or prev.manifest.get("sources") == sources)
            same_store = prev is not None and prev.manifest.get("store") == (store.record() if store else None)
            checked = prev is not None and "files" in prev.manifest and extras_current(
                index_dir, entities, embedder=embedder, sentence_vectors=sentence_vectors)
            if (prev and same_faiss and same_sources and same_store and checked
                    and not added + updated + removed + retitled and _derived_files_ok(index_dir, prev)):
                logger.info("index %s is up to date (%d articles)", index_dir, len(docs))
                if store is not None:  # repairs a collection an earlier sync left unfinished
                    store.sync(index_dir)
                fresh.discard()  # as after any successful build: a checkpoint left beside it is stale
                return BuildReport(len(docs), len(prev.spans), 0, 0, 0, n_unchanged, 0, time.perf_counter() - t0)
            logger.info("indexing %d articles: %d new/changed, %d unchanged, %d removed",
                        len(docs), added + updated, n_unchanged, removed)
            n_chunks, bm25 = _write_records(tmp, docs, prev, fresh.checkpoint, dim=embedder.dim)
            faiss_kind = "none" if store else _write_search_indexes(tmp, bm25, faiss_setting=index_settings.faiss)
            if store is not None:  # Milvus searches the chunks: synced before the swap (a failure keeps the old index)
                store.sync(tmp)
            manifest = new_manifest(
                embedder=embedder, chunking=chunking, faiss_kind=faiss_kind, faiss_setting=index_settings.faiss,
                n_chunks=n_chunks, n_articles=len(docs),
                corpus_fingerprint=fingerprint_hashes((d, doc.content_hash) for d, doc in docs.items()),
                sources=sources, store=store.record() if store else None,
            )
            (tmp / _SPILL).unlink()
            finish_folder(tmp, manifest, index_dir, prev.manifest if prev else None, entities, embedder=embedder,
                          sentence_vectors=sentence_vectors, progress=progress)
            swap_into_place(tmp, index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS)
        finally:
            discard(tmp)
            if store is not None:
                store.close()
        fresh.discard()
    seconds = time.perf_counter() - t0
    logger.info("index %s written: %d articles, %d chunks in %.1f s", index_dir, len(docs), n_chunks, seconds)
    return BuildReport(len(docs), n_chunks, added, updated, removed, n_unchanged, fresh.n_embedded, seconds,
                       resumed_chunks=fresh.n_resumed)


def _take_articles(
    incoming: Iterable[Article], old: dict[str, _Stored], fresh: BatchEmbedder, *, spill: Path
) -> tuple[dict[str, _Doc], int]:
    """Pass 1: sort the stream into unchanged articles (dropped at once) and new/changed ones (spilled, embedded).

    Returns:
        The incoming articles by doc_id, and how many of them kept their text but changed title or meta.
    """
    docs: dict[str, _Doc] = {}
    retitled = 0
    with open(spill, "wb") as fh, closing(fresh):
        for article in incoming:
            if article.doc_id in docs:
                raise ValueError(f"duplicate doc_id {article.doc_id!r} in the articles to index")
            h = content_hash(article)
            stored = old.get(article.doc_id)
            if stored is not None and stored.content_hash == h:
                if stored.record_key == record_key(article.title, article.meta, h):
                    docs[article.doc_id] = _Doc(h, stored.offset, spilled=False, fresh=False)
                else:  # same text, new title or meta: a new record over the stored chunks and vectors
                    docs[article.doc_id] = _Doc(h, _spill(fh, article), spilled=True, fresh=False)
                    retitled += 1
                fresh.skip()
            else:
                docs[article.doc_id] = _Doc(h, _spill(fh, article), spilled=True, fresh=True)
                fresh.add(article, h)
        fresh.finish()
    return docs, retitled


def _spill(fh: IO[bytes], article: Article) -> int:
    """Append the article's record to the spill file; returns its offset there."""
    offset = fh.tell()
    fh.write(jsonl_line(article_record(article)).encode("utf-8"))
    return offset


def _write_search_indexes(tmp: Path, bm25: BM25Builder, *, faiss_setting: str) -> str:
    """Build and save FAISS (from vectors.npy, memory-mapped) then BM25, one after the other; the FAISS kind."""
    vectors = np.load(tmp / VECTORS, mmap_mode="r")
    dense = DenseIndex.build(vectors, setting=faiss_setting)
    dense.save(tmp / FAISS_FILE)
    kind = dense.kind
    del vectors, dense  # FAISS's copy of the vectors is freed before BM25 builds its matrix
    bm25.build().save(tmp / BM25_DIR)
    return kind


def _write_records(tmp: Path, docs: dict[str, _Doc], prev: _Previous | None, checkpoint: Checkpoint | None, *,
                   dim: int) -> tuple[int, BM25Builder]:
    """Pass 2: write articles.jsonl, chunks.jsonl and vectors.npy into ``tmp``, one article at a time by doc_id.

    Each article's record is read back from the spill file or the previous articles.jsonl, its chunk spans
    and vectors from the checkpoint or the previous index (memory-mapped views: nothing is read twice).

    Returns:
        The number of chunks, and a BM25 builder holding the token ids of every chunk (row order).
    """
    order = sorted(docs)
    with ExitStack() as files:
        spilled = files.enter_context(open(tmp / _SPILL, "rb"))
        stored = files.enter_context(open(prev.articles_file, "rb")) if prev else spilled
        stored_vectors = files.enter_context(open(prev.vectors_file, "rb")) if prev else spilled

        def chunks_of(doc_id: str, *, read: bool = True) -> tuple[Sequence[tuple[int, int]] | np.ndarray, np.ndarray]:
            doc = docs[doc_id]
            if doc.fresh:
                entry = checkpoint.lookup(doc_id, doc.content_hash) if checkpoint else None
                assert checkpoint is not None and entry is not None  # every fresh article went through it
                return entry.spans, checkpoint.vectors(entry) if read else np.zeros(0)
            assert prev is not None  # not fresh: it comes from the previous index
            rows = prev.rows.get(doc_id, range(0))
            return prev.spans[rows.start : rows.stop], prev.read_vectors(stored_vectors, rows) if read else np.zeros(0)

        n_chunks = sum(len(chunks_of(doc_id, read=False)[0]) for doc_id in order)
        # Written sequentially, not through open_memmap: the pages of a map stay in the process's RSS.
        vectors_out = files.enter_context(open(tmp / VECTORS, "wb"))
        np.lib.format.write_array_header_1_0(
            vectors_out, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                          "shape": (n_chunks, dim)})
        articles_out = files.enter_context(open(tmp / ARTICLES, "wb"))
        chunks_out = files.enter_context(open(tmp / CHUNKS, "w", encoding="utf-8"))
        bm25 = BM25Builder()
        for doc_id in order:
            source = spilled if docs[doc_id].spilled else stored
            source.seek(docs[doc_id].offset)
            line = source.readline().rstrip(b"\n") + b"\n"
            text = parse_record(line, Path(source.name))["text"]
            articles_out.write(line)
            spans, part = chunks_of(doc_id)
            for start, end in np.asarray(spans).tolist():
                chunks_out.write(jsonl_line({"doc_id": doc_id, "start": start, "end": end}))
                bm25.add(text[start:end])
            vectors_out.write(np.ascontiguousarray(part, dtype=np.float32).tobytes())
    return n_chunks, bm25


def _open_store(index_dir: Path, settings: IndexSettings, embedder: Embedder, *, rebuild: bool) -> Any:
    """The Milvus collection of the index when ``settings.store`` is Milvus, else None (nothing imports pymilvus)."""
    if settings.store != "milvus":
        return None
    from embeddings.milvus_search import open_for_build

    return open_for_build(settings, index_dir=index_dir, dim=embedder.dim, fingerprint=model_fingerprint(embedder),
                          rebuild=rebuild)


def _derived_files_ok(index_dir: Path, prev: _Previous) -> bool:
    """Whether faiss.index and bm25/ match their checksums (none unrecorded), load and match the stored chunks
    (else they are rebuilt from the stored vectors).

    With ``_read_previous``'s checks of the files a build reuses, this makes every check ``Index.load`` makes:
    an index is called up to date only if it loads.
    """
    try:
        verify_files(index_dir, prev.manifest, select=is_derived, hashed=is_derived)
        if isinstance(prev.manifest.get("store"), dict):  # Milvus holds the search indexes (synced, then checked)
            return True
        dense = DenseIndex.load(index_dir / FAISS_FILE, prev.manifest["faiss_type"])
        bm25 = BM25Index.load(index_dir / BM25_DIR)
        if not dense.ntotal == bm25.n_docs == len(prev.spans) or dense.dim != prev.manifest["dim"]:
            raise ValueError(f"FAISS has {dense.ntotal} rows of dim {dense.dim}, BM25 {bm25.n_docs} documents, "
                             f"for {len(prev.spans)} chunks")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
        logger.warning("rewriting the FAISS and BM25 files of %s: %s", index_dir, exc)
        return False
    return True
