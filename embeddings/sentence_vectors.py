"""Sentence vectors stored in the index folder: embedded once at index time, read at query time.

The answer path compares the question (and, for the support check, each claim) with every sentence of the
retrieved chunks by the cosine of their embeddings. Embedded at query time that is a model run over every sentence
not seen yet by this process (most of a warm answer's time); stored here it is a read of a memory-mapped row.

``sentence_vectors.bin`` (one of the index's files, checksummed in the manifest, written in the staging folder and
swapped in with the rest): a header line of JSON, padded with spaces to a multiple of 64 bytes, then the float32
rows (little-endian, ``rows × dim``)::

    {"format": 1, "model_fingerprint": "<sha256>", "dim": 384, "rows": 311,
     "docs": {"<doc_id>": ["<content_hash>", <first row>, [start0, end0, start1, end1, ...]], ...}}

The spans are ``corpus.sentences.split_sentences``' offsets into the article's text, one row each, in order. A
build reuses the rows of unchanged articles (same content hash) once the old file matches its sha256 and its
model fingerprint is the index's, and embeds the sentences of the others (``embed_new``); without that it keeps what
it can reuse. The rows are the embedder's own unit vectors, so an answer reads the same numbers it would embed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from corpus.sentences import split_sentences
from embeddings.atomic import read_jsonl
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.entities import EntityFinder, entities_current
from embeddings.entities import finish_folder as finish_entities
from embeddings.layout import ARTICLES, SENTENCE_VECTORS, Damage, corrupt_error

logger = logging.getLogger(__name__)

FORMAT = 1
_ALIGN = 64  # the rows start at a multiple of this many bytes
_BATCH_SENTENCES = 512  # sentences embedded per call at index time
_UNIT_TOLERANCE = 1e-3

SentenceRows = dict[tuple[int, int], np.ndarray]  # (start, end) of a sentence in its article -> its unit vector


class StoredSentenceVectors:
    """The ``sentence_vectors.bin`` of a loaded index: its header read at load, the rows memory-mapped.

    The map stays valid when a later build swaps the folder away (POSIX keeps a file's data until its last map
    is closed), so an index loaded before a rebuild keeps reading its own rows.
    A file that is not what citeqa wrote raises ``Damage`` (``open``, ``check``: the index reports it with its
    repair hint) or ``IndexCorruptError`` (``article``, at query time: one line with the repair hint).
    """

    def __init__(self, path: Path, header: dict[str, Any], rows: np.ndarray,
                 manifest: dict[str, Any] | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.model_fingerprint: str = header["model_fingerprint"]
        self.dim: int = header["dim"]
        self._docs: dict[str, list[Any]] = header["docs"]
        self._rows = rows

    @classmethod
    def open(cls, index_dir: Path, manifest: dict[str, Any] | None = None) -> StoredSentenceVectors | None:
        """The index's stored sentence vectors, or None when it has none (built before they were stored).

        ``manifest``: the index's, for the repair hint of an error at query time.

        Raises:
            Damage: the header is unreadable or the file's size is not what it says.
        """
        path = Path(index_dir) / SENTENCE_VECTORS
        if not path.is_file():
            return None
        with open(path, "rb") as fh:
            line = fh.readline()
        try:
            header = _header(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Damage(f"{SENTENCE_VECTORS}: unreadable header ({exc})") from exc
        n, dim = header["rows"], header["dim"]
        size = path.stat().st_size
        if size != len(line) + 4 * n * dim:
            raise Damage(f"{SENTENCE_VECTORS} has {size} bytes, its header says {len(line) + 4 * n * dim}")
        rows = (np.memmap(path, dtype="<f4", mode="r", offset=len(line), shape=(n, dim)) if n
                else np.zeros((0, dim), dtype=np.float32))
        return cls(path, header, rows, manifest)

    def __len__(self) -> int:
        return len(self._docs)

    def holds(self, doc_id: str, content_hash: str) -> bool:
        """Whether the article, with this text, has rows."""
        entry = self._docs.get(doc_id)
        return entry is not None and entry[0] == content_hash

    def article(self, doc_id: str, content_hash: str) -> SentenceRows | None:
        """The stored vectors of the article's sentences; None when the article (with this text) has none.

        Raises:
            IndexCorruptError: its entry is not what citeqa wrote (one line, with the repair hint).
        """
        try:
            return self._read(doc_id, content_hash)
        except Damage as exc:
            raise corrupt_error(self.path.parent, exc, self.manifest) from exc

    def _read(self, doc_id: str, content_hash: str) -> SentenceRows | None:
        if not self.holds(doc_id, content_hash):
            return None
        first, flat = self._docs[doc_id][1], self._docs[doc_id][2]
        n = len(flat) // 2
        if len(flat) % 2 or first + n > len(self._rows):
            raise Damage(f"{SENTENCE_VECTORS}: the entry of {doc_id} points past its rows")
        rows = self._rows[first:first + n]
        # bytes changed at the same size (the load checks sizes; only --check hashes the file) are no unit vectors
        if n and not np.all(np.abs(np.linalg.norm(rows, axis=1) - 1.0) < _UNIT_TOLERANCE):
            raise Damage(f"{SENTENCE_VECTORS}: the rows of {doc_id} are not unit vectors")
        return {(int(flat[2 * i]), int(flat[2 * i + 1])): rows[i] for i in range(n)}

    def check(self, texts: Mapping[str, tuple[str, str]]) -> int:
        """Check every entry against the articles (doc_id → (content_hash, text)): the articles and hashes the
        header names, sentence spans inside their article, unit rows that no two articles share. Returns the
        number of sentences checked.

        Raises:
            Damage: the first entry that is not what citeqa wrote.
        """
        n = 0
        taken = np.zeros(len(self._rows), dtype=bool)
        for doc_id, (content_hash, *_) in self._docs.items():
            known = texts.get(doc_id)
            if known is None or known[0] != content_hash:
                raise Damage(f"{SENTENCE_VECTORS} holds {doc_id} with a content hash the index's article does not have")
            sentences = self._read(doc_id, content_hash) or {}
            first = self._docs[doc_id][1]
            if taken[first:first + len(sentences)].any():
                raise Damage(f"{SENTENCE_VECTORS}: the rows of {doc_id} overlap another article's")
            taken[first:first + len(sentences)] = True
            for start, end in sentences:
                if not 0 <= start < end <= len(known[1]):
                    raise Damage(f"{SENTENCE_VECTORS}: a span of {doc_id} at {start}-{end} lies outside its text")
            n += len(sentences)
        return n


def _header(line: bytes) -> dict[str, Any]:
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"not a format-{FORMAT} header")
    if not isinstance(header.get("model_fingerprint"), str):
        raise ValueError("no model_fingerprint")
    for key in ("dim", "rows"):
        if not isinstance(header.get(key), int) or header[key] < 0:
            raise ValueError(f"'{key}' is not a count")
    docs = header.get("docs")
    if not isinstance(docs, dict) or not all(
            isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and isinstance(v[1], int) and v[1] >= 0
            and isinstance(v[2], list) and all(isinstance(x, int) for x in v[2]) for v in docs.values()):
        raise ValueError("'docs' is not a map of doc_id to [content_hash, first row, spans]")
    return header


def sentence_vectors_current(index_dir: Path, embedder: Embedder, embed_new: bool) -> bool:
    """Whether a build has nothing to add: it embeds none, or the index has a readable file of this model (its
    checksum and content are checked with the index's other derived files, and by ``citeqa index --check``)."""
    if not embed_new:
        return True
    try:
        stored = StoredSentenceVectors.open(index_dir)
    except (OSError, ValueError):
        return False
    return stored is not None and stored.model_fingerprint == model_fingerprint(embedder)


def write_sentence_vectors(
    folder: Path, *, previous: Path | None, previous_manifest: dict[str, Any] | None, embedder: Embedder,
    embed_new: bool, progress: bool = False,
) -> int:
    """Write ``folder``'s ``sentence_vectors.bin`` for the articles of its ``articles.jsonl`` (a build's staging
    folder).

    Args:
        previous: the index folder being replaced (its rows are reused where they can be), or None.
        previous_manifest: that index's manifest: its file is reused only if it matches the sha256 recorded there.
        embedder: the index's embedder: what the rows must be of (its fingerprint), and what embeds new ones.
        embed_new: embed the sentences of new and changed articles; False: keep only what can be reused (no file
            when nothing can).
        progress: a tqdm bar over the sentences embedded.

    Returns:
        How many sentences were embedded.
    """
    fingerprint = model_fingerprint(embedder)
    old = _reusable(previous, previous_manifest, fingerprint, embedder.dim)
    docs: dict[str, list[Any]] = {}
    body = folder / (SENTENCE_VECTORS + ".body")
    rows = embedded = 0
    bar = None
    pending: list[tuple[str, str, list[tuple[int, int]], list[str]]] = []

    def flush(out: IO[bytes]) -> None:
        nonlocal rows, embedded
        texts = [t for *_, batch in pending for t in batch]
        vecs = np.asarray(embedder.embed(texts), dtype="<f4") if texts else np.zeros((0, embedder.dim), "<f4")
        at = 0
        for doc_id, content_hash, spans, batch in pending:
            docs[doc_id] = [content_hash, rows, [x for span in spans for x in span]]
            out.write(vecs[at:at + len(batch)].tobytes())
            rows += len(batch)
            at += len(batch)
        embedded += len(texts)
        if bar is not None:
            bar.update(len(texts))
        pending.clear()

    try:
        if embed_new and progress:
            bar = _progress_bar()
        with open(body, "wb") as out:
            for doc_id, content_hash, text in _articles(folder / ARTICLES):
                kept = old.article(doc_id, content_hash) if old is not None else None
                if kept is not None:
                    flush(out)  # rows stay in article order
                    docs[doc_id] = [content_hash, rows, [x for span in kept for x in span]]
                    out.write(np.asarray(list(kept.values()), dtype="<f4").reshape(-1, embedder.dim).tobytes())
                    rows += len(kept)
                    continue
                if not embed_new:
                    continue
                spans = split_sentences(text)
                pending.append((doc_id, content_hash, spans, [text[s:e] for s, e in spans]))
                if sum(len(p[3]) for p in pending) >= _BATCH_SENTENCES:
                    flush(out)
            flush(out)
        if docs:
            header = json.dumps({"format": FORMAT, "model_fingerprint": fingerprint, "dim": embedder.dim,
                                 "rows": rows, "docs": docs}, ensure_ascii=False).encode("utf-8")
            header += b" " * (-(len(header) + 1) % _ALIGN) + b"\n"
            tmp = folder / (SENTENCE_VECTORS + ".tmp")
            with open(tmp, "wb") as fh, open(body, "rb") as src:
                fh.write(header)
                while block := src.read(1 << 20):
                    fh.write(block)
            os.replace(tmp, folder / SENTENCE_VECTORS)
    finally:
        body.unlink(missing_ok=True)
        (folder / (SENTENCE_VECTORS + ".tmp")).unlink(missing_ok=True)
        if bar is not None:
            bar.close()
    if embedded:
        logger.info("embedded %d sentences for the answers to read", embedded)
    return embedded


def _articles(path: Path) -> Iterator[tuple[str, str, str]]:
    for rec in read_jsonl(path):
        yield rec["doc_id"], rec["content_hash"], rec["text"]


def _reusable(previous: Path | None, manifest: dict[str, Any] | None, fingerprint: str, dim: int
              ) -> StoredSentenceVectors | None:
    """The previous index's sentence vectors, if intact (its sha256 as recorded) and of this model."""
    if previous is None or manifest is None:
        return None
    record = (manifest.get("files") or {}).get(SENTENCE_VECTORS)
    path = previous / SENTENCE_VECTORS
    try:
        if not isinstance(record, dict) or not path.is_file() or _sha256(path) != record.get("sha256"):
            return None
        old = StoredSentenceVectors.open(previous)
    except (OSError, ValueError) as exc:
        logger.warning("embedding every sentence again: %s", exc)
        return None
    if old is not None and (old.model_fingerprint != fingerprint or old.dim != dim):
        logger.info("the stored sentence vectors are of another model: embedding them again")
        return None
    return old


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _progress_bar() -> Any:
    """A tqdm bar over sentences on stderr, or None when tqdm is missing (it comes with sentence-transformers)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(unit="sentence", desc="sentence vectors")


def extras_current(index_dir: Path, entities: EntityFinder | None, *, embedder: Embedder,
                   sentence_vectors: bool) -> bool:
    """Whether the index's stored sentence entities and sentence vectors leave a build nothing to add."""
    return entities_current(index_dir, entities) and sentence_vectors_current(index_dir, embedder, sentence_vectors)


def finish_folder(folder: Path, manifest: dict[str, Any], previous: Path, previous_manifest: dict[str, Any] | None,
                  finder: EntityFinder | None, *, embedder: Embedder, sentence_vectors: bool,
                  progress: bool = False) -> None:
    """The last step of a build in its staging ``folder``: write the sentence vectors (:func:`write_sentence_vectors`),
    then the entity file and the manifest with the checksums of every file (``embeddings.entities.finish_folder``),
    reusing ``previous``'s files when ``previous_manifest`` is given."""
    write_sentence_vectors(folder, previous=previous if previous_manifest is not None else None,
                           previous_manifest=previous_manifest, embedder=embedder, embed_new=sentence_vectors,
                           progress=progress)
    finish_entities(folder, manifest, previous, previous_manifest, finder, progress=progress)
