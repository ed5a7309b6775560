"""The index on disk: build (incrementally, atomically), remove articles, and load for in-memory search.

Folder layout (all written together, then swapped into place; see ``embeddings/atomic.py``)::

    <index_dir>/manifest.json   model id + fingerprint, dim, chunking, FAISS type, counts, corpus fingerprint,
                            size + sha256 of every other file (``files``), the paths indexed (``sources``)
                articles.jsonl  one Article per line (cleaned text + meta + content_hash), sorted by doc_id
                chunks.jsonl    {"doc_id", "start", "end"} per line; row i <-> FAISS row i <-> vectors[i]
                vectors.npy     float32 (n_chunks, dim): updates and MMR never re-embed
                faiss.index     the dense index
                bm25/           the lexical index (bm25s files + vocabulary)

Atomicity: a build writes a sibling staging folder, fsyncs it and swaps it into place; a crash at any point
leaves either the old or the new index, and the old one answers until the swap (``rebuild=True`` too: it only
ignores the old index's contents). Builds of one folder are serialised with a lock file that names the builder's
pid. A folder holding anything but citeqa's files is never read, replaced or deleted (``NotAnIndexError``).

Integrity: the manifest records the size and sha256 of every data file. ``Index.load`` checks every size and
the hashes of ``_LOAD_HASHED`` (what the load reads whole anyway); a build checks the hashes of every file it
reuses before trusting it; ``check_index`` (``citeqa index --check``) checks everything, cross-checks FAISS
against vectors.npy and re-embeds a sample of chunks. A mismatch is an ``IndexCorruptError``, and the next
``citeqa index`` repairs it: damaged FAISS or BM25 files are rebuilt from the stored vectors, damaged records or
vectors are re-embedded from the articles. Indexes written before checksums existed load (with a warning) and
get them at the next ``citeqa index``.

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
What stays O(collection) in memory, as measured by ``scripts/bench_index_memory.py``: per article its doc_id,
content hash and file offsets (~300 bytes); per chunk its span (in the checkpoint's entries or the previous
index's span array) and its BM25 token ids (4 bytes per token); while FAISS is built, its copy of all vectors
(flat/HNSW; IVF-SQ8 keeps 1 byte per dimension) plus the pages of vectors.npy it reads through a map; while
BM25 is built, bm25s's score matrix (~20 bytes per distinct term of each chunk, with scipy). A no-op run loads
the FAISS and BM25 files to check them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import operator
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from corpus.types import Article, ArticleMeta, Chunk
from embeddings.atomic import (
    build_lock,
    check_index_folder,
    discard,
    jsonl_line,
    lock_holder,
    parse_record,
    read_jsonl,
    read_manifest_text,
    recover,
    remove_stale_temps,
    sibling,
    staging_dir,
    swap_into_place,
)
from embeddings.bm25 import BM25Builder, BM25Index
from embeddings.checkpoint import BatchEmbedder, Checkpoint
from embeddings.config import ChunkSettings, IndexSettings, RetrievalSettings
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from embeddings.faiss_index import DenseIndex
from embeddings.search import STAGES, Retriever
from embeddings.types import Hit

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
REBUILD_HINT = "run `citeqa index --rebuild`"
# sha256 runs at ~2 GB/s here (SHA-NI); on a 100k-chunk index these files are read whole by the load anyway.
# vectors.npy is not: FAISS holds its own copy (flat/HNSW) and MMR maps a few rows (IVF), so a load checks its
# size only, and a build that reuses it (or --check) hashes it.
_LOAD_HASHED = frozenset({"articles.jsonl", "chunks.jsonl", "faiss.index"})  # and every file of bm25/
_SOURCE_FILES = frozenset({"articles.jsonl", "chunks.jsonl", "vectors.npy"})  # what a build reuses; the rest is derived
_HASH_BLOCK = 1 << 20
_RESAMPLE = 32  # chunks `check_index` re-embeds to compare with their stored vectors
_RESAMPLE_MIN_COSINE = 0.99  # the same model on the same text: ~1.0 (ONNX vs torch differ in the 6th digit)
_PRECOUNT_GROUP = 256  # articles whose sentences are token-counted in one batch (bounds the memory used)
_PRECOUNT_BATCH = 256  # sentences (<= 2,000 chars each) per tokenizer call: a 5 MB article held 800 MB of encodings
# A checkpoint batch: at most this many articles, cut early once it holds this many chunks. The shipped model
# on 2 busy cores managed ~21 chunks/s (7770 chunks in 365 s), so 512 chunks is ~25 s of work: the most a
# killed build loses. Smaller calls should cost little (the model encodes 64 texts at a time anyway; not benched).
_EMBED_BATCH_ARTICLES = _PRECOUNT_GROUP
_EMBED_BATCH_CHUNKS = 512
MANIFEST, ARTICLES, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR = (
    "manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "faiss.index", "bm25",
)
INDEX_NAMES = (MANIFEST, ARTICLES, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR)  # what citeqa writes in an index folder
_MANIFEST_KEYS = ("format_version", "embedding_model", "corpus_fingerprint")  # what makes a manifest citeqa's
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


def content_hash(article: Article) -> str:
    """The article's ``content_hash``, computed from its text when the loader left it empty."""
    return article.content_hash or _sha256_text(article.text)


def corpus_fingerprint(articles: Iterable[Article]) -> str:
    """sha256 over the sorted ``doc_id:content_hash`` pairs: equal iff the indexed texts are equal."""
    return _fingerprint((a.doc_id, content_hash(a)) for a in articles)


def _fingerprint(hashes: Iterable[tuple[str, str]]) -> str:
    return _sha256_text("\n".join(sorted(f"{doc_id}:{h}" for doc_id, h in hashes)))


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        manifest = json.loads(read_manifest_text(index_dir / MANIFEST))
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index at {index_dir}: unreadable {MANIFEST} ({exc}); {repair_hint(None)}") from exc
    return manifest


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
    index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings
) -> tuple[dict[str, Any], dict[str, Article], list[Chunk], np.ndarray]:
    """Manifest, articles, chunks and (memory-mapped) vectors of a compatible index (typed errors otherwise)."""
    manifest = _read_manifest(index_dir)
    _check_compatible(manifest, index_dir=index_dir, embedder=embedder, chunking=chunking)
    try:
        if not _verify_files(index_dir, manifest, hashed=_load_hashed):
            logger.warning("index at %s has no checksums (written by an older citeqa): its files cannot be checked; "
                           "`citeqa index` adds them", index_dir)
        articles, chunks = _read_records(index_dir, manifest)
        vectors = np.load(index_dir / VECTORS, mmap_mode="r")
        if vectors.shape != (len(chunks), embedder.dim) or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({len(chunks)}, "
                             f"{embedder.dim}) float32")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _corrupt(index_dir, exc, manifest) from exc
    return manifest, articles, chunks, vectors


def _corrupt(index_dir: Path, exc: BaseException, manifest: dict[str, Any] | None = None) -> IndexCorruptError:
    what = str(exc) if isinstance(exc, _Damage) else f"{type(exc).__name__}: {exc}"
    return IndexCorruptError(f"index at {index_dir} is damaged ({what}); {repair_hint(manifest)}")


def repair_hint(manifest: dict[str, Any] | None) -> str:
    """How to repair a damaged index: ``citeqa index`` with the paths the manifest says it was built from."""
    sources = manifest.get("sources") if isinstance(manifest, dict) else None
    if isinstance(sources, list) and sources and all(isinstance(x, str) for x in sources):
        return f"run `citeqa index {shlex.join(sources)}` to repair it"
    if isinstance(sources, list) and not sources:  # built from the bundled articles (+ uploads)
        return "run `citeqa index` to repair it"
    return "run `citeqa index` with the files it was built from to repair it"


class _Damage(ValueError):
    """A data file disagrees with the manifest's record of it (raised inside the store, reported as corrupt)."""


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _data_files(folder: Path) -> list[str]:
    """The data files of an index folder (citeqa's entries but the manifest), as sorted relative POSIX paths."""
    ours = (folder / name for name in INDEX_NAMES[1:])
    return sorted(q.relative_to(folder).as_posix() for p in ours
                  for q in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else []) if q.is_file())


def _checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every data file of a freshly written index folder (for its manifest)."""
    return {name: {"size": (folder / name).stat().st_size, "sha256": _file_sha256(folder / name)}
            for name in _data_files(folder)}


def _verify_files(
    index_dir: Path, manifest: dict[str, Any], *, hashed: Callable[[str], bool],
    select: Callable[[str], bool] | None = None,
) -> bool:
    """Check the files against the manifest's checksums: sizes, and the sha256 of those ``hashed`` selects.

    Args:
        select: check only the files it selects (default: all of them). Every selected file on disk must be
            recorded, so that checks of complementary selections (a build's of the files it reuses, then of
            the derived ones) add up to the check of all files that ``Index.load`` makes.

    Returns:
        False when the manifest records no checksums (an index written before them); True when all match.

    Raises:
        _Damage: a file missing, of another size, with another hash, or not recorded.
    """
    files = manifest.get("files")
    if files is None:
        return False
    if not isinstance(files, dict):
        raise _Damage(f"{MANIFEST}: 'files' is not an object")
    unknown = sorted(name for name in set(_data_files(index_dir)) - set(files) if select is None or select(name))
    if unknown:
        raise _Damage(f"{', '.join(unknown[:3])} not recorded in {MANIFEST}")
    if select is not None:
        files = {name: rec for name, rec in files.items() if select(name)}
    for name, rec in sorted(files.items()):
        if not isinstance(rec, dict):
            raise _Damage(f"{MANIFEST}: the record of {name} is not an object")
        path = index_dir / name
        if not path.is_file():
            raise _Damage(f"{name} is missing")
        size = path.stat().st_size
        if size != rec.get("size"):
            raise _Damage(f"{name} has {size} bytes, the manifest records {rec.get('size')}")
    for name, rec in sorted(files.items()):
        if hashed(name) and _file_sha256(index_dir / name) != rec.get("sha256"):
            raise _Damage(f"{name} does not match its sha256 in {MANIFEST}")
    return True


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
            IndexCorruptError: files missing, truncated, inconsistent or not matching their checksums.
            IndexBusyError: no index yet, and a build of the folder is running.
            NotAnIndexError: the folder holds files that are not a citeqa index.
        """
        index_dir = Path(index_dir)
        recover(index_dir, names=INDEX_NAMES, keys=_MANIFEST_KEYS)
        check_index_folder(index_dir, names=INDEX_NAMES, keys=_MANIFEST_KEYS)
        try:
            manifest, articles, chunks, stored = _read_stored(index_dir, embedder=embedder, chunking=chunking)
        except IndexNotFoundError as exc:
            pid = lock_holder(index_dir)
            if pid is None:
                raise
            raise IndexBusyError(f"an index build of {index_dir} is running (pid {pid or 'unknown'}) and there is "
                                 "no finished index to read yet; try again when it is done", pid=pid) from exc
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
            raise _corrupt(index_dir, exc, manifest) from exc
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


class _Stored(NamedTuple):
    """One article of the previous index, without its text."""

    content_hash: str
    record_key: bytes  # _record_key of its title, meta and hash: equal iff its record would be written unchanged
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


def _record_key(title: str, meta: ArticleMeta, content_hash: str) -> bytes:
    return hashlib.blake2b(json.dumps([title, asdict(meta), content_hash], sort_keys=True).encode("utf-8"),
                           digest_size=16).digest()


def _read_previous(
    index_dir: Path, *, embedder: Embedder, chunking: ChunkSettings, missing_ok: bool, damage_ok: bool
) -> _Previous | None:
    """The reusable part of the current index, its source files checked against their sha256.

    Reads ``articles.jsonl`` and ``chunks.jsonl`` line by line, keeping no article text, with the same checks
    as ``Index.load``. Returns None (and logs why) when there is none (``missing_ok``) or it is incompatible or
    damaged (``damage_ok``: everything is then embedded again); raises otherwise.
    """
    try:
        manifest = _read_manifest(index_dir)
        _check_compatible(manifest, index_dir=index_dir, embedder=embedder, chunking=chunking)
        try:
            _verify_files(index_dir, manifest, select=_SOURCE_FILES.__contains__, hashed=_SOURCE_FILES.__contains__)
            return _scan_previous(index_dir, manifest, dim=embedder.dim)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise _corrupt(index_dir, exc, manifest) from exc
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
                key = _record_key(rec["title"], ArticleMeta(**rec.get("meta", {})), rec["content_hash"])
                docs[rec["doc_id"]] = _Stored(rec["content_hash"], key, offset, len(rec["text"]))
            offset += len(line)
    n_chunks = int(manifest["n_chunks"])
    spans = np.zeros((n_chunks, 2), dtype=np.int64)
    rows: dict[str, range] = {}
    n_rows = 0
    for rec in read_jsonl(index_dir / CHUNKS):
        doc_id, start, end = rec["doc_id"], int(rec["start"]), int(rec["end"])
        if not 0 <= start < end <= docs[doc_id].n_chars:
            raise ValueError(f"chunk {doc_id}:{start}-{end} lies outside its article")
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
    if _fingerprint((d, s.content_hash) for d, s in docs.items()) != manifest["corpus_fingerprint"]:
        raise ValueError("articles do not match the manifest's corpus fingerprint")
    vectors = np.load(index_dir / VECTORS, mmap_mode="r")  # reads the header only
    if vectors.shape != (n_chunks, dim) or vectors.dtype != np.float32 or not vectors.flags.c_contiguous:
        raise ValueError(f"{VECTORS} holds {vectors.shape} {vectors.dtype}, expected ({n_chunks}, {dim}) float32")
    return _Previous(manifest, path, docs, rows, spans, index_dir / VECTORS, int(vectors.offset))


def build_index(
    articles: Iterable[Article], *, index_dir: Path, embedder: Embedder, chunking: ChunkSettings,
    index_settings: IndexSettings, progress: bool = True, replace: bool = True, total: int | None = None,
    rebuild: bool = False, if_absent: bool = False, sources: Sequence[str] | None = None,
) -> BuildReport:
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

    Raises:
        NotAnIndexError: ``index_dir`` holds files that are not a citeqa index (nothing is touched).
        IndexBusyError: ``if_absent`` and another process is building the folder.
        IndexNotFoundError: ``if_absent`` and an interrupted build left its checkpoint (finish that one first).
        IndexCorruptError / IndexMismatchError: ``replace=False`` and the current index is damaged/incompatible.

    Example:
        >>> build_index(iter_articles(["~/articles"]), index_dir=Path("index"), embedder=load_embedder(),
        ...             chunking=ChunkSettings(), index_settings=IndexSettings())
    """
    total = operator.length_hint(articles) if total is None else total
    return _update(Path(index_dir), articles, set(), embedder=embedder, chunking=chunking,
                   index_settings=index_settings, progress=progress, replace=replace, missing_ok=True,
                   damage_ok=replace, total=total, rebuild=rebuild, if_absent=if_absent,
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
) -> BuildReport:
    t0 = time.perf_counter()
    # before anything is embedded (checked again at the swap)
    check_index_folder(index_dir, names=INDEX_NAMES, keys=_MANIFEST_KEYS)
    with build_lock(index_dir, wait=not if_absent):
        recover(index_dir, names=INDEX_NAMES, keys=_MANIFEST_KEYS, locked=True)
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
        fresh = BatchEmbedder(
            sibling(index_dir, "resume"), key=_checkpoint_key(embedder, chunking), embedder=embedder,
            chunk=functools.partial(_chunk_articles, embedder=embedder, chunking=chunking),
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
            checked = prev is not None and "files" in prev.manifest  # else: rewritten, to record checksums
            if (prev and same_faiss and same_sources and checked and not added + updated + removed + retitled
                    and _derived_files_ok(index_dir, prev)):
                logger.info("index %s is up to date (%d articles)", index_dir, len(docs))
                fresh.discard()  # as after any successful build: a checkpoint left beside it is stale
                return BuildReport(len(docs), len(prev.spans), 0, 0, 0, n_unchanged, 0, time.perf_counter() - t0)
            logger.info("indexing %d articles: %d new/changed, %d unchanged, %d removed",
                        len(docs), added + updated, n_unchanged, removed)
            n_chunks, bm25 = _write_records(tmp, docs, prev, fresh.checkpoint, dim=embedder.dim)
            faiss_kind = _write_search_indexes(tmp, bm25, faiss_setting=index_settings.faiss)
            manifest = {
                "format_version": FORMAT_VERSION,
                "citeqa_version": _citeqa_version(),
                "embedding_model": embedder.model_id,
                "model_fingerprint": model_fingerprint(embedder),
                "dim": embedder.dim,
                "max_tokens": embedder.max_tokens,
                "chunking": {"size": chunking.size, "overlap": chunking.overlap},
                "faiss_type": faiss_kind,
                "faiss_setting": index_settings.faiss,
                "n_chunks": n_chunks,
                "n_articles": len(docs),
                "corpus_fingerprint": _fingerprint((d, doc.content_hash) for d, doc in docs.items()),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            if sources is not None:
                manifest["sources"] = sources
            (tmp / _SPILL).unlink()
            manifest["files"] = _checksums(tmp)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            swap_into_place(tmp, index_dir, names=INDEX_NAMES, keys=_MANIFEST_KEYS)
        finally:
            discard(tmp)
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
                if stored.record_key == _record_key(article.title, article.meta, h):
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
    fh.write(jsonl_line(_article_record(article)).encode("utf-8"))
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


def _write_records(
    tmp: Path, docs: dict[str, _Doc], prev: _Previous | None, checkpoint: Checkpoint | None, *, dim: int
) -> tuple[int, BM25Builder]:
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


def _checkpoint_key(embedder: Embedder, chunking: ChunkSettings) -> dict[str, Any]:
    """Everything a chunk's vector depends on besides its text: a checkpoint is reused only if all are equal."""
    return {
        "format_version": FORMAT_VERSION,
        "model_fingerprint": model_fingerprint(embedder),
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "chunking": {"size": chunking.size, "overlap": chunking.overlap},
    }


def _derived_files_ok(index_dir: Path, prev: _Previous) -> bool:
    """Whether faiss.index and bm25/ match their checksums (none unrecorded), load and match the stored chunks
    (else they are rebuilt from the stored vectors).

    With ``_read_previous``'s checks of the files a build reuses, this makes every check ``Index.load`` makes:
    an index is called up to date only if it loads.
    """
    try:
        _verify_files(index_dir, prev.manifest, select=_is_derived, hashed=_is_derived)
        dense = DenseIndex.load(index_dir / FAISS_FILE, prev.manifest["faiss_type"])
        bm25 = BM25Index.load(index_dir / BM25_DIR)
        if not dense.ntotal == bm25.n_docs == len(prev.spans) or dense.dim != prev.manifest["dim"]:
            raise ValueError(f"FAISS has {dense.ntotal} rows of dim {dense.dim}, BM25 {bm25.n_docs} documents, "
                             f"for {len(prev.spans)} chunks")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError) as exc:
        logger.warning("rewriting the FAISS and BM25 files of %s: %s", index_dir, exc)
        return False
    return True


def _load_hashed(name: str) -> bool:
    return name in _LOAD_HASHED or name.startswith(BM25_DIR + "/")


def _is_derived(name: str) -> bool:
    """Files a build derives from the stored records and vectors (FAISS, BM25): damage there costs no embedding."""
    return name not in _SOURCE_FILES


def _with_hash(article: Article) -> Article:
    if article.content_hash:
        return article
    return Article(article.doc_id, article.title, article.text, article.meta, content_hash(article))


def _article_record(article: Article) -> dict[str, Any]:
    return {"doc_id": article.doc_id, "title": article.title, "text": article.text, "meta": asdict(article.meta),
            "content_hash": content_hash(article)}


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
            for i in range(0, len(sentences), _PRECOUNT_BATCH):  # the tokenizer's encodings of a slice at a time
                part = sentences[i : i + _PRECOUNT_BATCH]
                known.update(zip(part, count_batch(part), strict=True))

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
        done.append("manifest, file sizes, records, FAISS and BM25 structure")
        if not _verify_files(index_dir, index.manifest, hashed=lambda name: True):
            raise IndexCorruptError(f"index at {index_dir} has no checksums (written by an older citeqa); "
                                    f"{repair_hint(index.manifest)} and record them")
        done.append(f"sha256 of {len(index.manifest['files'])} files")
        for a in index.articles.values():
            if _sha256_text(a.text) != a.content_hash:
                raise _Damage(f"the text of {a.doc_id} does not match its content hash")
        done.append("article texts against their content hashes")
        stored = np.load(index_dir / VECTORS, mmap_mode="r")
        if index.vectors is not stored and not np.array_equal(index.vectors, stored):
            raise _Damage(f"the FAISS index holds other vectors than {VECTORS}")
        norms = np.linalg.norm(stored, axis=1) if len(stored) else np.ones(0)
        if not np.all(np.abs(norms - 1) < 1e-3):
            raise _Damage(f"{int(np.sum(~(np.abs(norms - 1) < 1e-3)))} rows of {VECTORS} are not unit vectors")
        done.append("FAISS vectors against vectors.npy, unit norms")
        rows = np.random.default_rng(0).choice(len(index.chunks), min(sample, len(index.chunks)), replace=False)
        if len(rows):
            fresh = embedder.embed([index.chunks[i].text for i in rows])
            cosines = np.sum(fresh * stored[rows], axis=1)
            worst = int(np.argmin(cosines))
            if cosines[worst] < _RESAMPLE_MIN_COSINE:
                c = index.chunks[rows[worst]]
                raise _Damage(f"the stored vector of {c.doc_id}:{c.start}-{c.end} is not its text's "
                              f"(cosine {cosines[worst]:.3f} with the text re-embedded)")
        done.append(f"{len(rows)} chunks re-embedded against their stored vectors")
    except (IndexCorruptError, IndexMismatchError) as exc:
        return IndexCheck(index_dir, 0, 0, (str(exc),), tuple(done))
    except _Damage as exc:
        return IndexCheck(index_dir, len(index.articles), len(index.chunks),
                          (str(_corrupt(index_dir, exc, index.manifest)),), tuple(done))
    return IndexCheck(index_dir, len(index.articles), len(index.chunks), (), tuple(done))
