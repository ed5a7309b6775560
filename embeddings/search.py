"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by weighted reciprocal rank, then MMR.

All inputs are in memory, except that ``vectors`` (read only by MMR, a few dozen rows per query) may be a
read-only memory map of vectors.npy (IVF indexes keep no raw vectors; see ``store.Index``). ``Retriever`` is
what ``store.Index`` delegates to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus.types import Chunk
from embeddings.bm25 import BM25Index
from embeddings.config import RetrievalSettings
from embeddings.faiss_index import DenseIndex
from embeddings.types import Hit

logger = logging.getLogger(__name__)

STAGES = ("embed", "dense", "bm25", "fuse", "mmr")


def rrf_fuse(rankings: Sequence[tuple[np.ndarray, float]], *, rrf_k: int) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``score(row) = sum_w w / (rrf_k + rank)`` over the rankings (rank 1-based).

    Args:
        rankings: ``(rows best first, weight)`` per retriever.
        rrf_k: the RRF constant (60 in the original paper) damping the advantage of top ranks.
    """
    fused: dict[int, float] = {}
    for rows, weight in rankings:
        if weight <= 0:
            continue
        for rank, row in enumerate(rows.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank)
    return fused


def mmr_select(
    rows: Sequence[int], relevance: np.ndarray, vectors: np.ndarray, *, k: int, lambda_: float
) -> list[int]:
    """Maximal marginal relevance: greedily pick ``k`` of ``rows`` trading relevance against redundancy.

    Args:
        rows: candidate rows, best first.
        relevance: their relevance, scaled to [0, 1] (same order as ``rows``).
        vectors: unit vectors of all chunks (may be memory-mapped: only the candidates' rows are read);
            similarity between candidates is their inner product.
        lambda_: 1 = pure relevance order, 0 = pure diversity.
    """
    if len(rows) <= 1 or lambda_ >= 1.0:
        return list(rows)[:k]
    cand = np.asarray(rows, dtype=np.int64)
    cand_vecs = np.ascontiguousarray(vectors[cand])
    chosen: list[int] = []
    redundancy = np.zeros(len(cand), dtype=np.float32)  # max similarity to anything chosen so far
    available = np.ones(len(cand), dtype=bool)
    for _ in range(min(k, len(cand))):
        objective = lambda_ * relevance - (1.0 - lambda_) * redundancy
        objective[~available] = -np.inf
        best = int(np.argmax(objective))
        chosen.append(best)
        available[best] = False
        # einsum, not BLAS: a threaded sgemm/gemv costs milliseconds of thread wake-ups on busy cores for
        # what is ~20k multiply-adds (`citeqa bench` times the mmr stage).
        sims = np.einsum("ij,j->i", cand_vecs, cand_vecs[best])
        redundancy = sims if len(chosen) == 1 else np.maximum(redundancy, sims)
    return [int(cand[i]) for i in chosen]


@dataclass
class Retriever:
    """Everything a query needs, in memory: the embedder's query function, both indexes, vectors and chunks.

    Scores of the returned hits depend on the mode: cosine similarity for "dense", the BM25 score for
    "bm25", and the weighted RRF score for "hybrid". With MMR on, hits come in MMR order and keep the
    score of their mode (which then need not decrease monotonically).
    """

    embed_query: Callable[[str], np.ndarray]
    dense: DenseIndex
    bm25: BM25Index
    vectors: np.ndarray
    chunks: list[Chunk]
    titles: dict[str, str] = field(default_factory=dict)

    def search(
        self, query: str, settings: RetrievalSettings, *, k: int | None = None, timings: dict[str, float] | None = None
    ) -> list[Hit]:
        """Rank chunks for ``query``; ``timings`` (if given) receives per-stage milliseconds."""
        k = k or settings.top_k
        times = timings if timings is not None else {}
        for stage in STAGES:
            times[stage] = 0.0
        if not query.strip() or not self.chunks:
            return []
        n_cand = max(settings.candidates, k)
        # In hybrid mode a retriever with weight 0 cannot change the fused order: skip it (no query embedding).
        use_dense = settings.mode == "dense" or (settings.mode == "hybrid" and settings.dense_weight > 0)
        use_bm25 = settings.mode == "bm25" or (settings.mode == "hybrid" and settings.bm25_weight > 0)

        dense_rows = np.zeros(0, dtype=np.int64)
        dense_scores = np.zeros(0, dtype=np.float32)
        if use_dense:
            t0 = time.perf_counter()
            qvec = self.embed_query(query)
            t1 = time.perf_counter()
            dense_scores, dense_rows = self.dense.search(qvec, n_cand)
            times["embed"] = (t1 - t0) * 1e3
            times["dense"] = (time.perf_counter() - t1) * 1e3

        bm25_rows = np.zeros(0, dtype=np.int64)
        bm25_scores = np.zeros(0, dtype=np.float32)
        if use_bm25:
            t0 = time.perf_counter()
            bm25_scores, bm25_rows = self.bm25.search(query, n_cand)
            times["bm25"] = (time.perf_counter() - t0) * 1e3

        t0 = time.perf_counter()
        dense_rank = {row: r for r, row in enumerate(dense_rows.tolist(), start=1)}
        bm25_rank = {row: r for r, row in enumerate(bm25_rows.tolist(), start=1)}
        if settings.mode == "dense":
            scores = dict(zip(dense_rows.tolist(), dense_scores.tolist(), strict=True))
        elif settings.mode == "bm25":
            scores = dict(zip(bm25_rows.tolist(), bm25_scores.tolist(), strict=True))
        else:
            scores = rrf_fuse(
                [(dense_rows, settings.dense_weight), (bm25_rows, settings.bm25_weight)], rrf_k=settings.rrf_k
            )
        # Ties (e.g. equal RRF scores) break on dense rank, then row, so results are deterministic.
        ranked = sorted(scores, key=lambda row: (-scores[row], dense_rank.get(row, 1 << 30), row))
        times["fuse"] = (time.perf_counter() - t0) * 1e3

        if settings.mmr and len(ranked) > 1:
            t0 = time.perf_counter()
            pool = ranked[: max(n_cand, k)]
            rel = np.asarray([scores[row] for row in pool], dtype=np.float32)
            span = float(rel.max() - rel.min())
            rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
            ranked = mmr_select(pool, rel, self.vectors, k=k, lambda_=settings.mmr_lambda)
            times["mmr"] = (time.perf_counter() - t0) * 1e3

        hits = []
        for row in ranked[:k]:
            chunk = self.chunks[row]
            hits.append(
                Hit(
                    doc_id=chunk.doc_id,
                    start=chunk.start,
                    end=chunk.end,
                    text=chunk.text,
                    score=float(scores[row]),
                    title=self.titles.get(chunk.doc_id, ""),
                    dense_rank=dense_rank.get(row),
                    bm25_rank=bm25_rank.get(row),
                )
            )
        return hits
