"""Section 3 of the bench: the product's FAISS indexes at 10k, 100k and 1M vectors of the embedding dimension.

Every index here is built by ``embeddings.faiss_index.DenseIndex.build``, the function ``citeqa index`` calls,
for the setting "auto" and each explicit kind (flat, hnsw, ivf, ivfsq8, ivfpq), with the parameters
``choose_params`` picks for that size (nlist, nprobe, training sample, HNSW degree, PQ codes). Each is written
with ``DenseIndex.save``, read back with ``DenseIndex.load`` as ``Index.load`` does, and searched with
``DenseIndex.search`` one query at a time, as the answer path does (on ``SEARCH_THREADS`` OpenMP thread; a
side table compares raw FAISS searches on 1 thread and on FAISS's default). Per index: build time, bytes on
disk, memory (RSS growth of loading the written index in a fresh process), recall@10 against exact search
and p50/p95 latency over passes.

An explicit setting that resolves to the structure "auto" builds at that size (e.g. ``ivfsq8`` at 100k) is the
same build (``DenseIndex.build`` is deterministic): it is measured once and reported for both (``same_as``).
The full run also sweeps nprobe / efSearch on the loaded index (the product's value marked ``default``), to
show what the defaults trade; the quick run measures the defaults only.

Vectors are synthetic unit vectors (``bench_data.synthetic_vectors``: mixes of real embeddings of the seed
text plus noise); queries are perturbed real question embeddings and held-out synthetic vectors.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.faiss_index import KINDS, SEARCH_THREADS, DenseIndex, FaissParams, choose_params
from evals.bench.data import perturb, synthetic_vectors
from evals.bench.stats import summarize

logger = logging.getLogger(__name__)

K = 10
SETTINGS: tuple[str, ...] = ("auto", *KINDS)
RECALL_TARGET = 0.95
LATENCY_TARGET_MS = 5.0
MEMORY_TARGET_MB = 2048.0
PASS_BUDGET_S = 20.0  # per search setting and pass: caps the queries of slow settings (exact search at 1M)
WARMUP_QUERIES = 20
# Search parameters swept in the full run (the product's own value is always among them).
SWEEP: dict[str, tuple[str, tuple[int, ...]]] = {
    "hnsw": ("efSearch", (16, 32, 64, 128)),
    "ivf": ("nprobe", (8, 16, 32, 64)),
    "ivfsq8": ("nprobe", (8, 16, 32, 64)),
    "ivfpq": ("nprobe", (8, 16, 32, 64)),
}
THREAD_KINDS = ("flat", "hnsw", "ivfsq8")  # raw searches at 1 thread vs FAISS's default, at one size

Progress = Callable[[str], None]


def _faiss() -> Any:
    import faiss

    return faiss


def index_rss_mb(path: Path, kind: str) -> float:
    """RSS growth (MiB) of ``DenseIndex.load`` of the index at ``path`` in a fresh process.

    A fresh process because in this one the allocator reuses the memory just freed by the built index: an
    IVF index's many small inverted lists then read back without growing RSS at all. FAISS is imported
    before the first reading, so its own libraries are not counted.
    """
    code = ("import sys, faiss; from pathlib import Path; from embeddings.faiss_index import DenseIndex; "
            "from evals.bench.stats import rss_mb; b = rss_mb(); d = DenseIndex.load(Path(sys.argv[1]), sys.argv[2]); "
            "print(rss_mb() - b)")
    proc = subprocess.run([sys.executable, "-c", code, str(path), kind], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"reading {path.name} in a child process failed: {proc.stderr[-400:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def search_param(dense: DenseIndex) -> tuple[str, int] | None:
    """The loaded index's own query-time parameter: ``("nprobe", 32)``, ``("efSearch", 64)`` or None (flat)."""
    faiss = _faiss()
    if dense.kind == "hnsw":
        return "efSearch", int(dense.index.hnsw.efSearch)
    if dense.kind in ("ivf", "ivfsq8", "ivfpq"):
        return "nprobe", int(faiss.extract_index_ivf(dense.index).nprobe)
    return None


def set_search_param(dense: DenseIndex, name: str, value: int) -> None:
    """Set ``nprobe`` (IVF kinds) or ``efSearch`` (HNSW) on a loaded ``DenseIndex``."""
    faiss = _faiss()
    if name == "efSearch":
        dense.index.hnsw.efSearch = int(value)
    elif name == "nprobe":
        faiss.extract_index_ivf(dense.index).nprobe = int(value)
    else:
        raise ValueError(f"unknown search parameter {name!r}")


def recall_at_k(found: np.ndarray, exact: np.ndarray, k: int = K) -> float:
    """Mean share of each query's exact top-``k`` rows that ``found`` (same shape or wider) contains."""
    if len(found) != len(exact):
        raise ValueError("found and exact must have one row per query")
    if len(exact) == 0:
        return float("nan")
    hits = [len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact, strict=True)]
    return float(sum(hits)) / (k * len(exact))


def single_query_latencies(dense: DenseIndex, xq: np.ndarray, *, k: int = K) -> tuple[list[float], np.ndarray]:
    """Milliseconds per ``DenseIndex.search`` of one query, and the rows found (-1 where fewer than k)."""
    out = np.full((len(xq), k), -1, dtype=np.int64)
    times = []
    for i in range(len(xq)):
        t0 = time.perf_counter()
        _, rows = dense.search(xq[i], k)
        times.append((time.perf_counter() - t0) * 1e3)
        out[i, : len(rows)] = rows
    return times, out


def make_queries(anchors: np.ndarray, questions: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """Half perturbed real question embeddings, half held-out synthetic vectors (another seed)."""
    half = n // 2
    return np.ascontiguousarray(np.concatenate([
        perturb(questions, half, seed=seed, noise=0.3),
        synthetic_vectors(anchors, n - half, seed=seed + 1_000_003),
    ]))


def plan_builds(n: int, dim: int, settings: Sequence[str]) -> list[tuple[str, FaissParams, str | None]]:
    """``(setting, params, same_as)`` per setting: ``same_as`` names an earlier setting that builds the very
    same index at this size (measured once), e.g. ``("flat", ..., "auto")`` at 10k."""
    out: list[tuple[str, FaissParams, str | None]] = []
    seen: dict[str, str] = {}
    for setting in settings:
        params = choose_params(n, dim, setting)
        key = params.factory
        out.append((setting, params, seen.get(key)))
        seen.setdefault(key, setting)
    return out


def bench_size(
    n: int, anchors: np.ndarray, questions: np.ndarray, *, settings: Sequence[str], n_queries: int, passes: int,
    sweep: bool, progress: Progress, workdir: Path, thread_counts: Sequence[int] = (),
    tick: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Every setting's product index at one collection size; returns the section's rows for ``n``.

    Args:
        n: vectors in the collection.
        anchors / questions: real unit embeddings the synthetic vectors and queries are made from.
        settings: ``IndexSettings.faiss`` values to measure ("auto" and kinds).
        n_queries / passes: queries per latency pass, and passes (figures are median [min–max] over passes).
        sweep: also measure other nprobe / efSearch values on the same index.
        thread_counts: if given, also compare single-query p50 at these OpenMP thread counts (alternating).
        tick: called after each setting (progress bars).
    """
    faiss = _faiss()
    t0 = time.perf_counter()
    xb = synthetic_vectors(anchors, n, seed=n)
    xq = make_queries(anchors, questions, n_queries, seed=7)
    gen_s = time.perf_counter() - t0
    exact_index = faiss.IndexFlatIP(xb.shape[1])
    exact_index.add(xb)
    scores, exact = exact_index.search(xq, K)  # batched: BLAS, all cores (the reference, not a measurement)
    del exact_index
    rows: list[dict[str, Any]] = []
    data: dict[str, Any] = {
        "n": n, "dim": int(xb.shape[1]), "queries": len(xq), "generate_s": gen_s,
        "search_threads": SEARCH_THREADS,
        "nn_cosine": {"top1_median": float(np.median(scores[:, 0])), "top10_median": float(np.median(scores[:, -1]))},
        "raw_vectors_mb": xb.nbytes / 2**20, "configs": rows, "threads": [],
    }
    progress(f"vectors {n:,}: generated in {gen_s:.0f} s; top-1 cosine median {data['nn_cosine']['top1_median']:.3f}")
    by_setting: dict[str, dict[str, Any]] = {}
    for setting, params, same_as in plan_builds(n, int(xb.shape[1]), settings):
        if same_as is not None:
            row = {**by_setting[same_as], "setting": setting, "params": asdict(params), "same_as": same_as}
            row.pop("threads", None)
        else:
            row = _bench_setting(setting, params, xb, xq, exact, passes=passes, sweep=sweep, workdir=workdir,
                                 thread_counts=thread_counts if params.kind in THREAD_KINDS else ())
            if "threads" in row:
                data["threads"].append(row.pop("threads"))
        by_setting[setting] = row
        rows.append(row)
        d = default_result(row)
        progress(f"vectors {n:,}: {setting} = {row['factory']}"
                 + (f" (same index as {same_as})" if same_as else
                    f" built in {row['build_s']:.1f} s, {row['memory_mb']:.0f} MB")
                 + f"; p50 {d['latency_ms']['p50']['median']:.2f} ms, recall {d['recall']:.3f}")
        tick()
    return data


def default_result(row: dict[str, Any]) -> dict[str, Any]:
    """The result of a row measured with the product's own search parameter."""
    return next(r for r in row["results"] if r["default"])


def _bench_setting(
    setting: str, params: FaissParams, xb: np.ndarray, xq: np.ndarray, exact: np.ndarray, *, passes: int,
    sweep: bool, workdir: Path, thread_counts: Sequence[int],
) -> dict[str, Any]:
    t0 = time.perf_counter()
    built = DenseIndex.build(xb, setting=setting)
    build_s = time.perf_counter() - t0
    described = built.describe()
    if built.kind != params.kind:  # choose_params and build disagree: the report would lie
        raise RuntimeError(f"{setting}: built {built.kind}, choose_params said {params.kind}")
    with tempfile.NamedTemporaryFile(dir=workdir, suffix=".faiss", delete=False) as fh:
        path = Path(fh.name)
    try:
        built.save(path)
        disk_bytes = path.stat().st_size
        del built
        gc.collect()
        memory_mb = index_rss_mb(path, params.kind)
        dense = DenseIndex.load(path, params.kind)  # what Index.load hands to the answer path
    finally:
        path.unlink(missing_ok=True)
    own = search_param(dense)
    results = []
    if own is None:  # flat: nothing to tune
        results.append(_measure_search(dense, xq, exact, passes=passes) | {"search": {}, "default": True})
    else:
        name, default = own
        values = sorted({*SWEEP[params.kind][1], default}) if sweep and params.kind in SWEEP else [default]
        for value in values:
            set_search_param(dense, name, value)
            results.append(_measure_search(dense, xq, exact, passes=passes) | {
                "search": {name: value}, "default": value == default})
        set_search_param(dense, name, default)
    row: dict[str, Any] = {
        "setting": setting, "kind": params.kind, "factory": params.factory, "params": asdict(params),
        "faiss": described, "same_as": None, "build_s": build_s, "disk_mb": disk_bytes / 2**20,
        "memory_mb": memory_mb, "results": results,
    }
    if thread_counts:
        row["threads"] = _thread_comparison(dense, xq, label=params.kind, threads=thread_counts,
                                            search={} if own is None else {own[0]: own[1]})
    del dense
    gc.collect()
    return row


def _measure_search(dense: DenseIndex, xq: np.ndarray, exact: np.ndarray, *, passes: int) -> dict[str, Any]:
    warm, _ = single_query_latencies(dense, xq[: min(WARMUP_QUERIES, len(xq))])  # page in the lists / graph
    # Slow settings (exact search at 1M: the flat rows of `citeqa bench --sections vectors`) get fewer queries,
    # never fewer than 30.
    n_q = int(min(len(xq), max(30, PASS_BUDGET_S * 1e3 / max(float(np.mean(warm)), 1e-3))))
    p50s: list[float] = []
    p95s: list[float] = []
    maxes: list[float] = []
    found = exact[:0]
    for _ in range(passes):
        times, found = single_query_latencies(dense, xq[:n_q])
        p50s.append(float(np.percentile(times, 50)))
        p95s.append(float(np.percentile(times, 95)))
        maxes.append(max(times))
    return {"queries": n_q, "recall": recall_at_k(found, exact[:n_q]),
            "latency_ms": {"p50": summarize(p50s), "p95": summarize(p95s), "max": summarize(maxes)}}


def _thread_comparison(
    dense: DenseIndex, xq: np.ndarray, *, label: str, threads: Sequence[int], search: dict[str, int],
) -> dict[str, Any]:
    """p50 of a raw single-query ``faiss.Index.search`` at each OpenMP thread count, passes alternating.

    Raw, because ``DenseIndex.search`` pins ``SEARCH_THREADS``: this is the evidence for that choice.
    """
    faiss = _faiss()
    default = faiss.omp_get_max_threads()
    xq = xq[: min(len(xq), 100)]
    p50s: dict[int, list[float]] = {t: [] for t in threads}
    try:
        for _ in range(3):
            for t in threads:
                faiss.omp_set_num_threads(t)
                times = []
                for i in range(len(xq)):
                    t0 = time.perf_counter()
                    dense.index.search(xq[i : i + 1], K)
                    times.append((time.perf_counter() - t0) * 1e3)
                p50s[t].append(float(np.percentile(times, 50)))
    finally:
        faiss.omp_set_num_threads(default)
    return {"config": label, "params": search, "n": dense.ntotal,
            "p50_ms": {str(t): summarize(v) for t, v in p50s.items()}}


def auto_choice(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: what "auto" built and its figures, exact search's p50, and the fastest measured
    (setting, search parameter) meeting the recall and memory targets, for comparison."""
    out = []
    for size in sizes:
        rows = {r["setting"]: r for r in size["configs"]}
        flat = rows.get("flat")
        candidates = []
        for r in size["configs"]:
            if r.get("same_as"):
                continue
            for res in r["results"]:
                if res["recall"] >= RECALL_TARGET and r["memory_mb"] < MEMORY_TARGET_MB:
                    candidates.append((res["latency_ms"]["p50"]["median"], r, res))
        fastest = min(candidates, key=lambda t: t[0], default=None)
        entry: dict[str, Any] = {
            "n": size["n"],
            "flat_p50_ms": default_result(flat)["latency_ms"]["p50"]["median"] if flat else None,
            "best": None if fastest is None else {
                "config": fastest[1]["setting"], "factory": fastest[1]["factory"], "params": fastest[2]["search"],
                "p50_ms": fastest[0], "recall": fastest[2]["recall"], "memory_mb": fastest[1]["memory_mb"],
                "build_s": fastest[1]["build_s"]},
        }
        auto = rows.get("auto")
        if auto is not None:
            d = default_result(auto)
            entry["auto"] = {
                "kind": auto["kind"], "factory": auto["factory"], "search": d["search"],
                "params": {k: v for k, v in auto["params"].items() if v is not None and k not in ("n_vectors", "dim")},
                "p50_ms": d["latency_ms"]["p50"]["median"], "p95_ms": d["latency_ms"]["p95"]["median"],
                "recall": d["recall"], "memory_mb": auto["memory_mb"], "disk_mb": auto["disk_mb"],
                "build_s": auto["build_s"],
                "meets_targets": bool(d["recall"] >= RECALL_TARGET and d["latency_ms"]["p50"]["median"]
                                      < LATENCY_TARGET_MS and auto["memory_mb"] < MEMORY_TARGET_MB),
            }
        out.append(entry)
    return out
