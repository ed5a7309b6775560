"""The index on disk: its files, its manifest, the fingerprints and checksums that say what it holds.

Folder layout (all written together, then swapped into place; see ``embeddings/atomic.py``)::

    <index_dir>/manifest.json   model id + fingerprint, dim, chunking, FAISS type, counts, corpus fingerprint,
                            size + sha256 of every other file (``files``), the paths indexed (``sources``)
                articles.jsonl  one Article per line (cleaned text + meta + content_hash), sorted by doc_id
                chunks.jsonl    {"doc_id", "start", "end"} per line; row i <-> FAISS row i <-> vectors[i]
                vectors.npy     float32 (n_chunks, dim): updates and MMR never re-embed
                faiss.index     the dense index
                bm25/           the lexical index (bm25s files + vocabulary)
                entities.jsonl  the entities of every sentence, with the pipeline that found them (optional:
                                ``embeddings/entities.py``)
                sentence_vectors.bin  the embedding of every sentence (optional: ``embeddings/sentence_vectors.py``)

A folder holding anything but these names is never read, replaced or deleted (``NotAnIndexError``).

Compatibility: an index is read only with the model (fingerprint), dimension, model max_tokens and chunking it
was built with (``check_compatible``; ``IndexMismatchError`` names every difference). The same settings key an
interrupted build's checkpoint (``checkpoint_key``), so one record of them (``model_record``) serves both.

Integrity: the manifest records the size and sha256 of every data file. ``Index.load`` checks every size and
the hashes of the files it reads whole anyway (``load_hashed``); a build checks the hashes of every file it
reuses (``is_source``) before trusting it; ``check_index`` (``citeqa index --check``) checks everything. A
mismatch is an ``IndexCorruptError``, and the next ``citeqa index`` repairs it: damaged FAISS or BM25 files
(``is_derived``) are rebuilt from the stored vectors, damaged records or vectors are re-embedded from the
articles. Indexes written before checksums existed load (with a warning) and get them at the next build.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.types import Article, ArticleMeta, text_hash
from embeddings.atomic import read_manifest_text
from embeddings.config import ChunkSettings
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError

FORMAT_VERSION = 1
REBUILD_HINT = "run `citeqa index --rebuild`"
MANIFEST, ARTICLES, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR, ENTITIES = (
    "manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "faiss.index", "bm25", "entities.jsonl",
)
SENTENCE_VECTORS = "sentence_vectors.bin"
# what citeqa writes in an index
INDEX_NAMES = (MANIFEST, ARTICLES, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR, ENTITIES, SENTENCE_VECTORS)
MANIFEST_KEYS = ("format_version", "embedding_model", "corpus_fingerprint")  # what makes a manifest citeqa's
# The files a load reads whole anyway, so checking their sha256 costs little beside it. vectors.npy is not:
# FAISS holds its own copy (flat/HNSW) and MMR maps a few rows (IVF), so a load checks its size only, and a
# build that reuses it (or --check) hashes it.
_LOAD_HASHED = frozenset({ARTICLES, CHUNKS, FAISS_FILE})  # and every file of bm25/
_SOURCE_FILES = frozenset({ARTICLES, CHUNKS, VECTORS})  # what a build reuses; the rest is derived from them


def content_hash(article: Article) -> str:
    """The article's ``content_hash``, computed from its text when the loader left it empty."""
    return article.content_hash or text_hash(article.text)


def corpus_fingerprint(articles: Iterable[Article]) -> str:
    """sha256 over the sorted ``doc_id:content_hash`` pairs: equal iff the indexed texts are equal."""
    return fingerprint_hashes((a.doc_id, content_hash(a)) for a in articles)


def fingerprint_hashes(hashes: Iterable[tuple[str, str]]) -> str:
    """``corpus_fingerprint`` of ``(doc_id, content_hash)`` pairs (what a build knows without the texts)."""
    return text_hash("\n".join(sorted(f"{doc_id}:{h}" for doc_id, h in hashes)))



def _citeqa_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeqa")
    except PackageNotFoundError:
        return "0+unknown"


def check_compatible(
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


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of the index at ``index_dir`` (IndexNotFoundError when empty, IndexCorruptError if unreadable)."""
    if not index_dir.is_dir() or not any(index_dir.iterdir()):
        raise IndexNotFoundError(f"no index at {index_dir}; run `citeqa index` to build one")
    try:
        manifest = json.loads(read_manifest_text(index_dir / MANIFEST))
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index at {index_dir}: unreadable {MANIFEST} ({exc}); {repair_hint(None)}") from exc
    return manifest


def corrupt_error(index_dir: Path, exc: BaseException, manifest: dict[str, Any] | None = None) -> IndexCorruptError:
    """The error that reports ``exc``, met reading the index at ``index_dir``, as damage with a repair hint."""
    what = str(exc) if isinstance(exc, Damage) else f"{type(exc).__name__}: {exc}"
    return IndexCorruptError(f"index at {index_dir} is damaged ({what}); {repair_hint(manifest)}")


def repair_hint(manifest: dict[str, Any] | None) -> str:
    """How to repair a damaged index: ``citeqa index`` with the paths the manifest says it was built from."""
    sources = manifest.get("sources") if isinstance(manifest, dict) else None
    if isinstance(sources, list) and sources and all(isinstance(x, str) for x in sources):
        return f"run `citeqa index {shlex.join(sources)}` to repair it"
    if isinstance(sources, list) and not sources:  # built from the bundled articles (+ uploads)
        return "run `citeqa index` to repair it"
    return "run `citeqa index` with the files it was built from to repair it"


class Damage(ValueError):
    """A data file disagrees with the manifest's record of it (raised while reading an index, reported as corrupt)."""


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _data_files(folder: Path) -> list[str]:
    """The data files of an index folder (citeqa's entries but the manifest), as sorted relative POSIX paths."""
    ours = (folder / name for name in INDEX_NAMES[1:])
    return sorted(q.relative_to(folder).as_posix() for p in ours
                  for q in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else []) if q.is_file())


def checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every data file of a freshly written index folder (for its manifest)."""
    return {name: {"size": (folder / name).stat().st_size, "sha256": _file_sha256(folder / name)}
            for name in _data_files(folder)}


def verify_files(
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
        Damage: a file missing, of another size, with another hash, or not recorded.
    """
    files = manifest.get("files")
    if files is None:
        return False
    if not isinstance(files, dict):
        raise Damage(f"{MANIFEST}: 'files' is not an object")
    unknown = sorted(name for name in set(_data_files(index_dir)) - set(files) if select is None or select(name))
    if unknown:
        raise Damage(f"{', '.join(unknown[:3])} not recorded in {MANIFEST}")
    if select is not None:
        files = {name: rec for name, rec in files.items() if select(name)}
    for name, rec in sorted(files.items()):
        if not isinstance(rec, dict):
            raise Damage(f"{MANIFEST}: the record of {name} is not an object")
        path = index_dir / name
        if not path.is_file():
            raise Damage(f"{name} is missing")
        size = path.stat().st_size
        if size != rec.get("size"):
            raise Damage(f"{name} has {size} bytes, the manifest records {rec.get('size')}")
    for name, rec in sorted(files.items()):
        if hashed(name) and _file_sha256(index_dir / name) != rec.get("sha256"):
            raise Damage(f"{name} does not match its sha256 in {MANIFEST}")
    return True


def check_span(doc_id: str, start: int, end: int, *, n_chars: int) -> None:
    """ValueError unless the chunk span ``start:end`` is a non-empty part of its article's ``n_chars`` of text."""
    if not 0 <= start < end <= n_chars:
        raise ValueError(f"chunk {doc_id}:{start}-{end} lies outside its article")


def record_key(title: str, meta: ArticleMeta, content_hash: str) -> bytes:
    """A digest of an article's record but its text: equal iff the record would be written unchanged."""
    return hashlib.blake2b(json.dumps([title, asdict(meta), content_hash], sort_keys=True).encode("utf-8"),
                           digest_size=16).digest()


def model_record(embedder: Embedder, chunking: ChunkSettings) -> dict[str, Any]:
    """Everything a chunk's vector depends on besides its text, as the manifest and a checkpoint key record it."""
    return {
        "model_fingerprint": model_fingerprint(embedder),
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "chunking": {"size": chunking.size, "overlap": chunking.overlap},
    }


def checkpoint_key(embedder: Embedder, chunking: ChunkSettings) -> dict[str, Any]:
    """The key of a build's checkpoint: its vectors are reused only by a build with all of it equal."""
    return {"format_version": FORMAT_VERSION, **model_record(embedder, chunking)}


def new_manifest(
    *, embedder: Embedder, chunking: ChunkSettings, faiss_kind: str, faiss_setting: str, n_chunks: int,
    n_articles: int, corpus_fingerprint: str, sources: list[str] | None, store: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a freshly built index, without ``files`` (added once the data files are written)."""
    manifest = {
        "format_version": FORMAT_VERSION,
        "citeqa_version": _citeqa_version(),
        "embedding_model": embedder.model_id,
        **model_record(embedder, chunking),
        "faiss_type": faiss_kind,
        "faiss_setting": faiss_setting,
        "n_chunks": n_chunks,
        "n_articles": n_articles,
        "corpus_fingerprint": corpus_fingerprint,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if sources is not None:
        manifest["sources"] = sources
    if store is not None:  # the Milvus collection searched (no token); absent: FAISS + BM25 in the folder
        manifest["store"] = store
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Record the size and sha256 of every data file of ``folder`` in ``manifest`` and write it there, last."""
    manifest["files"] = checksums(folder)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def load_hashed(name: str) -> bool:
    """Files whose sha256 ``Index.load`` checks (it reads them whole anyway)."""
    return name in _LOAD_HASHED or name.startswith(BM25_DIR + "/")


def is_source(name: str) -> bool:
    """Files a build reuses as they are (records and vectors): damage there means embedding again."""
    return name in _SOURCE_FILES


def is_derived(name: str) -> bool:
    """Files a build derives from the stored records and vectors (FAISS, BM25): damage there costs no embedding."""
    return not is_source(name)


def article_record(article: Article) -> dict[str, Any]:
    """The line of ``articles.jsonl`` that stores ``article``."""
    return {"doc_id": article.doc_id, "title": article.title, "text": article.text, "meta": asdict(article.meta),
            "content_hash": content_hash(article)}
