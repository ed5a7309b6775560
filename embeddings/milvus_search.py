"""Search of a Milvus-backed index: ``MilvusRetriever`` (what ``Index`` delegates to when the store is Milvus),
``load_retriever`` (what ``Index.load`` calls) and ``open_for_build`` (what a build calls).

Fusion runs in Milvus: hybrid mode sends one ``hybrid_search`` with a dense request on ``vector`` and a
full-text (BM25) request on ``sparse``, fused by Milvus's ``RRFRanker(retrieval.rrf_k)``. Milvus's RRF has no
per-retriever weights, so with ``dense_weight == bm25_weight`` (the default) the engine's scores are multiplied
by that weight and equal the FAISS path's weighted RRF; with unequal weights the two rankings are fetched from
Milvus in two searches and fused here by the same weighted RRF as the FAISS path (``search.rrf_fuse``); a zero
weight skips that retriever, as on FAISS. BM25 runs on the FAISS path's terms (``milvus_store.bm25_terms``) with
its parameters, so its scores are the FAISS path's too. MMR then runs here on the candidates' vectors, returned
by the search.
A hit's text is cut from the local article (its content hash must equal the row's), so citations are exact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from corpus.types import Article
from embeddings.bm25 import query_terms
from embeddings.config import IndexSettings, RetrievalSettings
from embeddings.embedder import Embedder, model_fingerprint
from embeddings.errors import IndexCorruptError, IndexMismatchError
from embeddings.milvus_store import BM25_PARAMS, MilvusStore, public_uri
from embeddings.search import STAGES, mmr_select, rrf_fuse
from embeddings.types import Hit

logger = logging.getLogger(__name__)

_FIELDS = ["doc_id", "content_hash", "start", "end"]
_BM25_SCALE = 1.0 + BM25_PARAMS["bm25_k1"]


class MilvusRetriever:
    """Ranks chunks of a Milvus collection for a query; same interface and hit semantics as ``search.Retriever``.

    Args:
        store: the opened collection.
        embed_query: the query's unit vector.
        articles: the index's articles (doc_id -> Article), read from the index folder.
    """

    def __init__(self, store: MilvusStore, *, embed_query: Callable[[str], np.ndarray],
                 articles: dict[str, Article]) -> None:
        self.store = store
        self.embed_query = embed_query
        self.articles = articles

    def search(self, query: str, settings: RetrievalSettings, *, k: int | None = None,
               timings: dict[str, float] | None = None) -> list[Hit]:
        """Rank chunks for ``query``; ``timings`` (if given) receives per-stage milliseconds."""
        k = k or settings.top_k
        times = timings if timings is not None else {}
        for stage in STAGES:
            times[stage] = 0.0
        if not query.strip() or not self.articles:
            return []
        n_cand = max(settings.candidates, k)
        use_dense = settings.mode == "dense" or (settings.mode == "hybrid" and settings.dense_weight > 0)
        use_bm25 = settings.mode == "bm25" or (settings.mode == "hybrid" and settings.bm25_weight > 0)
        # the query's terms and those of its words' other spellings ('behaviour' also searches 'behavior'), as on FAISS
        terms = " ".join(t for word in query_terms(query) for t in word) if use_bm25 else ""
        use_bm25 = use_bm25 and bool(terms)  # no term to match (only stop words): no BM25 ranking, as on FAISS
        fields = [*_FIELDS, "vector"] if settings.mmr else _FIELDS
        qvec = None
        if use_dense:
            t0 = time.perf_counter()
            qvec = self.embed_query(query)
            times["embed"] = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        dense_rank: dict[int, int] = {}
        bm25_rank: dict[int, int] = {}
        scores: dict[int, float]
        if settings.mode == "hybrid" and use_dense and use_bm25 and settings.dense_weight == settings.bm25_weight:
            assert qvec is not None
            rows = self._hybrid(qvec, terms, settings, n_cand, [*_FIELDS, "vector"])  # fused in Milvus
            # Equal fused scores come out in the FAISS path's order: the better dense rank (higher cosine) first.
            rows.sort(key=lambda r: (-np.float32(r["distance"]), -float(np.dot(r["entity"]["vector"], qvec)),
                                     r["entity"]["doc_id"], r["entity"]["start"]))
            scores = {r["id"]: settings.dense_weight * float(r["distance"]) for r in rows}
            ranked = [r["id"] for r in rows]
            times["dense"] = (time.perf_counter() - t0) * 1e3
        else:
            dense_rows = self._search(qvec, "vector", n_cand, fields) if use_dense and qvec is not None else []
            times["dense"] = (time.perf_counter() - t0) * 1e3
            t1 = time.perf_counter()
            bm25_rows = self._search(terms, "sparse", n_cand, fields) if use_bm25 else []
            times["bm25"] = (time.perf_counter() - t1) * 1e3
            rows = dense_rows + bm25_rows
            dense_rank = {r["id"]: i for i, r in enumerate(dense_rows, start=1)}
            bm25_rank = {r["id"]: i for i, r in enumerate(bm25_rows, start=1)}
            t1 = time.perf_counter()
            if settings.mode == "dense":
                scores = {r["id"]: float(r["distance"]) for r in dense_rows}
            elif settings.mode == "bm25":
                # Milvus's BM25 keeps the (k1 + 1) factor that bm25s's (Lucene) drops; Milvus Lite negates it
                scores = {r["id"]: abs(float(r["distance"])) / _BM25_SCALE for r in bm25_rows}
            else:
                scores = rrf_fuse([(np.asarray(list(dense_rank), dtype=np.int64), settings.dense_weight),
                                   (np.asarray(list(bm25_rank), dtype=np.int64), settings.bm25_weight)],
                                  rrf_k=settings.rrf_k)
            # ties as on FAISS: dense rank, then the folder's row order (which the BM25 ranks follow on ties)
            ranked = sorted(scores, key=lambda i: (-scores[i], dense_rank.get(i, 1 << 30), bm25_rank.get(i, 1 << 30)))
            times["fuse"] = (time.perf_counter() - t1) * 1e3
        entity = {r["id"]: r["entity"] for r in rows}
        ranked = [i for i in ranked if self._current(entity[i])]
        if settings.mmr and len(ranked) > 1:
            t0 = time.perf_counter()
            pool = ranked[:n_cand]
            rel = np.asarray([scores[i] for i in pool], dtype=np.float32)
            span = float(rel.max() - rel.min())
            rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
            vecs = np.stack([np.asarray(entity[i]["vector"], dtype=np.float32) for i in pool])
            ranked = [pool[j] for j in mmr_select(range(len(pool)), rel, vecs, k=k, lambda_=settings.mmr_lambda)]
            times["mmr"] = (time.perf_counter() - t0) * 1e3
        hits = []
        for i in ranked[:k]:
            e = entity[i]
            article = self.articles[e["doc_id"]]
            start, end = int(e["start"]), int(e["end"])
            hits.append(Hit(doc_id=e["doc_id"], start=start, end=end, text=article.text[start:end],
                            score=float(scores[i]), title=article.title, dense_rank=dense_rank.get(i),
                            bm25_rank=bm25_rank.get(i)))
        return hits

    def _current(self, e: dict[str, Any]) -> bool:
        """Whether a row belongs to the loaded version of its article (a sync running now may add others)."""
        article = self.articles.get(e["doc_id"])
        ok = (article is not None and article.content_hash == e["content_hash"]
              and 0 <= int(e["start"]) < int(e["end"]) <= len(article.text))
        if not ok:
            logger.warning("skipping a chunk of %s in Milvus that the loaded index does not hold", e["doc_id"])
        return ok

    def _search(self, data: Any, field: str, limit: int, fields: list[str]) -> list[dict[str, Any]]:
        s = self.store
        with s._call(f"search {field}"):
            res = s.client.search(s.collection, data=[_plain(data)], anns_field=field, limit=limit,
                                  output_fields=fields, search_params=_params(s, field, limit),
                                  consistency_level=s.consistency)
        return _in_row_order(list(res[0])) if res else []

    def _hybrid(self, qvec: Any, terms: str, settings: RetrievalSettings, limit: int,
                fields: list[str]) -> list[dict[str, Any]]:
        from pymilvus import AnnSearchRequest, RRFRanker

        s = self.store
        reqs = [AnnSearchRequest([_plain(qvec)], "vector", _params(s, "vector", limit), limit),
                AnnSearchRequest([terms], "sparse", _params(s, "sparse", limit), limit)]
        with s._call("run a hybrid search"):
            res = s.client.hybrid_search(s.collection, reqs, RRFRanker(settings.rrf_k), limit=limit,
                                         output_fields=fields, consistency_level=s.consistency)
        return list(res[0]) if res else []


def _in_row_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows best first, equal scores in the order of the index folder's rows (doc_id, then start), as FAISS and
    bm25s order them."""
    return sorted(rows, key=lambda r: (-abs(np.float32(r["distance"])), r["entity"]["doc_id"], r["entity"]["start"]))


def _plain(data: Any) -> Any:
    return data.astype(np.float32).tolist() if isinstance(data, np.ndarray) else data


def _params(store: MilvusStore, field: str, limit: int) -> dict[str, Any]:
    if field == "sparse":
        return {"metric_type": "BM25"}
    params: dict[str, Any] = {}
    if store.index_type.startswith("IVF"):
        params["nprobe"] = 32  # as the FAISS IVF kinds
    elif store.index_type == "HNSW":
        params["ef"] = max(64, limit)
    return {"metric_type": "IP", "params": params}


def open_for_build(settings: IndexSettings, *, index_dir: Path, dim: int, fingerprint: str,
                   rebuild: bool) -> MilvusStore:
    """The index's collection for a build: a rebuild replaces a citeqa collection built with another embedder or
    another dense index type; any other build refuses the first (``IndexMismatchError``) and keeps the second, and
    no build touches a collection that is not citeqa's."""
    try:
        store = MilvusStore.open(settings, index_dir=index_dir, dim=dim, fingerprint=fingerprint)
        if not (rebuild and store.wanted_index_type):
            return store
        store.close()
        logger.warning("replacing the collection %s: another index type (%s) than index.faiss asks for",
                       store.collection, store.index_type)
    except IndexMismatchError as exc:
        if not rebuild or not getattr(exc, "replaceable", False):
            raise
        logger.warning("replacing the collection: %s", exc)
    store = MilvusStore.open(settings, index_dir=index_dir, dim=dim, fingerprint=fingerprint, check=False)
    store.drop()
    store.close()
    return MilvusStore.open(settings, index_dir=index_dir, dim=dim, fingerprint=fingerprint)


def load_retriever(index_dir: Path, manifest: dict[str, Any], settings: IndexSettings | None, *,
                   embedder: Embedder, articles: dict[str, Article], embed_query: Callable[[str], np.ndarray],
                   n_chunks: int) -> MilvusRetriever:
    """The retriever of a Milvus-backed index whose folder is loaded (``Index.load``).

    Raises:
        StoreUnavailableError: Milvus unreachable, or the collection is gone.
        IndexMismatchError: ``settings`` name another Milvus than the one the index was synced to, or the
            collection holds another dimension or embedder.
        IndexCorruptError: the collection holds another number of chunks than the folder.
    """
    rec = manifest["store"]
    if settings is None:
        settings = IndexSettings(store="milvus", milvus_uri=rec["uri"], milvus_collection=rec["collection"])
    elif settings.milvus_uri and public_uri(settings.milvus_uri) != rec.get("uri"):
        raise IndexMismatchError(f"index at {index_dir} was synced to Milvus at {rec.get('uri')}, index.milvus_uri "
                                 f"is {public_uri(settings.milvus_uri)}; run `citeqa index` to sync it there")
    else:
        settings = settings.model_copy(update={"milvus_uri": settings.milvus_uri or rec["uri"],
                                               "milvus_collection": settings.milvus_collection or rec["collection"]})
    store = MilvusStore.open(settings, index_dir=index_dir, dim=embedder.dim, fingerprint=model_fingerprint(embedder),
                             create=False)
    n = store.count()
    if n != n_chunks:
        store.close()
        raise IndexCorruptError(f"Milvus collection {store.collection!r} at {store.uri} holds {n} chunks, the index "
                                f"at {index_dir} {n_chunks}; run `citeqa index` to sync it")
    return MilvusRetriever(store, embed_query=embed_query, articles=articles)
