"""The Milvus vector store (``index.store = "milvus"``): one collection per index, dense + built-in BM25.

A collection holds one row per chunk::

    id            INT64 primary key: ``chunk_id(doc_id, content_hash, start, end)`` (deterministic, so an
                  insert is an upsert and retrying a batch never duplicates a chunk)
    doc_id, content_hash, start, end    where the chunk lies in which version of which article
    text          the chunk's text (a hit's text is cut from the local article, which it equals)
    terms         the chunk's BM25 terms as the FAISS path's BM25 sees them (``bm25.tokenize``: lowercase, English
                  stop words dropped, Snowball-stemmed), space-separated and analysed by Milvus's standard tokenizer
                  for its BM25 function. So every Milvus (Lite has no stemmer) ranks on the same terms as
                  bm25s, with the same parameters (k1 1.5, b 0.75, Lucene idf): BM25 scores equal the FAISS path's
    vector        FLOAT_VECTOR(dim): the chunk's unit vector (inner product = cosine)
    sparse        SPARSE_FLOAT_VECTOR: the BM25 function's output on ``terms`` (full-text search runs in Milvus)

and records the embedder's fingerprint and dimension in its properties, so a collection built with another
model is refused (``IndexMismatchError``). The index folder still holds the articles (for exact citations), the
chunk spans, the vectors (for incremental builds) and the manifest; ``sync_collection`` makes the collection
hold exactly the folder's chunks. pymilvus is imported only here and only when the store is Milvus.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from embeddings.atomic import parse_record
from embeddings.bm25 import tokenize
from embeddings.config import IndexSettings
from embeddings.errors import IndexCorruptError, IndexMismatchError, RetrievalError, StoreUnavailableError
from embeddings.layout import ARTICLES, CHUNKS, VECTORS

logger = logging.getLogger(__name__)

_FINGERPRINT, _DIM, _KIND = "citeqa.model_fingerprint", "citeqa.dim", "citeqa.kind"
_KIND_VALUE = "citeqa-chunks-v2"  # the schema above; another one is refused
_MAX_DOC_ID, _MAX_TEXT = 2048, 65535  # VARCHAR limits (bytes); chunks are a few hundred tokens
_BATCH = 500  # rows per upsert call
_QUERY_WINDOW = 16384  # the largest limit a Milvus query accepts
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s's defaults (Milvus's own k1 is 1.2)
_INDEX_TYPES = {"auto": "AUTOINDEX", "flat": "FLAT", "hnsw": "HNSW", "ivf": "IVF_FLAT", "ivfsq8": "IVF_SQ8",
                "ivfpq": "IVF_PQ"}


def _pymilvus() -> Any:
    # gRPC's fork handlers (on by default) make 2-5% of the children this process fork()s beside pymilvus's and
    # Milvus Lite's gRPC threads abort before exec ('epoll_wait error: Bad file descriptor', SIGABRT): a Ray
    # instance started here after the store (a second `library.build(ray=...)`, `citeqa bench` with a Milvus
    # config) loses its raylet. Nothing here uses gRPC in a forked child; gRPC reads the switch once, on load.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    try:
        import pymilvus
    except ImportError as exc:
        raise RetrievalError("index.store = 'milvus' needs pymilvus: pip install 'citeqa[scale]'") from exc
    return pymilvus


def public_uri(uri: str) -> str:
    """``uri`` without any user:password part (what messages and the manifest show)."""
    parts = urlsplit(uri)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return uri


def is_lite_uri(uri: str) -> bool:
    """Whether ``uri`` is a Milvus Lite file path (pymilvus then runs Milvus Lite in this process)."""
    return "://" not in uri


def collection_name(settings: IndexSettings, index_dir: Path) -> str:
    """The index's collection: ``settings.milvus_collection``, else ``citeqa_`` + 16 hex of its folder's path."""
    if settings.milvus_collection:
        return settings.milvus_collection
    return "citeqa_" + hashlib.sha256(str(Path(index_dir).resolve()).encode("utf-8")).hexdigest()[:16]


def chunk_id(doc_id: str, content_hash: str, start: int, end: int) -> int:
    """The chunk's primary key: 63 bits of a hash of where it lies in which version of which article."""
    digest = hashlib.blake2b(f"{doc_id}\0{content_hash}\0{start}\0{end}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(frozen=True)
class ChunkRow:
    """One chunk as the collection stores it (``vector``: float32 unit vector of the store's dimension)."""

    doc_id: str
    content_hash: str
    start: int
    end: int
    text: str
    vector: np.ndarray


def _row(row: ChunkRow | dict[str, Any]) -> dict[str, Any]:
    r = row if isinstance(row, dict) else row.__dict__
    for field, limit in (("doc_id", _MAX_DOC_ID), ("text", _MAX_TEXT)):
        if len(r[field].encode("utf-8")) > limit:
            raise RetrievalError(f"the {field} of a chunk of {r['doc_id'][:80]!r} is longer than the Milvus store's "
                                 f"{limit} bytes; shorten the file name or use index.store = 'faiss'")
    vector = np.asarray(r["vector"], dtype=np.float32)
    return {"id": chunk_id(r["doc_id"], r["content_hash"], int(r["start"]), int(r["end"])), "doc_id": r["doc_id"],
            "content_hash": r["content_hash"], "start": int(r["start"]), "end": int(r["end"]),
            "text": r["text"], "terms": bm25_terms(r["text"]), "vector": vector.tolist()}


def bm25_terms(text: str) -> str:
    """The text Milvus's BM25 function reads for ``text``: its BM25 terms (``bm25.tokenize``), space-separated."""
    return " ".join(tokenize(text))


def _quote(values: Iterable[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


class MilvusStore:
    """A citeqa collection in Milvus, opened (and created when absent) with ``MilvusStore.open``.

    Every call that fails to reach Milvus raises ``StoreUnavailableError`` naming the URI; citeqa never falls
    back to FAISS. Not picklable (it holds a client): open one per process or Ray actor.

    Example::

        store = MilvusStore.open(IndexSettings(store="milvus", milvus_uri="http://127.0.0.1:19530"),
                                 index_dir=Path("index"), dim=384, fingerprint=model_fingerprint(emb))
        store.insert([ChunkRow("a.txt", h, 0, 42, text[0:42], vec)])
    """

    def __init__(self, client: Any, *, uri: str, collection: str, dim: int, fingerprint: str, index_type: str,
                 timeout: float, consistency: str = "Strong") -> None:
        self.client = client
        self.uri = uri  # public: no credentials
        self.collection = collection
        self.dim = dim
        self.fingerprint = fingerprint
        self.index_type = index_type
        self.timeout = timeout
        self.consistency = consistency  # of searches (``milvus_search``); writes and counts are always Strong
        self.wanted_index_type: str | None = None  # set when the collection has another index than the settings ask

    @classmethod
    def open(cls, settings: IndexSettings, *, index_dir: Path, dim: int, fingerprint: str,
             create: bool = True, check: bool = True) -> MilvusStore:
        """Connect to ``settings.milvus_uri`` and open the index's collection (created when absent and ``create``).

        Raises:
            StoreUnavailableError: no URI set, Milvus unreachable, or the collection absent (``create=False``).
            IndexMismatchError: the collection holds another dimension or embedder, or is not citeqa's.
        """
        if not settings.milvus_uri:
            raise StoreUnavailableError("index.store is 'milvus' but index.milvus_uri is not set")
        uri = public_uri(settings.milvus_uri)
        pm = _pymilvus()
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        name = collection_name(settings, index_dir)
        if is_lite_uri(settings.milvus_uri):  # Milvus Lite serves in this process and logs a traceback per
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)  # probe of a call it does not implement
            Path(settings.milvus_uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            client = pm.MilvusClient(uri=settings.milvus_uri, token=token, timeout=settings.milvus_timeout)
        except Exception as exc:  # pymilvus raises MilvusException, grpc errors or ConnectionError
            raise StoreUnavailableError(f"cannot reach Milvus at {uri}: {_reason(exc)}; start it or fix "
                                        "index.milvus_uri (citeqa does not fall back to FAISS)", uri=uri) from None
        store = cls(client, uri=uri, collection=name, dim=dim, fingerprint=fingerprint,
                    index_type=_INDEX_TYPES[settings.faiss], timeout=settings.milvus_timeout,
                    consistency=settings.milvus_consistency)
        with store._call("open the collection"):
            exists = client.has_collection(name)
            if not exists and not create:
                raise StoreUnavailableError(f"Milvus at {uri} has no collection {name!r}; run `citeqa index`",
                                            uri=uri)
            if not exists:
                store._create()
            if check:
                store._check(client.describe_collection(name))
                built = str(client.describe_index(name, "vector").get("index_type") or store.index_type)
                if built != store.index_type:  # the collection keeps the index it was created with
                    logger.warning("Milvus collection %s has a %s index, index.faiss asks for %s: `citeqa index "
                                   "--rebuild` replaces it", name, built, store.index_type)
                    store.wanted_index_type = store.index_type
                    store.index_type = built
            client.load_collection(name)
        return store

    def _create(self) -> None:
        pm = _pymilvus()
        schema = pm.MilvusClient.create_schema(auto_id=False, description="citeqa chunks")
        schema.add_field("id", pm.DataType.INT64, is_primary=True)
        schema.add_field("doc_id", pm.DataType.VARCHAR, max_length=_MAX_DOC_ID)
        schema.add_field("content_hash", pm.DataType.VARCHAR, max_length=128)
        schema.add_field("start", pm.DataType.INT64)
        schema.add_field("end", pm.DataType.INT64)
        schema.add_field("text", pm.DataType.VARCHAR, max_length=_MAX_TEXT)
        schema.add_field("terms", pm.DataType.VARCHAR, max_length=_MAX_TEXT, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(pm.Function(name="bm25", function_type=pm.FunctionType.BM25,
                                        input_field_names=["terms"], output_field_names=["sparse"]))
        params = self.client.prepare_index_params()
        params.add_index("vector", index_type=self.index_type, metric_type="IP",
                         params={"nlist": 1024} if self.index_type.startswith("IVF") else {})
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
        self.client.create_collection(
            self.collection, schema=schema, index_params=params, consistency_level="Strong",
            properties={_KIND: _KIND_VALUE, _FINGERPRINT: self.fingerprint, _DIM: str(self.dim)})
        logger.info("created Milvus collection %s at %s (dim %d, %s)", self.collection, self.uri, self.dim,
                    self.index_type)

    def _check(self, desc: dict[str, Any]) -> None:
        props = desc.get("properties") or {}
        where = f"Milvus collection {self.collection!r} at {self.uri}"
        if str(props.get(_KIND, "")).startswith("citeqa-chunks-") and props.get(_KIND) != _KIND_VALUE:
            raise _mismatch(f"{where} has another schema ({props.get(_KIND)}, this citeqa writes {_KIND_VALUE}); "
                            "run `citeqa index --rebuild` (it replaces the collection)", replaceable=True)
        if props.get(_KIND) != _KIND_VALUE:
            raise _mismatch(f"{where} is not a citeqa collection; set index.milvus_collection to another "
                                     "name")
        dims = [f.get("params", {}).get("dim") for f in desc.get("fields", []) if f.get("name") == "vector"]
        diffs = []
        if str(props.get(_DIM)) != str(self.dim) or [int(d) for d in dims if d is not None] != [self.dim]:
            diffs.append(f"dimension {props.get(_DIM)} vs {self.dim}")
        if props.get(_FINGERPRINT) != self.fingerprint:
            diffs.append(f"embedder fingerprint {str(props.get(_FINGERPRINT))[:12]} vs {self.fingerprint[:12]}")
        if diffs:
            raise _mismatch(f"{where} was built with another embedder (collection vs now): "
                                     f"{'; '.join(diffs)}; run `citeqa index --rebuild` (it replaces the "
                                     "collection)", replaceable=True)

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """Turn any failure of a pymilvus call into a StoreUnavailableError naming the URI and the collection."""
        try:
            yield
        except RetrievalError:
            raise
        except Exception as exc:  # MilvusException, grpc errors, ConnectionError...
            raise StoreUnavailableError(f"Milvus at {self.uri} failed to {what} (collection {self.collection!r}): "
                                        f"{_reason(exc)}", uri=self.uri) from None

    # -- writing ------------------------------------------------------------------------------------------------
    def insert(self, rows: Iterable[ChunkRow | dict[str, Any]]) -> int:
        """Upsert chunk rows (by ``chunk_id``, so a retried batch never duplicates one); returns how many."""
        n = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            r = _row(row)
            if len(r["vector"]) != self.dim:
                raise ValueError(f"a vector of {r['doc_id']} has {len(r['vector'])} dimensions, the collection "
                                 f"{self.dim}")
            batch.append(r)
            if len(batch) >= _BATCH:
                n += self._upsert(batch)
                batch = []
        if batch:
            n += self._upsert(batch)
        return n

    def _upsert(self, batch: list[dict[str, Any]]) -> int:
        with self._call(f"insert {len(batch)} chunks"):
            self.client.upsert(self.collection, batch)
        return len(batch)

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        """Delete every chunk of ``doc_ids``."""
        ids = sorted(set(doc_ids))
        for i in range(0, len(ids), 200):
            with self._call("delete chunks"):
                self.client.delete(self.collection, filter=f"doc_id in {_quote(ids[i:i + 200])}")

    def drop(self) -> None:
        """Drop the collection (``citeqa index --rebuild`` does before recreating it)."""
        with self._call("drop the collection"):
            self.client.drop_collection(self.collection)

    # -- reading ------------------------------------------------------------------------------------------------
    def count(self) -> int:
        """Rows in the collection."""
        with self._call("count chunks"):
            res = self.client.query(self.collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
        return int(res[0]["count(*)"])

    def doc_chunks(self) -> dict[str, tuple[str, int]]:
        """``{doc_id: (content_hash, n_chunks)}`` of what the collection holds (a doc with two hashes: ``"?"``)."""
        out: dict[str, tuple[str, int]] = {}
        for rec in self._scan(["doc_id", "content_hash"]):
            h, n = out.get(rec["doc_id"], (rec["content_hash"], 0))
            out[rec["doc_id"]] = (h if h == rec["content_hash"] else "?", n + 1)
        return out

    def _scan(self, fields: list[str]) -> Iterator[dict[str, Any]]:
        n = self.count()
        if n <= _QUERY_WINDOW:  # one call (Milvus caps a query's limit; Milvus Lite has no iterator timestamps)
            with self._call("list chunks"):
                yield from self.client.query(self.collection, filter="id >= 0", output_fields=fields,
                                             limit=max(n, 1), consistency_level="Strong")
            return
        with self._call("list chunks"):
            it = self.client.query_iterator(self.collection, batch_size=1000, output_fields=fields)
            try:
                while batch := it.next():
                    yield from batch
            finally:
                it.close()

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of the rows ``ids``."""
        with self._call("fetch vectors"):
            res = self.client.query(self.collection, ids=list(ids), output_fields=["vector"])
        return {int(r["id"]): np.asarray(r["vector"], dtype=np.float32) for r in res}

    def sync(self, folder: Path) -> dict[str, int]:
        """Make the collection hold exactly the chunks of the index folder ``folder`` (``milvus_search``)."""
        return sync_collection(self, folder)

    def close(self) -> None:
        """Close the client (the server keeps running)."""
        try:
            self.client.close()
        except Exception:  # closing a dead connection: nothing left to release
            logger.debug("closing the Milvus client failed", exc_info=True)

    def record(self) -> dict[str, Any]:
        """What the index's manifest records of the store (never a token)."""
        return {"kind": "milvus", "uri": self.uri, "collection": self.collection,
                "model_fingerprint": self.fingerprint, "dim": self.dim, "index_type": self.index_type}


# -- sync ----------------------------------------------------------------------------------------------------------
def folder_docs(folder: Path) -> Iterator[tuple[dict[str, Any], list[tuple[int, int]], range]]:
    """Each article record of an index folder, in file order, with its chunk spans and rows of vectors.npy."""
    with open(folder / CHUNKS, encoding="utf-8") as chunks_fh, open(folder / ARTICLES, "rb") as articles_fh:
        pending = None
        row = 0
        for line in articles_fh:
            if not line.strip():
                continue
            rec = parse_record(line, folder / ARTICLES)
            spans: list[tuple[int, int]] = []
            first = row
            while True:
                if pending is None:
                    text = chunks_fh.readline()
                    if not text:
                        break
                    if not text.strip():
                        continue
                    pending = parse_record(text, folder / CHUNKS)
                if pending["doc_id"] != rec["doc_id"]:
                    break
                spans.append((int(pending["start"]), int(pending["end"])))
                pending = None
                row += 1
            yield rec, spans, range(first, row)


def sync_collection(store: MilvusStore, folder: Path) -> dict[str, int]:
    """Make the collection hold exactly the chunks of the index folder ``folder`` (idempotent, resumable).

    Articles whose content hash or chunk count differs in the collection (or that the folder no longer holds)
    lose their rows; the folder's articles missing there are upserted with their stored vectors (nothing is
    embedded). Returns counts: upserted and deleted documents, and the collection's rows after the sync.

    Raises:
        StoreUnavailableError: Milvus failed; running the build again finishes the sync.
        IndexCorruptError: the collection's row count does not match the folder's afterwards.
    """
    stored = store.doc_chunks()
    vectors = np.load(folder / VECTORS, mmap_mode="r")
    wanted: set[str] = set()
    upserted = deleted = n_rows = 0
    stale = []
    for rec, spans, rows in folder_docs(folder):
        doc_id, h = rec["doc_id"], rec["content_hash"]
        wanted.add(doc_id)
        n_rows += len(spans)
        have = stored.get(doc_id)
        if have == (h, len(spans)):
            continue
        if have is not None:
            store.delete_docs([doc_id])
            deleted += 1
        text = rec["text"]
        store.insert(ChunkRow(doc_id, h, s, e, text[s:e], np.asarray(vectors[r]))
                     for (s, e), r in zip(spans, rows, strict=True))
        upserted += 1
    stale = sorted(set(stored) - wanted)
    if stale:
        store.delete_docs(stale)
        deleted += len(stale)
    count = store.count()
    if count != n_rows:
        raise IndexCorruptError(f"Milvus collection {store.collection!r} at {store.uri} holds {count} chunks after the "
                         f"sync, the index folder {n_rows}")
    if upserted or deleted:
        logger.info("Milvus collection %s: %d articles upserted, %d deleted, %d chunks", store.collection,
                    upserted, deleted, count)
    return {"upserted": upserted, "deleted": deleted, "chunks": count}


def _mismatch(message: str, *, replaceable: bool = False) -> IndexMismatchError:
    exc = IndexMismatchError(message)
    exc.replaceable = replaceable  # type: ignore[attr-defined]
    return exc


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:300]
