"""Dense search over chunk vectors with FAISS.

Vectors are L2-normalised, so inner product equals cosine similarity. Row ``i`` of the FAISS index is
``chunks[i]``: incremental updates rebuild the FAISS structure from the stored vectors (no re-embedding),
which keeps deletions trivially correct and costs little next to embedding.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.errors import RetrievalError

logger = logging.getLogger(__name__)

FaissKind = Literal["flat", "hnsw", "ivf", "ivfsq8", "ivfpq"]
KINDS: tuple[FaissKind, ...] = ("flat", "hnsw", "ivf", "ivfsq8", "ivfpq")

# "auto" = exact search below this many chunks, IVF with 8-bit scalar-quantised vectors from here on.
# Measured by `citeqa bench` (2 cores, 384 dims, one query at a time): exact search costs ~0.13 µs per
# vector (0.8 ms at 10k, 12 ms at 100k, 149 ms at 1M), so up to 50k it stays under ~6 ms with perfect
# recall and no training. IVF{nlist},SQ8 with nprobe 32 gave recall@10 0.970 at 100k (p50 1.4 ms) and
# 0.976 at 1M (p50 3.1 ms) in 375 MB; HNSW32 missed recall 0.95 at 1M (0.886 at efSearch 128), took 267 s
# to build and 1.7 GB; IVF-Flat bought +0.01 recall for 4x the memory; IVF-PQ48 stayed under 0.85.
AUTO_APPROX_THRESHOLD = 50_000

HNSW_M = 32  # graph degree: 32 is the usual recall/memory balance for 384-dim text embeddings
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64  # raised to >= k at query time
IVF_NPROBE = 32  # see AUTO_APPROX_THRESHOLD: 16 lists give ~0.96 recall, 32 keep a margin for fusion's 50 candidates
IVF_TRAIN_POINTS_PER_LIST = 64  # k-means on a sample of 64 points per list is as good as all points, and fast
IVF_TRAIN_ITERATIONS = 10
# k-means wants ~39 training points per centroid; below that an IVF index would be poorly trained
# (faiss warns) or cannot train at all, so such collections fall back to exact search.
IVF_MIN_POINTS_PER_CENTROID = 39
PQ_NBITS = 8


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise RetrievalError("FAISS is not available - install faiss-cpu") from exc
    return faiss


def choose_kind(n_vectors: int, setting: str) -> FaissKind:
    """Resolve the ``IndexSettings.faiss`` setting ("auto" or an explicit kind) for ``n_vectors`` vectors."""
    if setting == "auto":
        return "ivfsq8" if n_vectors >= AUTO_APPROX_THRESHOLD else "flat"
    if setting in KINDS:
        return setting  # type: ignore[return-value]
    raise ValueError(f"unknown FAISS index type {setting!r}")


def _ivf_nlist(n_vectors: int) -> int:
    """The power of two nearest sqrt(n), at least 16: 50k -> 256, 100k -> 256, 1M -> 1024 lists."""
    if n_vectors <= 0:
        return 16
    return max(16, 2 ** round(math.log2(math.sqrt(n_vectors))))


def _pq_subquantizers(dim: int) -> int:
    """Largest m dividing dim with at least 4 dimensions per sub-vector (384 -> 96, 64 -> 16)."""
    for m in range(dim // 4, 0, -1):
        if dim % m == 0:
            return m
    return 1


class _KeepAlive:
    """Exposes a raw buffer to numpy while holding a reference to the object that owns the memory."""

    def __init__(self, owner: Any, raw: np.ndarray) -> None:
        self.owner = owner
        self.__array_interface__ = raw.__array_interface__


class DenseIndex:
    """A FAISS inner-product index whose row ids are chunk positions.

    Attributes:
        kind: the structure actually built (one of ``KINDS``).
        index: the underlying ``faiss.Index``.
    """

    def __init__(self, index: Any, kind: FaissKind) -> None:
        self.index = index
        self.kind = kind

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @classmethod
    def build(cls, vectors: np.ndarray, *, setting: str = "auto") -> DenseIndex:
        """Build an index over ``vectors`` (float32, shape (n, dim), unit rows), row i = chunk i.

        IVF kinds fall back to flat when the collection is too small to train them.
        """
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = choose_kind(n, setting)
        if kind in ("ivf", "ivfsq8", "ivfpq"):
            nlist = _ivf_nlist(n)
            needed = nlist * IVF_MIN_POINTS_PER_CENTROID
            if kind == "ivfpq":
                needed = max(needed, (1 << PQ_NBITS) * IVF_MIN_POINTS_PER_CENTROID)
            if n < needed:
                logger.info("%d vectors are too few to train %s (need %d); using exact flat search", n, kind, needed)
                kind = "flat"
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            quantizer = faiss.IndexFlatIP(dim)
            if kind == "ivf":
                index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            elif kind == "ivfsq8":
                index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                      faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFPQ(quantizer, dim, nlist, _pq_subquantizers(dim), PQ_NBITS,
                                         faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = IVF_TRAIN_ITERATIONS
            sample = max(IVF_TRAIN_POINTS_PER_LIST * nlist, needed)
            if n > sample:  # a fixed seed keeps builds reproducible
                vectors_for_training = vectors[np.random.default_rng(0).choice(n, sample, replace=False)]
            else:
                vectors_for_training = vectors
            index.train(vectors_for_training)
            index.nprobe = min(IVF_NPROBE, nlist)
        if n:
            index.add(vectors)
        return cls(index, kind)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for one query vector: ``(scores, rows)`` best first, missing slots dropped."""
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        if self.kind == "hnsw" and self.index.hnsw.efSearch < k:
            self.index.hnsw.efSearch = k
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, rows = self.index.search(q, k)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep].astype(np.int64)

    def stored_vectors(self) -> np.ndarray | None:
        """A zero-copy view of the vectors held by a flat or HNSW index (None for IVF kinds).

        Lets the loaded index serve MMR without a second in-memory copy of vectors.npy. The view keeps the
        FAISS index alive (its memory would otherwise be freed under it); nothing may be added afterwards.
        """
        faiss = _faiss()
        flat = self.index
        if self.kind == "hnsw":
            flat = faiss.downcast_index(self.index.storage)
        if not isinstance(flat, faiss.IndexFlat) or self.ntotal == 0:
            return None
        raw = np.asarray(faiss.rev_swig_ptr(flat.get_xb(), self.ntotal * self.dim))
        return np.asarray(_KeepAlive(self.index, raw)).reshape(self.ntotal, self.dim)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (the caller fsyncs and swaps folders)."""
        _faiss().write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> DenseIndex:
        """Read an index written by ``save``. Raises whatever FAISS raises on a damaged file."""
        faiss = _faiss()
        index = faiss.read_index(str(path))
        if kind == "hnsw":
            index.hnsw.efSearch = max(index.hnsw.efSearch, HNSW_EF_SEARCH)
        elif kind in ("ivf", "ivfsq8", "ivfpq"):
            faiss.extract_index_ivf(index).nprobe = min(IVF_NPROBE, faiss.extract_index_ivf(index).nlist)
        return cls(index, kind)  # type: ignore[arg-type]
