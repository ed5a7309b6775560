"""Dense search over chunk vectors with FAISS.

Vectors are L2-normalised, so inner product equals cosine similarity. Row ``i`` of the FAISS index is
``chunks[i]``: incremental updates rebuild the FAISS structure from the stored vectors (no re-embedding),
which keeps deletions trivially correct and costs little next to embedding.

``choose_params`` decides the structure and its parameters for a collection size and the ``IndexSettings.faiss``
setting; ``DenseIndex.build`` builds exactly that, and ``citeqa bench`` section 3 measures these very indexes
(the figures behind "auto" are beside ``AUTO_APPROX_THRESHOLD``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.errors import RetrievalError

logger = logging.getLogger(__name__)

FaissKind = Literal["flat", "hnsw", "ivf", "ivfsq8", "ivfpq"]
KINDS: tuple[FaissKind, ...] = ("flat", "hnsw", "ivf", "ivfsq8", "ivfpq")

# "auto" = exact search below this many chunks, IVF with 8-bit scalar-quantised vectors from here on.
# Exact search costs time linear in the vectors: up to 50k it stays at a few milliseconds a query, with
# perfect recall and no training. Beyond, IVF-SQ8 at nprobe 32 kept recall@10 above 0.95 against exact search
# in a quarter of flat's memory, where HNSW missed that recall at 1M and took far longer to build and more
# memory, IVF-Flat bought little recall for 4x the memory, and IVF-PQ lost too much recall. The figures
# behind this choice are `citeqa bench --sections vectors`'s, run on the indexes this module builds.
AUTO_APPROX_THRESHOLD = 50_000

HNSW_M = 32  # graph degree: 32 is the usual recall/memory balance for 384-dim text embeddings
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64  # raised to >= k at query time
IVF_NPROBE = 32  # see AUTO_APPROX_THRESHOLD: 16 lists would be faster with too thin a recall margin over 0.95
IVF_TRAIN_POINTS_PER_LIST = 64  # k-means on a sample of 64 points per list is as good as all points, and fast
IVF_TRAIN_ITERATIONS = 10
# k-means wants ~39 training points per centroid; below that an IVF index would be poorly trained
# (faiss warns) or cannot train at all, so such collections fall back to exact search.
IVF_MIN_POINTS_PER_CENTROID = 39
PQ_NBITS = 8
# One query is searched on one OpenMP thread. From 10k vectors on, exact search splits the scan over
# FAISS's default of one thread per core, and on busy cores every such split waits for a time slice, which
# made queries several times slower than on one thread (`citeqa bench` measures it; IVF and HNSW single
# queries run on one thread anyway). The OpenMP thread count is a per-thread setting
# (the nthreads-var ICV), so setting it around the call leaves builds and other threads alone.
SEARCH_THREADS = 1


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


@dataclass(frozen=True)
class FaissParams:
    """The structure ``DenseIndex.build`` makes for a collection of a given size, and its parameters.

    Attributes:
        setting: the requested ``IndexSettings.faiss`` value ("auto" or a kind).
        kind: the structure built; an IVF setting on a collection too small to train becomes ``flat``.
        n_vectors, dim: the collection the parameters were chosen for.
        nlist, nprobe: inverted lists and lists searched per query (IVF kinds).
        train_sample, train_iterations: vectors k-means trains on and its iterations (IVF kinds).
        hnsw_m, ef_construction, ef_search: graph degree and beam widths (HNSW).
        pq_m, pq_nbits: sub-quantizers and bits per code (IVF-PQ).
        note: why ``kind`` differs from an explicit ``setting``, if it does.
    """

    setting: str
    kind: FaissKind
    n_vectors: int
    dim: int
    nlist: int | None = None
    nprobe: int | None = None
    train_sample: int | None = None
    train_iterations: int | None = None
    hnsw_m: int | None = None
    ef_construction: int | None = None
    ef_search: int | None = None
    pq_m: int | None = None
    pq_nbits: int | None = None
    note: str | None = None

    @property
    def factory(self) -> str:
        """The equivalent ``faiss.index_factory`` string, for reports (e.g. ``IVF1024,SQ8``)."""
        if self.kind == "flat":
            return "Flat"
        if self.kind == "hnsw":
            return f"HNSW{self.hnsw_m},Flat"
        codes = {"ivf": "Flat", "ivfsq8": "SQ8", "ivfpq": f"PQ{self.pq_m}x{self.pq_nbits}"}[self.kind]
        return f"IVF{self.nlist},{codes}"


def choose_params(n_vectors: int, dim: int, setting: str = "auto") -> FaissParams:
    """The kind and parameters ``DenseIndex.build`` uses for ``n_vectors`` vectors of ``dim`` dimensions.

    Args:
        n_vectors: collection size (chunks).
        dim: vector dimension.
        setting: ``IndexSettings.faiss``: "auto" or one of ``KINDS``.

    Raises:
        ValueError: an unknown setting.

    Example:
        >>> choose_params(1_000_000, 384).factory
        'IVF1024,SQ8'
    """
    kind = choose_kind(n_vectors, setting)
    if kind == "flat":
        return FaissParams(setting, "flat", n_vectors, dim)
    if kind == "hnsw":
        return FaissParams(setting, "hnsw", n_vectors, dim, hnsw_m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION,
                           ef_search=HNSW_EF_SEARCH)
    nlist = _ivf_nlist(n_vectors)
    needed = nlist * IVF_MIN_POINTS_PER_CENTROID
    if kind == "ivfpq":
        needed = max(needed, (1 << PQ_NBITS) * IVF_MIN_POINTS_PER_CENTROID)
    if n_vectors < needed:
        return FaissParams(setting, "flat", n_vectors, dim,
                           note=f"{n_vectors} vectors are too few to train {kind} (need {needed})")
    sample = max(IVF_TRAIN_POINTS_PER_LIST * nlist, needed)
    return FaissParams(setting, kind, n_vectors, dim, nlist=nlist, nprobe=min(IVF_NPROBE, nlist),
                       train_sample=min(sample, n_vectors), train_iterations=IVF_TRAIN_ITERATIONS,
                       pq_m=_pq_subquantizers(dim) if kind == "ivfpq" else None,
                       pq_nbits=PQ_NBITS if kind == "ivfpq" else None)


def _create(params: FaissParams) -> Any:
    """An empty (untrained) FAISS index for ``params``, inner-product metric."""
    faiss = _faiss()
    dim = params.dim
    if params.kind == "flat":
        return faiss.IndexFlatIP(dim)
    if params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
        index.hnsw.efSearch = params.ef_search
        return index
    quantizer = faiss.IndexFlatIP(dim)
    if params.kind == "ivf":
        index = faiss.IndexIVFFlat(quantizer, dim, params.nlist, faiss.METRIC_INNER_PRODUCT)
    elif params.kind == "ivfsq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, params.nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFPQ(quantizer, dim, params.nlist, params.pq_m, params.pq_nbits,
                                 faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = params.train_iterations
    index.nprobe = params.nprobe
    return index  # faiss's wrapper keeps the quantizer alive with the index


def kind_of(index: Any) -> FaissKind | None:
    """The kind of a FAISS index as ``DenseIndex.build`` makes it, or None for any other structure."""
    faiss = _faiss()
    classes: dict[type, FaissKind] = {
        faiss.IndexFlatIP: "flat", faiss.IndexHNSWFlat: "hnsw", faiss.IndexIVFFlat: "ivf",
        faiss.IndexIVFScalarQuantizer: "ivfsq8", faiss.IndexIVFPQ: "ivfpq",
    }
    return classes.get(type(faiss.downcast_index(index)))


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

        The structure and its parameters are ``choose_params(n, dim, setting)``: IVF kinds fall back to flat
        when the collection is too small to train them, and train k-means on a fixed-seed sample.
        ``vectors`` may be a read-only memory map (``citeqa index`` passes vectors.npy).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        params = choose_params(n, dim, setting)
        if params.note:
            logger.info("%s; using exact flat search", params.note)
        index = _create(params)
        if params.train_sample is not None:
            if n > params.train_sample:  # a fixed seed keeps builds reproducible
                training = vectors[np.random.default_rng(0).choice(n, params.train_sample, replace=False)]
            else:
                training = vectors
            index.train(training)
        if n:
            index.add(vectors)
        return cls(index, params.kind)

    def describe(self) -> dict[str, Any]:
        """The built structure as FAISS reports it: kind, FAISS class, size and the parameters it holds.

        Example:
            >>> DenseIndex.build(vectors, setting="auto").describe()
            {'kind': 'ivfsq8', 'faiss_class': 'IndexIVFScalarQuantizer', 'ntotal': 100000, 'dim': 384,
             'nlist': 256, 'nprobe': 32, 'code_size': 384, 'sq_bits': 8}
        """
        faiss = _faiss()
        index = faiss.downcast_index(self.index)
        out: dict[str, Any] = {"kind": self.kind, "faiss_class": type(index).__name__, "ntotal": self.ntotal,
                               "dim": self.dim}
        if self.kind == "hnsw":
            out.update(hnsw_m=int(index.hnsw.nb_neighbors(1)), ef_construction=int(index.hnsw.efConstruction),
                       ef_search=int(index.hnsw.efSearch))
        elif self.kind in ("ivf", "ivfsq8", "ivfpq"):
            ivf = faiss.extract_index_ivf(index)
            out.update(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe), code_size=int(ivf.code_size))
            if self.kind == "ivfsq8":
                out["sq_bits"] = int(index.sq.bits)
            elif self.kind == "ivfpq":
                out.update(pq_m=int(index.pq.M), pq_nbits=int(index.pq.nbits))
        return out

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for one query vector: ``(scores, rows)`` best first, missing slots dropped."""
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        if self.kind == "hnsw" and self.index.hnsw.efSearch < k:
            self.index.hnsw.efSearch = k
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        faiss = _faiss()
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(SEARCH_THREADS)  # see SEARCH_THREADS; affects this thread only
        try:
            scores, rows = self.index.search(q, k)
        finally:
            faiss.omp_set_num_threads(threads)
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
        """Read an index written by ``save`` and expected to be of ``kind`` (the manifest's ``faiss_type``).

        Raises:
            ValueError: the file holds another structure than ``kind`` (or one citeqa does not build).
            RuntimeError: whatever FAISS raises on a damaged file.
        """
        faiss = _faiss()
        index = faiss.read_index(str(path))
        found = kind_of(index)
        if found != kind:
            raise ValueError(f"{Path(path).name} holds a {found or type(faiss.downcast_index(index)).__name__} "
                             f"index, the manifest says {kind!r}")
        if kind == "hnsw":
            index.hnsw.efSearch = max(index.hnsw.efSearch, HNSW_EF_SEARCH)
        elif kind in ("ivf", "ivfsq8", "ivfpq"):
            faiss.extract_index_ivf(index).nprobe = min(IVF_NPROBE, faiss.extract_index_ivf(index).nlist)
        return cls(index, kind)  # type: ignore[arg-type]
