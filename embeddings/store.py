"""The index on disk: build (incrementally, atomically), remove articles, and load for in-memory search.

Folder layout (all written together, then swapped into place)::

    <index_dir>/manifest.json   model id + fingerprint, dim, chunking, FAISS type, counts, corpus fingerprint
                articles.jsonl  one Article per line (cleaned text + meta + content_hash)
                chunks.jsonl    {"doc_id", "start", "end"} per line; row i <-> FAISS row i <-> vectors[i]
                vectors.npy     float32 (n_chunks, dim): updates and MMR never re-embed
                faiss.index     the dense index
                bm25/           the lexical index (bm25s files + vocabulary)

Atomicity: a build writes a sibling temp folder, fsyncs it, renames the old folder to a backup, renames the
new one into place and deletes the backup. A crash at any point leaves either the old or the new index; a
load that finds only the backup restores it. Builds of one folder are serialised with a lock file.

Resumability and memory: new and changed articles are chunked and embedded in batches (``_EMBED_BATCH_*``),
and each batch's vectors are committed to a checkpoint folder ``.<index>.resume/`` (see
``embeddings/checkpoint.py``) as soon as they exist. A killed build leaves that checkpoint behind, and the
next build with the same model and chunking reuses it instead of re-embedding; a successful swap deletes it.
Only one batch's texts and new vectors are held while embedding; the new ``vectors.npy`` is assembled in
place with ``open_memmap`` from the previous index's (memory-mapped) vectors and the checkpoint's batch files.
What does stay in memory: the articles passed in, every chunk's text (BM25 is built from all of them at once)
and the FAISS index (it holds its own copy of all vectors).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from corpus.types import Article, ArticleMeta, Chunk
from embeddings.bm25 import BM25Index
from embeddings.checkpoint import Checkpoint
from embeddings.config import ChunkSettings, IndexSettings, RetrievalSettings
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RetrievalError
from embeddings.faiss_index import DenseIndex
from embeddings.search import STAGES, Retriever
from embeddings.types import Hit

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
REBUILD_HINT = "run `citeqa index --rebuild`"
_PRECOUNT_GROUP = 256  # articles whose sentences are token-counted in one batch (bounds the memory used)
# A checkpoint batch: at most this many articles, cut early once it holds this many chunks. The shipped model
# on 2 busy cores managed ~21 chunks/s (7770 chunks in 365 s), so 512 chunks is ~25 s of work: the most a
# killed build loses. Smaller calls should cost little (the model encodes 64 texts at a time anyway; not benched).
_EMBED_BATCH_ARTICLES = _PRECOUNT_GROUP
_EMBED_BATCH_CHUNKS = 512
MANIFEST, ARTICLES, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR = (
    "manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "faiss.index", "bm25",
)


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


def content_hash(article: Article) -> str:
    """The article's ``content_hash``, computed from its text when the loader left it empty."""
    return article.content_hash or _sha256_text(article.text)


def corpus_fingerprint(articles: Iterable[Article]) -> str:
    """sha256 over the sorted ``doc_id:content_hash`` pairs: equal iff the indexed texts are equal."""
    return _sha256_text("\n".join(sorted(f"{a.doc_id}:{content_hash(a)}" for a in articles)))


def _citeqa_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeqa")
    except PackageNotFoundError:
        return "0+unknown"


def _check_compatible(
    manifest: dict[str, Any], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings
) -> None:
    """Raise IndexMismatchError naming every setting that differs between the index and the caller."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {index_dir} has format version {manifest.get('format_version')!r}, this citeqa reads "
            f"{FORMAT_VERSION}; {REBUILD_HINT}"
        )
    diffs = []
    fingerprint = model_fingerprint(embedder)
    if manifest.get("model_fingerprint") != fingerprint:
        diffs.append(
            f"embedding model {manifest.get('embedding_model')!r} (fingerprint "
            f"{str(manifest.get('model_fingerprint'))[:12]}) vs {embedder.model_id!r} (fingerprint {fingerprint[:12]})"
        )
    if manifest.get("dim") != embedder.dim:
        diffs.append(f"dimension {manifest.get('dim')} vs {embedder.dim}")
    if manifest.get("max_tokens") != embedder.max_tokens:
        diffs.append(f"model max_tokens {manifest.get('max_tokens')} vs {embedder.max_tokens}")
    wanted = {"size": chunking.size, "overlap": chunking.overlap}
    if manifest.get("chunking") != wanted:
        diffs.append(f"chunking {manifest.get('chunking')} vs {wanted}")
    if diffs:
        raise IndexMismatchError(
            f"index at {index_dir} was built with other settings (index vs now): {'; '.join(diffs)}; {REBUILD_HINT}"
        )


def _read_manifest(index_dir: Path) -> dict[str, Any]:
    if not index_dir.is_dir() or not any(index_dir.iterdir()):
        raise IndexNotFoundError(f"no index at {index_dir}; run `citeqa index` to build one")
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index at {index_dir}: unreadable {MANIFEST} ({exc}); {REBUILD_HINT}") from exc
    return manifest


def _read_records(index_dir: Path, manifest: dict[str, Any]) -> tuple[dict[str, Article], list[Chunk]]:
    """Articles and chunks, with every offset and count checked against the manifest."""
    articles: dict[str, Article] = {}
    for rec in _read_jsonl(index_dir / ARTICLES):
        meta = ArticleMeta(**rec.get("meta", {}))
        articles[rec["doc_id"]] = Article(rec["doc_id"], rec["title"], rec["text"], meta, rec["content_hash"])
    chunks = []
    for rec in _read_jsonl(index_dir / CHUNKS):
        doc_id, start, end = rec["doc_id"], int(rec["start"]), int(rec["end"])
        text = articles[doc_id].text
        if not 0 <= start < end <= len(text):
            raise ValueError(f"chunk {doc_id}:{start}-{end} lies outside its article")
        chunks.append(Chunk(doc_id, start, end, text[start:end]))
    if len(chunks) != manifest["n_chunks"] or len(articles) != manifest["n_articles"]:
        raise ValueError(
            f"{len(articles)} articles / {len(chunks)} chunks on disk, manifest says "
            f"{manifest['n_articles']} / {manifest['n_chunks']}"
        )
    if corpus_fingerprint(articles.values()) != manifest["corpus_fingerprint"]:
        raise ValueError("articles do not match the manifest's corpus fingerprint")
    return articles, chunks


def _read_stored(
    index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings, mmap: bool
) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], np.ndarray]:
    """Manifest, articles, chunks and vectors of a compatible index (typed errors otherwise)."""
    manifest = _read_manifest(index_dir)
    _check_compatible(manifest, index_dir=index_dir, embedder=embedder, chunking=chunking)
    try:
        articles, chunks = _read_records(index_dir, manifest)
        vectors = np.load(index_dir / VECTORS, mmap_mode="r" if mmap else None)
        if vectors.shape != (len(chunks), embedder.dim) or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({len(chunks)}, "
                             f"{embedder.dim}) float32")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _corrupt(index_dir, exc) from exc
    return manifest, articles, chunks, vectors


def _corrupt(index_dir: Path, exc: BaseException) -> IndexCorruptError:
    return IndexCorruptError(f"index at {index_dir} is damaged ({type(exc).__name__}: {exc}); {REBUILD_HINT}")


class Index:
    """A loaded index: everything in memory, so a query does no disk I/O.

    Attributes:
        articles: doc_id -> Article (cleaned text and meta, as indexed).
        chunks: row i of the FAISS index and of ``vectors`` is ``chunks[i]``.
        vectors: float32 (n_chunks, dim) unit vectors of the chunks.
        manifest: the index's manifest.json.

    Example:
        >>> index = Index.load(Path("~/.local/share/citeqa/index").expanduser(), embedder=emb, chunking=ChunkSettings())
        >>> index.search("Where did Macron receive Putin in 2017?", RetrievalSettings())[0].doc_id
        '001_4531c746a2d8eea5.txt'
    """

    def __init__(
        self, *, index_dir: Path, manifest: dict[str, Any], articles: dict[str, Article], chunks: list[Chunk],
        vectors: np.ndarray, dense: DenseIndex, bm25: BM25Index, embedder: Embedder,
    ) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.articles = articles
        self.chunks = chunks
        self.vectors = vectors
        self.embedder = embedder
        self._retriever = Retriever(
            embed_query=self.embed_query, dense=dense, bm25=bm25, vectors=vectors, chunks=chunks,
            titles={doc_id: a.title for doc_id, a in articles.items()},
        )

    @classmethod
    def load(cls, index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings) -> Index:
        """Load the index at ``index_dir`` built with this embedder and chunking.

        Raises:
            IndexNotFoundError: nothing there.
            IndexMismatchError: built with another model (id/fingerprint), dimension or chunking.
            IndexCorruptError: files missing, truncated or inconsistent.
        """
        index_dir = Path(index_dir)
        _recover(index_dir)
        manifest, articles, chunks, stored = _read_stored(index_dir, embedder=embedder, chunking=chunking, mmap=True)
        try:
            dense = DenseIndex.load(index_dir / FAISS_FILE, manifest["faiss_type"])
            bm25 = BM25Index.load(index_dir / BM25_DIR)
            if dense.ntotal != len(chunks) or dense.dim != embedder.dim or bm25.n_docs != len(chunks):
                raise ValueError(f"FAISS has {dense.ntotal} rows of dim {dense.dim}, BM25 {bm25.n_docs} documents, "
                                 f"for {len(chunks)} chunks")
            vectors = dense.stored_vectors()  # flat/HNSW: a view of FAISS's own copy, no second copy in memory
            if vectors is None:
                vectors = np.array(stored)  # IVF kinds keep no raw vectors
            del stored
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise _corrupt(index_dir, exc) from exc
        logger.info("loaded index %s: %d articles, %d chunks (%s)", index_dir, len(articles), len(chunks),
                    dense.kind)
        return cls(index_dir=index_dir, manifest=manifest, articles=articles, chunks=chunks, vectors=vectors,
                   dense=dense, bm25=bm25, embedder=embedder)

    def embed_query(self, query: str) -> np.ndarray:
        """The query's unit vector, shape (dim,)."""
        return self.embedder.embed([query])[0]

    def search(self, query: str, settings: RetrievalSettings, *, k: int | None = None) -> list[Hit]:
        """Top ``k`` (default ``settings.top_k``) chunks for ``query`` in the mode of ``settings``."""
        return self._retriever.search(query, settings, k=k)

    def search_timed(
        self, query: str, settings: RetrievalSettings, *, k: int | None = None
    ) -> tuple[list[Hit], dict[str, float]]:
        """Like ``search``, plus milliseconds per stage: embed, dense, bm25, fuse, mmr."""
        timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        hits = self._retriever.search(query, settings, k=k, timings=timings)
        return hits, timings


@dataclass
class _Previous:
    """What a build can reuse from the index already on disk."""

    manifest: dict[str, Any]
    articles: dict[str, Article]
    rows: dict[str, list[int]]  # doc_id -> its rows in chunks/vectors
    chunks: list[Chunk]
    vectors: np.ndarray


def _read_previous(index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings, strict: bool) -> _Previous | None:
    """The reusable part of the current index; None (log why) when absent or unusable unless ``strict``."""
    try:
        # Memory-mapped: unchanged articles' vectors are copied row by row into the new vectors.npy.
        manifest, articles, chunks, vectors = _read_stored(index_dir, embedder=embedder, chunking=chunking, mmap=True)
    except IndexNotFoundError:
        if strict:
            raise
        return None
    except (IndexMismatchError, IndexCorruptError) as exc:
        if strict:
            raise
        logger.warning("rebuilding the index from scratch: %s", exc)
        return None
    rows: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        rows.setdefault(chunk.doc_id, []).append(row)
    return _Previous(manifest, articles, rows, chunks, vectors)


def build_index(
    articles: Sequence[Article], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings,
    index_settings: IndexSettings, progress: bool = True, replace: bool = True,
) -> BuildReport:
    """Build or update the index at ``index_dir`` from ``articles``, atomically.

    On an existing compatible index only added or changed articles (by content hash) are chunked and
    embedded; the others keep their stored chunks and vectors. An incompatible or damaged index is rebuilt.

    Args:
        replace: True: the index ends up holding exactly ``articles``; False: add/update only.
        progress: show a progress bar while embedding (stderr).

    Example:
        >>> build_index(load_articles(None).articles, index_dir=Path("index"), embedder=load_embedder(),
        ...             chunking=ChunkSettings(), index_settings=IndexSettings())
    """
    incoming: dict[str, Article] = {}
    for article in articles:
        if article.doc_id in incoming:
            raise ValueError(f"duplicate doc_id {article.doc_id!r} in the articles to index")
        incoming[article.doc_id] = article
    return _update(Path(index_dir), incoming, set(), embedder=embedder, chunking=chunking,
                   index_settings=index_settings, progress=progress, replace=replace, strict=False)


def remove_articles(
    doc_ids: Iterable[str], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings,
    index_settings: IndexSettings,
) -> BuildReport:
    """Drop ``doc_ids`` (unknown ids are ignored) from the existing index at ``index_dir``, atomically.

    Raises:
        IndexNotFoundError / IndexMismatchError / IndexCorruptError: as ``Index.load``.
    """
    return _update(Path(index_dir), {}, set(doc_ids), embedder=embedder, chunking=chunking,
                   index_settings=index_settings, progress=False, replace=False, strict=True)


def _update(
    index_dir: Path, incoming: dict[str, Article], removals: set[str], *, embedder: Embedder,
    chunking: ChunkSettings, index_settings: IndexSettings, progress: bool, replace: bool, strict: bool,
) -> BuildReport:
    t0 = time.perf_counter()
    with _build_lock(index_dir):
        _recover(index_dir, locked=True)
        _remove_stale_temps(index_dir)
        prev = _read_previous(index_dir, embedder=embedder, chunking=chunking, strict=strict)
        old = prev.articles if prev else {}
        target = dict(incoming) if replace else {**old, **incoming}
        for doc_id in removals:
            target.pop(doc_id, None)
        # Sorted, like the rows of the new index: batches are then read back in order when it is assembled.
        fresh = sorted(d for d in target if d not in old or content_hash(old[d]) != content_hash(target[d]))
        added = sum(d not in old for d in fresh)
        removed = sum(d not in target for d in old)
        n_unchanged = len(target) - len(fresh)
        if prev and not fresh and not removed and prev.manifest.get("faiss_setting") == index_settings.faiss \
                and all(_with_hash(old[d]) == _with_hash(target[d]) for d in target) \
                and _derived_files_ok(index_dir, prev):
            logger.info("index %s is up to date (%d articles)", index_dir, len(target))
            return BuildReport(len(target), len(prev.chunks), 0, 0, 0, n_unchanged, 0, time.perf_counter() - t0)

        resume_dir = _sibling(index_dir, "resume")
        checkpoint = Checkpoint.open(resume_dir, key=_checkpoint_key(embedder, chunking), dim=embedder.dim)
        logger.info("indexing %d articles: %d new/changed, %d unchanged, %d removed",
                    len(target), len(fresh), n_unchanged, removed)
        new_chunks, n_embedded, n_resumed = _embed_fresh([target[d] for d in fresh], checkpoint, embedder=embedder,
                                                         chunking=chunking, progress=progress)
        chunks: list[Chunk] = []
        order = sorted(target)
        for doc_id in order:
            if doc_id in new_chunks:
                chunks.extend(new_chunks[doc_id])
            elif prev is not None:  # unchanged: reuse the stored chunks and vectors
                chunks.extend(prev.chunks[r] for r in prev.rows.get(doc_id, []))
        final_articles = [_with_hash(target[d]) for d in order]

        tmp = _staging_dir(index_dir)
        try:
            vectors = np.lib.format.open_memmap(tmp / VECTORS, mode="w+", dtype=np.float32,
                                                shape=(len(chunks), embedder.dim))
            row = 0
            for doc_id in order:
                if doc_id in new_chunks:
                    entry = checkpoint.lookup(doc_id, content_hash(target[doc_id]))
                    assert entry is not None  # _embed_fresh put every fresh article into the checkpoint
                    part = checkpoint.vectors(entry)
                elif prev is not None:
                    part = prev.vectors[prev.rows.get(doc_id, [])]
                else:
                    continue
                vectors[row : row + len(part)] = part
                row += len(part)
            vectors.flush()
            dense = DenseIndex.build(vectors, setting=index_settings.faiss)
            del vectors  # FAISS holds its own copy; drop the map before the folder is fsynced and renamed
            bm25 = BM25Index.build([c.text for c in chunks])
            manifest = {
                "format_version": FORMAT_VERSION,
                "citeqa_version": _citeqa_version(),
                "embedding_model": embedder.model_id,
                "model_fingerprint": model_fingerprint(embedder),
                "dim": embedder.dim,
                "max_tokens": embedder.max_tokens,
                "chunking": {"size": chunking.size, "overlap": chunking.overlap},
                "faiss_type": dense.kind,
                "faiss_setting": index_settings.faiss,
                "n_chunks": len(chunks),
                "n_articles": len(final_articles),
                "corpus_fingerprint": corpus_fingerprint(final_articles),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _write_jsonl(tmp / ARTICLES, (_article_record(a) for a in final_articles))
            _write_jsonl(tmp / CHUNKS, ({"doc_id": c.doc_id, "start": c.start, "end": c.end} for c in chunks))
            dense.save(tmp / FAISS_FILE)
            bm25.save(tmp / BM25_DIR)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _swap_into_place(tmp, index_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        checkpoint.discard()
    seconds = time.perf_counter() - t0
    logger.info("index %s written: %d articles, %d chunks in %.1f s", index_dir, len(final_articles), len(chunks),
                seconds)
    return BuildReport(len(final_articles), len(chunks), added, len(fresh) - added, removed, n_unchanged,
                       n_embedded, seconds, resumed_chunks=n_resumed)


def _checkpoint_key(embedder: Embedder, chunking: ChunkSettings) -> dict[str, Any]:
    """Everything a chunk's vector depends on besides its text: a checkpoint is reused only if all are equal."""
    return {
        "format_version": FORMAT_VERSION,
        "model_fingerprint": model_fingerprint(embedder),
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "chunking": {"size": chunking.size, "overlap": chunking.overlap},
    }


def _embed_fresh(
    articles: Sequence[Article], checkpoint: Checkpoint, *, embedder: Embedder, chunking: ChunkSettings,
    progress: bool,
) -> tuple[dict[str, list[Chunk]], int, int]:
    """Chunk and embed ``articles`` batch by batch, committing each batch to ``checkpoint`` before the next.

    Articles the checkpoint already holds with the same content hash (left by an interrupted build) keep
    their stored chunks and vectors. Only one batch's texts and vectors are in memory at a time.

    Returns:
        ``(chunks by doc_id, chunks embedded now, chunks taken from the checkpoint)``.
    """
    chunks: dict[str, list[Chunk]] = {}
    todo: list[Article] = []
    n_resumed = 0
    for article in articles:
        entry = checkpoint.lookup(article.doc_id, content_hash(article))
        if entry is not None and all(0 <= s < e <= len(article.text) for s, e in entry.spans):
            chunks[article.doc_id] = [Chunk(article.doc_id, s, e, article.text[s:e]) for s, e in entry.spans]
            n_resumed += len(entry.spans)
        else:
            todo.append(article)
    if len(todo) < len(articles):
        logger.info("resuming: %d of %d articles already embedded (%d chunks, from %s)",
                    len(articles) - len(todo), len(articles), n_resumed, checkpoint.folder)
    bar = _progress_bar(len(articles), initial=len(articles) - len(todo)) if progress and todo else None
    n_embedded = 0
    for first in range(0, len(todo), _EMBED_BATCH_ARTICLES):
        group = todo[first : first + _EMBED_BATCH_ARTICLES]
        group_chunks = _chunk_articles(group, embedder=embedder, chunking=chunking)
        pending: list[Article] = []
        n_pending = 0
        for i, article in enumerate(group):
            pending.append(article)
            n_pending += len(group_chunks[article.doc_id])
            if n_pending < _EMBED_BATCH_CHUNKS and i < len(group) - 1:
                continue
            texts = [c.text for a in pending for c in group_chunks[a.doc_id]]
            vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), np.float32)
            checkpoint.add([(a.doc_id, content_hash(a), [(c.start, c.end) for c in group_chunks[a.doc_id]])
                            for a in pending], vectors)
            n_embedded += len(texts)
            if bar is not None:
                bar.update(len(pending))
            pending, n_pending = [], 0
        chunks.update(group_chunks)
    if bar is not None:
        bar.close()
    return chunks, n_embedded, n_resumed


def _progress_bar(total: int, *, initial: int) -> Any:
    """A tqdm bar over articles on stderr, or None when tqdm is missing (it comes with sentence-transformers)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, unit="article", desc="embedding")


def _derived_files_ok(index_dir: Path, prev: _Previous) -> bool:
    """Whether faiss.index and bm25/ load and match the stored chunks (else they are rebuilt from vectors)."""
    try:
        dense = DenseIndex.load(index_dir / FAISS_FILE, prev.manifest["faiss_type"])
        bm25 = BM25Index.load(index_dir / BM25_DIR)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        logger.warning("rewriting the FAISS and BM25 files of %s: %s", index_dir, exc)
        return False
    return dense.ntotal == bm25.n_docs == len(prev.chunks)


def _with_hash(article: Article) -> Article:
    if article.content_hash:
        return article
    return Article(article.doc_id, article.title, article.text, article.meta, content_hash(article))


def _article_record(article: Article) -> dict[str, Any]:
    return {"doc_id": article.doc_id, "title": article.title, "text": article.text, "meta": asdict(article.meta),
            "content_hash": article.content_hash}


def _chunk_articles(
    articles: Sequence[Article], *, embedder: Embedder, chunking: ChunkSettings
) -> dict[str, list[Chunk]]:
    """Chunk with the embedder's own token counter, capped at the model's max sequence length.

    The chunker counts each sentence once; when the embedder can count a batch at once (the Rust tokenizer
    uses every core), sentences are pre-counted per group of articles, which roughly halves chunking time.
    """
    from corpus.chunk import chunk_article
    from corpus.sentences import split_sentences

    count_batch = getattr(embedder, "count_tokens_batch", None)
    chunks: dict[str, list[Chunk]] = {}
    for first in range(0, len(articles), _PRECOUNT_GROUP):
        group = articles[first : first + _PRECOUNT_GROUP]
        known: dict[str, int] = {}
        if callable(count_batch):
            sentences = [a.text[s:e] for a in group for s, e in split_sentences(a.text)]
            known = dict(zip(sentences, count_batch(sentences), strict=True))

        count = _cached_counter(known, embedder.count_tokens)
        for a in group:
            chunks[a.doc_id] = chunk_article(a, count_tokens=count, size=chunking.size, overlap=chunking.overlap,
                                             max_tokens=embedder.max_tokens)
    return chunks


def _cached_counter(known: dict[str, int], count_tokens: Callable[[str], int]) -> Callable[[str], int]:
    def count(text: str) -> int:
        n = known.get(text)
        return n if n is not None else count_tokens(text)

    return count


# --- files: JSON lines, fsync, lock, staging folder and swap ------------------------------------------------


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError(f"{path.name}: a line is not a JSON object")
                yield rec


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)


def _fsync(*paths: Path) -> None:
    """Flush files and folders (their entries) to stable storage."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sibling(index_dir: Path, suffix: str) -> Path:
    return index_dir.parent / f".{index_dir.name}.{suffix}"


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """Serialise builds of one folder across processes (the OS drops the lock if the holder dies)."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(_sibling(index_dir, "lock"), "a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: builds are not serialised
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _recover(index_dir: Path, *, locked: bool = False) -> None:
    """Finish an interrupted swap: restore the backup if the index folder is missing, else drop the backup."""
    backup = _sibling(index_dir, "old")
    if not backup.exists() or (not locked and index_dir.exists()):
        return  # a stale backup beside a complete index is dropped by the next build
    if not locked:
        with _build_lock(index_dir):
            return _recover(index_dir, locked=True)
    if index_dir.exists():
        shutil.rmtree(backup, ignore_errors=True)
    else:
        logger.warning("restoring index %s from the backup left by an interrupted build", index_dir)
        os.rename(backup, index_dir)
        _fsync(index_dir.parent)


def _remove_stale_temps(index_dir: Path) -> None:
    """Delete staging folders left by killed builds (safe: the caller holds the build lock)."""
    for stale in index_dir.parent.glob(f".{index_dir.name}.building-*"):
        logger.info("removing %s left by an interrupted build", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _staging_dir(index_dir: Path) -> Path:
    tmp = _sibling(index_dir, f"building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _swap_into_place(tmp: Path, index_dir: Path) -> None:
    """Make ``tmp`` the index folder: fsync it, move the old folder aside, rename, then drop the old one."""
    if index_dir.exists() and any(index_dir.iterdir()) and not (index_dir / MANIFEST).exists():
        raise RetrievalError(f"{index_dir} exists and is not a citeqa index; refusing to replace it")
    _fsync(*tmp.rglob("*"), tmp)
    backup = _sibling(index_dir, "old")
    if index_dir.exists():
        os.rename(index_dir, backup)
    os.rename(tmp, index_dir)
    _fsync(index_dir.parent)
    shutil.rmtree(backup, ignore_errors=True)
