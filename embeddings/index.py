"""The loaded index: records, vectors and the FAISS and BM25 indexes in memory, searched without disk I/O.

``Index.load`` reads a folder written by ``embeddings.build`` (format: ``embeddings.layout``), checking it
against its manifest first; ``check_index`` (``citeqa index --check``) checks everything a load does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.types import Article, ArticleMeta, Chunk, text_hash
from embeddings.atomic import check_index_folder, lock_holder, read_jsonl, recover
from embeddings.bm25 import BM25Index
from embeddings.config import ChunkSettings, IndexSettings, RetrievalSettings
from embeddings.embedder import Embedder
from embeddings.entities import StoredEntities
from embeddings.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from embeddings.faiss_index import DenseIndex
from embeddings.layout import (
    ARTICLES,
    BM25_DIR,
    CHUNKS,
    FAISS_FILE,
    INDEX_NAMES,
    MANIFEST_KEYS,
    VECTORS,
    Damage,
    check_compatible,
    check_span,
    corpus_fingerprint,
    corrupt_error,
    load_hashed,
    read_manifest,
    repair_hint,
    verify_files,
)
from embeddings.search import STAGES, Retriever
from embeddings.sentence_vectors import StoredSentenceVectors
from embeddings.types import Hit

logger = logging.getLogger(__name__)

_RESAMPLE = 32  # chunks `check_index` re-embeds to compare with their stored vectors
_RESAMPLE_MIN_COSINE = 0.99  # the same model on the same text: ~1.0 (ONNX vs torch differ in the 6th digit)


class Index:
    """A loaded index: everything in memory, so a query does no disk I/O (but see ``vectors``).

    Attributes:
        articles: doc_id -> Article (cleaned text and meta, as indexed).
        chunks: row i of the FAISS index and of ``vectors`` is ``chunks[i]``.
        vectors: float32 (n_chunks, dim) unit vectors of the chunks: a view of the FAISS index's own copy for
            flat/HNSW, else vectors.npy memory-mapped read-only (only MMR reads it, a few dozen rows a query).
        manifest: the index's manifest.json.

    Example:
        >>> index = Index.load(Path("~/.local/share/citeqa/index").expanduser(), embedder=emb, chunking=ChunkSettings())
        >>> index.search("Where did Macron receive Putin in 2017?", RetrievalSettings())[0].doc_id
        '001_4531c746a2d8eea5.txt'
    """

    def __init__(
        self, *, index_dir: Path, manifest: dict[str, Any], articles: dict[str, Article], chunks: list[Chunk],
        vectors: np.ndarray, dense: DenseIndex | None, bm25: BM25Index | None, embedder: Embedder,
    ) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.articles = articles
        self.chunks = chunks
        self.vectors = vectors
        self.embedder = embedder
        self.store_settings: IndexSettings | None = None  # what ``load`` was given (a reload passes it on)
        self.entities: StoredEntities | None = None  # the sentence entities stored at index time (``load`` opens them)
        self.sentence_vectors: StoredSentenceVectors | None = None  # likewise the sentences' vectors
        self._retriever: Any = None  # the Milvus store's (``milvus_search``) when there is no FAISS
        if dense is not None and bm25 is not None:
            self._retriever = Retriever(
                embed_query=self.embed_query, dense=dense, bm25=bm25, vectors=vectors, chunks=chunks,
                titles={doc_id: a.title for doc_id, a in articles.items()},
            )

    @classmethod
    def load(cls, index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings,
             store: IndexSettings | None = None) -> Index:
        """Load the index at ``index_dir`` built with this embedder and chunking.

        ``store``: the index settings naming the store to search (``index.store``, Milvus URI and token); None
        follows the manifest (a Milvus index then connects, without a token, to the URI it records).

        Raises:
            IndexNotFoundError: nothing there.
            IndexMismatchError: built with another model (id/fingerprint), dimension or chunking.
            IndexCorruptError: files missing, truncated, inconsistent or not matching their checksums.
            IndexBusyError: no index yet, and a build of the folder is running.
            NotAnIndexError: the folder holds files that are not a citeqa index.
            StoreUnavailableError: the index's Milvus cannot be reached (never a fallback to FAISS).
        """
        index_dir = Path(index_dir)
        recover(index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS)
        check_index_folder(index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS)
        try:
            manifest, articles, chunks, stored = _read_stored(index_dir, embedder=embedder, chunking=chunking)
        except IndexNotFoundError as exc:
            pid = lock_holder(index_dir)
            if pid is None:
                raise
            raise IndexBusyError(f"an index build of {index_dir} is running (pid {pid or 'unknown'}) and there is "
                                 "no finished index to read yet; try again when it is done", pid=pid) from exc
        try:
            entities = StoredEntities.open(index_dir, manifest)
            sentence_vectors = _sentence_vectors(index_dir, manifest)
        except (OSError, ValueError) as exc:
            raise corrupt_error(index_dir, exc, manifest) from exc
        if _store_kind(manifest, store, index_dir) == "milvus":
            from embeddings.milvus_search import load_retriever

            index = cls(index_dir=index_dir, manifest=manifest, articles=articles, chunks=chunks, vectors=stored,
                        dense=None, bm25=None, embedder=embedder)
            index._retriever = load_retriever(index_dir, manifest, store, embedder=embedder, articles=articles,
                                              embed_query=index.embed_query, n_chunks=len(chunks))
            index.store_settings = store
            index.entities = entities
            index.sentence_vectors = sentence_vectors
            return index
        try:
            dense = DenseIndex.load(index_dir / FAISS_FILE, manifest["faiss_type"])
            bm25 = BM25Index.load(index_dir / BM25_DIR)
            if dense.ntotal != len(chunks) or dense.dim != embedder.dim or bm25.n_docs != len(chunks):
                raise ValueError(f"FAISS has {dense.ntotal} rows of dim {dense.dim}, BM25 {bm25.n_docs} documents, "
                                 f"for {len(chunks)} chunks")
            # flat/HNSW: a view of FAISS's own copy, no second copy in memory. IVF kinds keep no raw vectors:
            # MMR reads its candidates' rows from the memory-mapped vectors.npy (page cache), never all of it.
            # The map stays valid when a later build swaps the folder away and deletes it (POSIX keeps a file's
            # data until its last map is closed), so an Index loaded before a rebuild keeps answering.
            view = dense.stored_vectors()
            vectors = stored if view is None else view
            del stored, view
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
            raise corrupt_error(index_dir, exc, manifest) from exc
        logger.info("loaded index %s: %d articles, %d chunks (%s)", index_dir, len(articles), len(chunks),
                    dense.kind)
        index = cls(index_dir=index_dir, manifest=manifest, articles=articles, chunks=chunks, vectors=vectors,
                    dense=dense, bm25=bm25, embedder=embedder)
        index.store_settings = store
        index.entities = entities
        index.sentence_vectors = sentence_vectors
        return index

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


def _store_kind(manifest: dict[str, Any], settings: IndexSettings | None, index_dir: Path) -> str:
    """The store the index was built for ('faiss' or 'milvus'); IndexMismatchError if ``settings`` want another."""
    kind = manifest["store"].get("kind") if isinstance(manifest.get("store"), dict) else "faiss"
    if settings is not None and settings.store != kind:
        raise IndexMismatchError(f"index at {index_dir} was built for the {kind!r} store, index.store is "
                                 f"{settings.store!r}; run `citeqa index` to build it for {settings.store!r}")
    return str(kind)


def _sentence_vectors(index_dir: Path, manifest: dict[str, Any]) -> StoredSentenceVectors | None:
    """The index's stored sentence vectors when they are of the index's model (else None, said once: the answers
    then embed the sentences they read, as for an index built before they were stored)."""
    stored = StoredSentenceVectors.open(index_dir, manifest)
    if stored is not None and (stored.model_fingerprint != manifest.get("model_fingerprint")
                               or stored.dim != manifest.get("dim")):
        logger.info("the index's sentence vectors are of another model than its chunks': the answers embed the "
                    "sentences they read; `citeqa index` stores them again")
        return None
    return stored


def _read_stored(
    index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings
) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], np.ndarray]:
    """Manifest, articles, chunks and (memory-mapped) vectors of a compatible index (typed errors otherwise)."""
    manifest = read_manifest(index_dir)
    check_compatible(manifest, index_dir=index_dir, embedder=embedder, chunking=chunking)
    try:
        if not verify_files(index_dir, manifest, hashed=load_hashed):
            logger.warning("index at %s has no checksums (written by an older citeqa): its files cannot be checked; "
                           "`citeqa index` adds them", index_dir)
        articles, chunks = _read_records(index_dir, manifest)
        vectors = np.load(index_dir / VECTORS, mmap_mode="r")
        if vectors.shape != (len(chunks), embedder.dim) or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({len(chunks)}, "
                             f"{embedder.dim}) float32")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise corrupt_error(index_dir, exc, manifest) from exc
    return manifest, articles, chunks, vectors


def _read_records(index_dir: Path, manifest: dict[str, Any]) -> tuple[dict[str, Article], list[Chunk]]:
    """Articles and chunks, with every offset and count checked against the manifest."""
    articles: dict[str, Article] = {}
    for rec in read_jsonl(index_dir / ARTICLES):
        meta = ArticleMeta(**rec.get("meta", {}))
        articles[rec["doc_id"]] = Article(rec["doc_id"], rec["title"], rec["text"], meta, rec["content_hash"])
    chunks = []
    for rec in read_jsonl(index_dir / CHUNKS):
        doc_id, start, end = rec["doc_id"], int(rec["start"]), int(rec["end"])
        text = articles[doc_id].text
        check_span(doc_id, start, end, n_chars=len(text))
        chunks.append(Chunk(doc_id, start, end, text[start:end]))
    if len(chunks) != manifest["n_chunks"] or len(articles) != manifest["n_articles"]:
        raise ValueError(
            f"{len(articles)} articles / {len(chunks)} chunks on disk, manifest says "
            f"{manifest['n_articles']} / {manifest['n_chunks']}"
        )
    if corpus_fingerprint(articles.values()) != manifest["corpus_fingerprint"]:
        raise ValueError("articles do not match the manifest's corpus fingerprint")
    return articles, chunks


@dataclass(frozen=True)
class IndexCheck:
    """What ``check_index`` found: ``problems`` is empty when every check passed."""

    index_dir: Path
    articles: int
    chunks: int
    problems: tuple[str, ...]
    checks: tuple[str, ...]  # what was checked, for the report

    @property
    def ok(self) -> bool:
        """True when the index is intact."""
        return not self.problems


def check_index(index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings, sample: int = _RESAMPLE) -> IndexCheck:
    """Check everything about the index at ``index_dir`` (``citeqa index --check``); nothing is written.

    Checks: the manifest, the size and sha256 of every file, what ``Index.load`` checks (records, spans, counts,
    FAISS kind and size, BM25 size), every article's text against its content hash, vectors.npy against the
    vectors FAISS holds (flat/HNSW), unit norms, and ``sample`` chunks re-embedded against their stored vectors.

    Raises:
        IndexNotFoundError / IndexBusyError / NotAnIndexError: there is no index to check.
    """
    index_dir = Path(index_dir)
    done: list[str] = []
    try:
        index = Index.load(index_dir, embedder=embedder, chunking=chunking)
        store = getattr(index._retriever, "store", None)  # a Milvus index: the collection, chunk by chunk
        if store is None:
            done.append("manifest, file sizes, records, FAISS and BM25 structure")
        else:
            done.append(f"manifest, file sizes, records, Milvus collection {store.collection!r} at {store.uri}")
            wanted: dict[str, tuple[str, int]] = {}
            for c in index.chunks:
                h, n = wanted.get(c.doc_id, (index.articles[c.doc_id].content_hash, 0))
                wanted[c.doc_id] = (h, n + 1)
            if store.doc_chunks() != wanted:
                raise Damage(f"the Milvus collection {store.collection!r} does not hold the chunks of the articles")
            done.append("every article's chunks in the collection (content hash and count)")
        if not verify_files(index_dir, index.manifest, hashed=lambda name: True):
            raise IndexCorruptError(f"index at {index_dir} has no checksums (written by an older citeqa); "
                                    f"{repair_hint(index.manifest)} and record them")
        done.append(f"sha256 of {len(index.manifest['files'])} files")
        for a in index.articles.values():
            if text_hash(a.text) != a.content_hash:
                raise Damage(f"the text of {a.doc_id} does not match its content hash")
        done.append("article texts against their content hashes")
        if index.entities is not None:
            n = index.entities.check({d: (a.content_hash, a.text) for d, a in index.articles.items()})
            done.append(f"stored entities of {n} sentences against their articles")
        if index.sentence_vectors is not None:
            n = index.sentence_vectors.check({d: (a.content_hash, a.text) for d, a in index.articles.items()})
            done.append(f"stored vectors of {n} sentences against their articles")
        stored = np.load(index_dir / VECTORS, mmap_mode="r")
        if index.vectors is not stored and not np.array_equal(index.vectors, stored):
            raise Damage(f"the FAISS index holds other vectors than {VECTORS}")
        norms = np.linalg.norm(stored, axis=1) if len(stored) else np.ones(0)
        if not np.all(np.abs(norms - 1) < 1e-3):
            raise Damage(f"{int(np.sum(~(np.abs(norms - 1) < 1e-3)))} rows of {VECTORS} are not unit vectors")
        done.append("unit norms" if store else "FAISS vectors against vectors.npy, unit norms")
        rows = np.random.default_rng(0).choice(len(index.chunks), min(sample, len(index.chunks)), replace=False)
        if len(rows):
            fresh = embedder.embed([index.chunks[i].text for i in rows])
            cosines = np.sum(fresh * stored[rows], axis=1)
            worst = int(np.argmin(cosines))
            if cosines[worst] < _RESAMPLE_MIN_COSINE:
                c = index.chunks[rows[worst]]
                raise Damage(f"the stored vector of {c.doc_id}:{c.start}-{c.end} is not its text's "
                              f"(cosine {cosines[worst]:.3f} with the text re-embedded)")
        done.append(f"{len(rows)} chunks re-embedded against their stored vectors")
    except (IndexCorruptError, IndexMismatchError) as exc:
        return IndexCheck(index_dir, 0, 0, (str(exc),), tuple(done))
    except Damage as exc:
        return IndexCheck(index_dir, len(index.articles), len(index.chunks),
                          (str(corrupt_error(index_dir, exc, index.manifest)),), tuple(done))
    return IndexCheck(index_dir, len(index.articles), len(index.chunks), (), tuple(done))
