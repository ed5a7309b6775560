"""Resumable builds: vectors of the articles a build has embedded so far, kept durably until it succeeds.

Folder layout (a sibling of the index, ``.<index>.resume/``)::

    key.json        the settings the vectors depend on (model fingerprint, dim, max_tokens, chunking)
    00000.npy       float32 (rows, dim): the chunk vectors of one batch of articles
    00000.json      {"vectors": "00000.npy", "articles": [{"doc_id", "content_hash", "spans": [[start, end], ...]}]}

A batch is committed by its JSON: the ``.npy`` is written and fsynced first, then the JSON is written to a
temporary name, fsynced and renamed into place. A build killed at any point therefore leaves only whole
batches behind (an ``.npy`` without its JSON is ignored). One JSON per batch rather than one growing file,
so that committing a batch costs the same at batch 400 as at batch 1.

A checkpoint written with other settings is deleted when opened; the build that finishes deletes its own.

``BatchEmbedder`` fills a checkpoint from a stream of articles: it queues new and changed articles, chunks and
embeds them a batch at a time, and commits each batch before it takes more, so a build holds one batch of
article texts whatever the size of the collection. ``chunk_articles`` is its chunker: sentence-aware chunks
measured in the model's own tokens.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.types import Article, Chunk
from embeddings.atomic import discard, fsync, make_room
from embeddings.config import ChunkSettings
from embeddings.embedder import Embedder

logger = logging.getLogger(__name__)

KEY_FILE = "key.json"
_BATCH = re.compile(r"^(\d{5,})\.(npy|json)$")
_OPEN_BATCHES = 8  # memory-mapped batch files kept open while vectors are copied out (bounds descriptors)
PRECOUNT_GROUP = 256  # articles whose sentences are token-counted in one batch (bounds the memory used)
# Sentences (<= 2,000 chars each) per tokenizer call: the tokenizer's encodings of a whole long article at once
# took hundreds of MB (``python -m evals.bench.index_memory`` measures the peak).
_PRECOUNT_BATCH = 256


@dataclass(frozen=True)
class CheckpointEntry:
    """Where one article's chunk vectors are: rows ``first .. first + len(spans)`` of ``vectors_file``."""

    content_hash: str
    spans: tuple[tuple[int, int], ...]
    vectors_file: str
    first: int


class Checkpoint:
    """The vectors a build has embedded so far, by ``(doc_id, content_hash)``.

    Use ``Checkpoint.open`` (not the constructor): it loads a compatible checkpoint and discards any other.

    Example:
        >>> cp = Checkpoint.open(Path(".index.resume"), key={"dim": 64}, dim=64)
        >>> cp.add([("a.txt", "ab12", [(0, 10)])], np.zeros((1, 64), np.float32))
        >>> cp.lookup("a.txt", "ab12").spans
        ((0, 10),)
    """

    def __init__(self, folder: Path, *, dim: int, entries: dict[str, CheckpointEntry], next_batch: int) -> None:
        self.folder = folder
        self.dim = dim
        self._entries = entries
        self._next_batch = next_batch
        self._open: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, folder: Path, *, key: dict[str, Any], dim: int) -> Checkpoint:
        """The checkpoint in ``folder`` if it was written with ``key``; else a new empty one there.

        Anything else at ``folder`` (another checkpoint, an unreadable one, a file, a symlink: never followed) is
        removed first (``make_room``; RetrievalError when it cannot be).
        """
        folder = Path(folder)
        if os.path.lexists(folder):
            try:
                if not stat.S_ISDIR(os.lstat(folder).st_mode):
                    raise NotADirectoryError(f"{folder} is not a folder")
                if json.loads((folder / KEY_FILE).read_text(encoding="utf-8")) == key:
                    entries, next_batch = _read_batches(folder, dim)
                    return cls(folder, dim=dim, entries=entries, next_batch=next_batch)
                logger.info("ignoring the checkpoint at %s: written with other settings", folder)
            except (OSError, ValueError) as exc:
                logger.info("ignoring the checkpoint at %s: %s", folder, exc)
            make_room(folder)
        folder.mkdir(parents=True)
        _write_json_durably(folder / KEY_FILE, key)
        fsync(folder.parent)
        return cls(folder, dim=dim, entries={}, next_batch=0)

    def known(self) -> dict[str, str]:
        """The content hash of every article whose vectors are committed, by doc_id (later batches win)."""
        return {doc_id: entry.content_hash for doc_id, entry in self._entries.items()}

    def lookup(self, doc_id: str, content_hash: str) -> CheckpointEntry | None:
        """The stored entry of this article with this exact text, or None."""
        entry = self._entries.get(doc_id)
        return entry if entry is not None and entry.content_hash == content_hash else None

    def vectors(self, entry: CheckpointEntry) -> np.ndarray:
        """The entry's chunk vectors (a read-only view into its memory-mapped batch file)."""
        batch = self._open.get(entry.vectors_file)
        if batch is None:
            if len(self._open) >= _OPEN_BATCHES:
                self._open.pop(next(iter(self._open)))
            batch = np.load(self.folder / entry.vectors_file, mmap_mode="r")
            self._open[entry.vectors_file] = batch
        return batch[entry.first : entry.first + len(entry.spans)]

    def add(self, articles: list[tuple[str, str, list[tuple[int, int]]]], vectors: np.ndarray) -> None:
        """Commit one batch durably: ``(doc_id, content_hash, chunk spans)`` per article, vectors in that order."""
        n_rows = sum(len(spans) for _, _, spans in articles)
        if vectors.shape != (n_rows, self.dim):
            raise ValueError(f"batch of {n_rows} chunks got vectors of shape {vectors.shape}")
        name = f"{self._next_batch:05d}"
        self._next_batch += 1
        with open(self.folder / f"{name}.npy", "wb") as fh:
            np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))
            fh.flush()
            os.fsync(fh.fileno())
        record = {"vectors": f"{name}.npy", "articles": [
            {"doc_id": doc_id, "content_hash": h, "spans": [list(s) for s in spans]} for doc_id, h, spans in articles
        ]}
        _write_json_durably(self.folder / f"{name}.json", record)
        first = 0
        for doc_id, h, spans in articles:
            self._entries[doc_id] = CheckpointEntry(h, tuple(spans), f"{name}.npy", first)
            first += len(spans)

    def discard(self) -> None:
        """Delete the checkpoint (after the index it fed has been swapped into place)."""
        self._open.clear()
        discard(self.folder)


class BatchEmbedder:
    """Chunks and embeds new and changed articles as they stream in, committing each batch to a checkpoint.

    Articles the checkpoint already holds with the same content hash (left by an interrupted build) keep
    their chunks and vectors there. At most ``batch_articles`` articles are queued; each embedding call gets
    at most ``batch_chunks`` chunks (more only when one article has more), committed as one batch. The
    checkpoint is opened with the first article added, so a build that embeds nothing never creates one.

    Args:
        folder, key: where the checkpoint lives and the settings it must match (see ``Checkpoint.open``).
        embedder: embeds chunk texts.
        chunk: the chunks of a group of articles, by doc_id.
        progress: show a tqdm bar over articles once the first one needs embedding.
        total: articles expected in the stream (the bar's total; 0 when unknown).

    Attributes:
        checkpoint: None until the first article is added.
        n_embedded, n_resumed: chunks embedded now, chunks found in the checkpoint.
        added, resumed_articles: articles taken with ``add``, of which found in the checkpoint.
    """

    def __init__(
        self, folder: Path, *, key: dict[str, Any], embedder: Embedder,
        chunk: Callable[[Sequence[Article]], dict[str, list[Chunk]]], batch_articles: int, batch_chunks: int,
        progress: bool, total: int,
    ) -> None:
        self.folder = folder
        self.key = key
        self.embedder = embedder
        self.chunk = chunk
        self.batch_articles = batch_articles
        self.batch_chunks = batch_chunks
        self.progress = progress
        self.total = total
        self.checkpoint: Checkpoint | None = None
        self.n_embedded = self.n_resumed = 0
        self.added = self.resumed_articles = 0
        self._seen = 0
        self._queue: list[tuple[Article, str]] = []  # with its content hash
        self._bar: Any = None

    def skip(self) -> None:
        """Count an article of the stream that needs no embedding (it moves the progress bar)."""
        self._seen += 1
        if self._bar is not None:
            self._bar.update(1)

    def add(self, article: Article, content_hash: str) -> None:
        """Take a new or changed article: found in the checkpoint, or queued and embedded with its batch."""
        self._seen += 1
        self.added += 1
        if self.checkpoint is None:
            self.checkpoint = Checkpoint.open(self.folder, key=self.key, dim=self.embedder.dim)
        entry = self.checkpoint.lookup(article.doc_id, content_hash)
        if entry is not None and all(0 <= s < e <= len(article.text) for s, e in entry.spans):
            self.n_resumed += len(entry.spans)
            self.resumed_articles += 1
            if self._bar is not None:
                self._bar.update(1)
            return
        if self._bar is None and self.progress:
            self._bar = _progress_bar(max(self.total, self._seen), initial=self._seen - 1)
        self._queue.append((article, content_hash))
        if len(self._queue) >= self.batch_articles:
            self._embed_queue()

    def finish(self) -> None:
        """Embed what is still queued; call once the stream is exhausted."""
        self._embed_queue()
        if self._bar is not None and self._bar.total != self._seen:
            self._bar.total = self._seen  # ``total`` counted files; some were skipped or repeated
            self._bar.refresh()
        self.close()

    def close(self) -> None:
        """Close the progress bar (also when the build fails part-way)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def discard(self) -> None:
        """Delete the checkpoint, or one an earlier build left (after the index it fed is in place)."""
        if self.checkpoint is not None:
            self.checkpoint.discard()
        else:
            discard(self.folder)

    def _embed_queue(self) -> None:
        group, self._queue = self._queue, []
        if not group:
            return
        assert self.checkpoint is not None  # opened by add()
        chunks = self.chunk([article for article, _ in group])
        batch: list[tuple[Article, str]] = []
        n_chunks = 0
        for i, (article, content_hash) in enumerate(group):
            batch.append((article, content_hash))
            n_chunks += len(chunks[article.doc_id])
            if n_chunks < self.batch_chunks and i < len(group) - 1:
                continue
            texts = [c.text for a, _ in batch for c in chunks[a.doc_id]]
            vectors = self.embedder.embed(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
            self.checkpoint.add([(a.doc_id, h, [(c.start, c.end) for c in chunks[a.doc_id]]) for a, h in batch],
                                vectors)
            self.n_embedded += len(texts)
            if self._bar is not None:
                self._bar.update(len(batch))
            batch, n_chunks = [], 0


def chunk_articles(
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
    for first in range(0, len(articles), PRECOUNT_GROUP):
        group = articles[first : first + PRECOUNT_GROUP]
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


def _progress_bar(total: int, *, initial: int) -> Any:
    """A tqdm bar over articles on stderr, or None when tqdm is missing (it comes with sentence-transformers)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, unit="article", desc="embedding")


def _read_batches(folder: Path, dim: int) -> tuple[dict[str, CheckpointEntry], int]:
    """Entries of every committed, readable batch (later batches win), and the next free batch number."""
    entries: dict[str, CheckpointEntry] = {}
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _BATCH.match(p.name))]
    for path in sorted(folder.glob("*.json")):
        if path.name == KEY_FILE or not _BATCH.match(path.name):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            batch: list[tuple[str, str, tuple[tuple[int, int], ...]]] = [
                (str(a["doc_id"]), str(a["content_hash"]), tuple((int(s), int(e)) for s, e in a["spans"]))
                for a in record["articles"]
            ]
            vectors_file = str(record["vectors"])
            header = np.load(folder / vectors_file, mmap_mode="r")
            n_rows = sum(len(spans) for _, _, spans in batch)
            if header.shape != (n_rows, dim) or header.dtype != np.float32:
                raise ValueError(f"{vectors_file} holds {header.shape} {header.dtype}, expected ({n_rows}, {dim})")
            del header
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("skipping damaged checkpoint batch %s: %s", path, exc)
            continue
        first = 0
        for doc_id, h, spans in batch:
            entries[doc_id] = CheckpointEntry(h, spans, vectors_file, first)
            first += len(spans)
    return entries, max(numbers, default=-1) + 1


def _write_json_durably(path: Path, record: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync(path.parent)
