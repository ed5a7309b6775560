"""Section 3 of the bench: FAISS index choices at 10k, 100k and 1M vectors of the embedding dimension.

For each size: synthetic unit vectors (``bench_data.synthetic_vectors``, mixes of real embeddings of the
seed text plus noise) and queries (perturbed real question embeddings and held-out synthetic vectors),
exact top-10 by brute force, then for each index configuration: build time, bytes on disk
(``faiss.write_index``), memory (RSS growth of reading the written index back), and for each search
parameter recall@10 against exact and single-query latency p50/p95 over ``passes`` passes.
Memory is measured in a fresh child process that reads the written index.

Searches run one query at a time, as the answer path does, on ``SEARCH_THREADS`` OpenMP threads; builds use
every core. Each latency figure is the median over passes of that pass's percentile, with min and max.
"""

from __future__ import annotations

import gc
import logging
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench_data import perturb, synthetic_vectors
from evals.bench_stats import summarize

logger = logging.getLogger(__name__)

K = 10
SEARCH_THREADS = 1  # single queries: OpenMP fan-out costs more than it saves on 2 shared cores (see report)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
IVF_TRAIN_POINTS_PER_LIST = 64  # k-means sample: 64 points per list (faiss defaults to 256: 4x the training cost)
IVF_TRAIN_ITERATIONS = 10
PQ_M = 48  # 48 sub-quantizers of 8 dimensions, 8 bits each: 48 bytes per vector
REFINE_K_FACTOR = 4
PQ_MIN_VECTORS = 256 * 39  # PQ codebooks of 256 centroids need ~39 training points each
RECALL_TARGET = 0.95
LATENCY_TARGET_MS = 5.0
MEMORY_TARGET_MB = 2048.0
PASS_BUDGET_S = 20.0  # per search setting and pass: caps the queries of slow settings

Progress = Callable[[str], None]


def ivf_nlist(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest sqrt(n) (10k → 128, 100k → 256, 1M → 1024),
    at least 16 and at most n / 39 (faiss wants ~39 training points per list)."""
    nlist = 2 ** round(math.log2(max(math.sqrt(n), 1)))
    return int(max(16, min(nlist, max(n // 39, 1))))


@dataclass(frozen=True)
class IndexConfig:
    """One FAISS structure and the search parameters to sweep on it.

    Attributes:
        name: short label (``flat``, ``hnsw32``, ``ivf_flat`` …).
        factory: ``faiss.index_factory`` string for the size it is used at.
        sweep: search settings to measure, e.g. ``[{"efSearch": 32}, {"efSearch": 64}]`` (``[{}]`` for none).
    """

    name: str
    factory: str
    sweep: list[dict[str, float]] = field(default_factory=lambda: [{}])


def configs_for(n: int, *, quick: bool = False) -> list[IndexConfig]:
    """The index configurations measured at ``n`` vectors (quick: fewer search settings; no PQ below
    ``PQ_MIN_VECTORS``, too few to train its codebooks)."""
    nlist = ivf_nlist(n)
    probes = [4, 8, 16, 32] if not quick else [8, 16]
    efs = [16, 32, 64, 128] if not quick else [32, 64]
    configs = [
        IndexConfig("flat", "Flat"),
        IndexConfig(f"hnsw{HNSW_M}", f"HNSW{HNSW_M},Flat", [{"efSearch": e} for e in efs]),
        IndexConfig("ivf_flat", f"IVF{nlist},Flat", [{"nprobe": p} for p in probes]),
        IndexConfig("ivf_sq8", f"IVF{nlist},SQ8", [{"nprobe": p} for p in probes]),
    ]
    if n >= PQ_MIN_VECTORS:
        # One IVF-PQ build serves both rows: k_factor=1 re-ranks only the PQ top-10 (the same set: plain IVF-PQ
        # recall), k_factor=4 re-ranks the PQ top-40 with the SQ8 codes.
        # "np": no polysemous training (faiss's default for IVF-PQ; ~140 s on 2 cores, and only useful for
        # Hamming-distance filtering, which citeqa does not use).
        configs.append(IndexConfig("ivf_pq", f"IVF{nlist},PQ{PQ_M}np,Refine(SQ8)", [
            {"nprobe": p, "k_factor": kf} for kf in (1, REFINE_K_FACTOR) for p in probes[-2:]]))
    return configs


def _faiss() -> Any:
    import faiss

    return faiss


def build_faiss(config: IndexConfig, xb: np.ndarray, *, threads: int) -> Any:
    """Create, train (IVF: on a sample of ``IVF_TRAIN_POINTS_PER_LIST`` per list) and fill the index."""
    faiss = _faiss()
    faiss.omp_set_num_threads(threads)
    index = faiss.index_factory(xb.shape[1], config.factory, faiss.METRIC_INNER_PRODUCT)
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    if hnsw is not None:
        hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if not index.is_trained:
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = IVF_TRAIN_ITERATIONS
        ivf.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
        sample = min(len(xb), max(ivf.nlist * IVF_TRAIN_POINTS_PER_LIST, 256 * 39))  # PQ codebooks need ~10k
        rows = np.random.default_rng(0).choice(len(xb), size=sample, replace=False) if sample < len(xb) else None
        index.train(xb if rows is None else xb[np.sort(rows)])
    index.add(xb)
    return index


def index_rss_mb(path: Path) -> float:
    """RSS growth (MiB) of reading the index at ``path`` in a fresh process.

    A fresh process because in this one the allocator reuses the memory just freed by the built index: an
    IVF index's many small inverted lists then read back without growing RSS at all.
    """
    code = ("import sys, faiss; from evals.bench_stats import rss_mb; b = rss_mb(); "
            "i = faiss.read_index(sys.argv[1]); print(rss_mb() - b)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"reading {path.name} in a child process failed: {proc.stderr[-400:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def set_search_params(index: Any, params: dict[str, float]) -> None:
    """Apply ``efSearch``/``nprobe``/``k_factor`` wherever they live in a (possibly wrapped) index."""
    faiss = _faiss()
    for key, value in params.items():
        if key == "k_factor":
            faiss.downcast_index(index).k_factor = float(value)
        else:
            faiss.ParameterSpace().set_index_parameter(index, key, float(value))


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int = K) -> float:
    """Mean share of each query's exact top-``k`` rows that ``found`` (same shape or wider) contains."""
    if len(found) != len(exact):
        raise ValueError("found and exact must have one row per query")
    if len(exact) == 0:
        return float("nan")
    hits = [len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact, strict=True)]
    return float(sum(hits)) / (k * len(exact))


def single_query_latencies(index: Any, xq: np.ndarray, *, k: int = K) -> tuple[list[float], np.ndarray]:
    """Milliseconds per query searching one query at a time, and the rows found."""
    out = np.empty((len(xq), k), dtype=np.int64)
    times = []
    for i in range(len(xq)):
        q = xq[i : i + 1]
        t0 = time.perf_counter()
        _, rows = index.search(q, k)
        times.append((time.perf_counter() - t0) * 1e3)
        out[i] = rows[0]
    return times, out


def make_queries(anchors: np.ndarray, questions: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """Half perturbed real question embeddings, half held-out synthetic vectors (another seed)."""
    half = n // 2
    return np.ascontiguousarray(np.concatenate([
        perturb(questions, half, seed=seed, noise=0.3),
        synthetic_vectors(anchors, n - half, seed=seed + 1_000_003),
    ]))


def bench_size(
    n: int, anchors: np.ndarray, questions: np.ndarray, *, quick: bool, n_queries: int, passes: int,
    build_threads: int, progress: Progress, workdir: Path,
) -> dict[str, Any]:
    """Every configuration at one collection size; returns the section's rows for ``n``."""
    faiss = _faiss()
    t0 = time.perf_counter()
    xb = synthetic_vectors(anchors, n, seed=n)
    xq = make_queries(anchors, questions, n_queries, seed=7)
    gen_s = time.perf_counter() - t0
    faiss.omp_set_num_threads(build_threads)
    exact_index = faiss.IndexFlatIP(xb.shape[1])
    exact_index.add(xb)
    scores, exact = exact_index.search(xq, K)  # batched: BLAS, all cores
    del exact_index
    configs: list[dict[str, Any]] = []
    data: dict[str, Any] = {
        "n": n, "dim": int(xb.shape[1]), "queries": len(xq), "generate_s": gen_s,
        "nn_cosine": {"top1_median": float(np.median(scores[:, 0])), "top10_median": float(np.median(scores[:, -1]))},
        "raw_vectors_mb": xb.nbytes / 2**20, "configs": configs,
    }
    progress(f"vectors {n:,}: generated in {gen_s:.0f} s; top-1 cosine median {data['nn_cosine']['top1_median']:.3f}")
    for config in configs_for(n, quick=quick):
        row = _bench_config(config, xb, xq, exact, passes=passes, build_threads=build_threads, workdir=workdir)
        configs.append(row)
        best = min((r for r in row["results"] if r["recall"] >= RECALL_TARGET),
                   key=lambda r: r["latency_ms"]["p50"]["median"], default=None)
        progress(f"vectors {n:,}: {config.name} built in {row['build_s']:.1f} s, {row['memory_mb']:.0f} MB; "
                 + (f"p50 {best['latency_ms']['p50']['median']:.2f} ms at recall {best['recall']:.3f} "
                    f"({best['params']})" if best else "no setting reaches the recall target"))
    return data


def _bench_config(
    config: IndexConfig, xb: np.ndarray, xq: np.ndarray, exact: np.ndarray, *, passes: int, build_threads: int,
    workdir: Path,
) -> dict[str, Any]:
    faiss = _faiss()
    t0 = time.perf_counter()
    built = build_faiss(config, xb, threads=build_threads)
    build_s = time.perf_counter() - t0
    with tempfile.NamedTemporaryFile(dir=workdir, suffix=".faiss", delete=False) as fh:
        path = Path(fh.name)
    try:
        faiss.write_index(built, str(path))
        disk_bytes = path.stat().st_size
        base_disk = 0
        if hasattr(faiss.downcast_index(built), "base_index"):  # a refine wrapper: size of the base alone
            faiss.write_index(faiss.downcast_index(built).base_index, str(path) + ".base")
            base_disk = Path(str(path) + ".base").stat().st_size
            Path(str(path) + ".base").unlink()
        del built
        gc.collect()
        memory_mb = index_rss_mb(path)
        index = faiss.read_index(str(path))
    finally:
        path.unlink(missing_ok=True)
    faiss.omp_set_num_threads(SEARCH_THREADS)
    results = []
    for params in config.sweep:
        set_search_params(index, params)
        warm, _ = single_query_latencies(index, xq[: min(20, len(xq))])  # warm-up: page in the lists / graph
        # Slow settings (exact search at 1M: ~0.1–1 s a query) get fewer queries, never fewer than 30.
        n_q = int(min(len(xq), max(30, PASS_BUDGET_S * 1e3 / max(float(np.mean(warm)), 1e-3))))
        p50s: list[float] = []
        p95s: list[float] = []
        maxes: list[float] = []
        found = None
        for _ in range(passes):
            times, found = single_query_latencies(index, xq[:n_q])
            p50s.append(float(np.percentile(times, 50)))
            p95s.append(float(np.percentile(times, 95)))
            maxes.append(max(times))
        assert found is not None
        results.append({
            "params": params,
            "queries": n_q,
            "recall": recall_at_k(found, exact[:n_q]),
            "latency_ms": {"p50": summarize(p50s), "p95": summarize(p95s), "max": summarize(maxes)},
        })
    del index
    gc.collect()
    faiss.omp_set_num_threads(build_threads)
    return {**asdict(config), "build_s": build_s, "disk_mb": disk_bytes / 2**20, "memory_mb": memory_mb,
            "results": results, **({"base_disk_mb": base_disk / 2**20} if base_disk else {})}


def thread_comparison(
    n: int, anchors: np.ndarray, questions: np.ndarray, configs: list[tuple[IndexConfig, dict[str, float]]], *,
    n_queries: int, threads: list[int], build_threads: int,
) -> list[dict[str, Any]]:
    """p50 of single-query search at each OpenMP thread count, pass by pass alternating (side by side)."""
    faiss = _faiss()
    xb = synthetic_vectors(anchors, n, seed=n)
    xq = make_queries(anchors, questions, n_queries, seed=7)
    rows = []
    for config, params in configs:
        index = build_faiss(config, xb, threads=build_threads)
        set_search_params(index, params)
        p50s: dict[int, list[float]] = {t: [] for t in threads}
        for _ in range(3):
            for t in threads:
                faiss.omp_set_num_threads(t)
                p50s[t].append(float(np.percentile(single_query_latencies(index, xq)[0], 50)))
        rows.append({"config": config.name, "params": params, "n": n,
                     "p50_ms": {str(t): summarize(v) for t, v in p50s.items()}})
        del index
    faiss.omp_set_num_threads(build_threads)
    return rows


def auto_choice(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: the fastest (config, params) meeting recall and memory targets, and exact search's p50."""
    out = []
    for size in sizes:
        flat = next((c for c in size["configs"] if c["name"] == "flat"), None)
        candidates = []
        for c in size["configs"]:
            for r in c["results"]:
                if r["recall"] >= RECALL_TARGET and c["memory_mb"] < MEMORY_TARGET_MB:
                    candidates.append((r["latency_ms"]["p50"]["median"], c["name"], r["params"], r["recall"],
                                       c["memory_mb"], c["build_s"]))
        best = min(candidates, key=lambda t: t[0], default=None)
        out.append({
            "n": size["n"],
            "flat_p50_ms": flat["results"][0]["latency_ms"]["p50"]["median"] if flat else None,
            "best": None if best is None else {"config": best[1], "params": best[2], "p50_ms": best[0],
                                               "recall": best[3], "memory_mb": best[4], "build_s": best[5]},
        })
    return out
