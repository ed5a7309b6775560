"""Section ``scale`` of the bench (``citeqa bench --sections scale``): the per-node figures of a scaled-out citeqa.

1. Ingestion on Ray: the Ray phase of ``citeqa index --ray`` (``embeddings.ray_ingest.embed_on_ray``: read,
   clean and chunk in Ray tasks, embed in an actor pool, commit to the checkpoint) on generated articles, with 1
   and with 2 embedding workers (one CPU and one ONNX Runtime thread each) on a local Ray instance bound to
   127.0.0.1; chunks/s of each and their ratio. Each run starts its actors (the model loads once per actor)
   and embeds every article of a fresh index folder: the figure is end to end, startup included. Beside it,
   chunks per CPU-second of the actors (their processes' CPU time in the embedding calls): a worker's speed on a
   core of its own, which stays put when other processes share the cores.
2. Vector search at 100k chunks, Milvus vs FAISS: the same synthetic unit vectors (``bench_data``) in the
   product's FAISS index (``DenseIndex.build``, setting ``auto``) and in a Milvus collection made by the product's
   store (``embeddings.milvus_store.MilvusStore``, Milvus Lite, index IVF_SQ8 nprobe 32 like FAISS's choice at
   this size); single-query p50/p95 and recall@10 against exact inner-product search (Milvus at "Strong" and at
   "Bounded" read consistency), and Milvus's insert rate.

Needs the ``[scale]`` extra (Ray, pymilvus, milvus-lite); the section is not part of a default ``citeqa bench``
run. Nothing here imports Ray or pymilvus before the section runs.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench.data import generate_articles, perturb, synthetic_vectors
from evals.bench.stats import summarize
from evals.bench.vectors import K, recall_at_k, single_query_latencies

logger = logging.getLogger(__name__)

INGEST_ARTICLES = 240  # ~2,500 chunks: about a minute per run with 2 workers on 2 cores
INGEST_ARTICLES_QUICK = 40
VECTOR_N = 100_000
MILVUS_INDEX = "ivfsq8"  # the kind FAISS "auto" picks at 100k chunks
# Milvus read consistency per search: "Strong" (the product's collections are created with it) waits for every
# write acknowledged before the search; "Bounded" reads a snapshot at most a few seconds old.
CONSISTENCY = ("Strong", "Bounded")
INDEX_WAIT_S = 600.0  # the longest the bench waits for Milvus to index the inserted rows


def bench_scale(emb: Any, embedding_settings: Any, sentences: list[str], anchors: np.ndarray, *, work: Path,
                quick: bool, progress: Any, workers: tuple[int, ...] = (1, 2), n_queries: int = 200) -> dict[str, Any]:
    """Run both parts; each records its own error so that one failing leaves the other's figures."""
    out: dict[str, Any] = {"machine_cpus": os.cpu_count()}
    try:
        out["ingestion"] = bench_ingestion(emb, embedding_settings, sentences, work=work, workers=workers,
                                           n_articles=INGEST_ARTICLES_QUICK if quick else INGEST_ARTICLES,
                                           progress=progress)
    except Exception as exc:  # noqa: BLE001 - recorded, the search part still runs
        logger.debug("scale: ingestion failed", exc_info=True)
        out["ingestion_error"] = f"{type(exc).__name__}: {exc}"
        progress(f"scale: ingestion FAILED: {out['ingestion_error']}")
    try:
        out["search"] = bench_search(anchors, work=work, n=VECTOR_N, n_queries=n_queries // (4 if quick else 1),
                                     progress=progress)
    except Exception as exc:  # noqa: BLE001
        logger.debug("scale: search failed", exc_info=True)
        out["search_error"] = f"{type(exc).__name__}: {exc}"
        progress(f"scale: search FAILED: {out['search_error']}")
    return out


def bench_ingestion(emb: Any, embedding_settings: Any, sentences: list[str], *, work: Path,
                    workers: tuple[int, ...], n_articles: int, progress: Any) -> dict[str, Any]:
    """Ray-phase chunks/s with each worker count, on one local Ray instance (``max(workers) + 1`` logical CPUs)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # node address and servers on 127.0.0.1
    import ray

    from corpus.load import iter_articles
    from embeddings.config import ChunkSettings
    from embeddings.ray_ingest import embed_on_ray

    folder = work / "scale-articles"
    folder.mkdir(parents=True, exist_ok=True)
    for i, article in enumerate(generate_articles(sentences, n_articles, seed=2026, prefix="scale")):
        (folder / f"{i:05d}.txt").write_text(article.text, encoding="utf-8")
    files = iter_articles([folder]).files
    runs: list[dict[str, Any]] = []
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address="local", num_cpus=max(workers) + 1, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
    try:
        for w in workers:
            index_dir = work / f"scale-index-{w}"
            report = embed_on_ray(files, index_dir=index_dir, embedder=emb, settings=embedding_settings,
                                  chunking=ChunkSettings(), workers=w, progress=False)
            runs.append({"workers": w, "articles": report.embedded_articles, "chunks": report.embedded_chunks,
                         "seconds": report.seconds, "chunks_per_s": report.chunks_per_s,
                         "embed_cpu_s": report.embed_cpu_s, "chunks_per_cpu_s": report.chunks_per_cpu_s,
                         "loadavg": list(os.getloadavg())})
            progress(f"scale: Ray ingestion, {w} worker(s): {report.embedded_chunks} chunks in "
                     f"{report.seconds:.1f} s = {report.chunks_per_s:.1f} chunks/s "
                     f"({report.chunks_per_cpu_s:.1f} per actor CPU-second)")
            shutil.rmtree(index_dir.parent / f".{index_dir.name}.resume", ignore_errors=True)
    finally:
        if started_here:
            ray.shutdown()
    by_w = {r["workers"]: r["chunks_per_s"] for r in runs}
    ratio = by_w[max(by_w)] / by_w[min(by_w)] if len(by_w) > 1 and by_w[min(by_w)] else None
    return {"runs": runs, "ratio": ratio, "articles": n_articles,
            "per_worker": "one Ray actor: 1 CPU, ONNX Runtime on 1 thread (the default onnx fp32 model)",
            "ray_cpus": max(workers) + 1}


def bench_search(anchors: np.ndarray, *, work: Path, n: int, n_queries: int, progress: Any) -> dict[str, Any]:
    """FAISS (the product's ``auto``) vs Milvus (IVF_SQ8, the product's store) on the same ``n`` unit vectors."""
    from embeddings.faiss_index import DenseIndex

    vectors = synthetic_vectors(anchors, n, seed=77)
    queries = perturb(vectors, n_queries, seed=78)
    exact = _exact_top_k(vectors, queries)
    t0 = time.perf_counter()
    dense = DenseIndex.build(vectors, setting="auto")
    faiss_build = time.perf_counter() - t0
    latencies, found = single_query_latencies(dense, queries)
    faiss = {"kind": dense.kind, "build_s": faiss_build, "latency_ms": summarize(latencies),
             "recall_at_10": recall_at_k(found, exact)}
    progress(f"scale: FAISS {dense.kind} at {n:,}: p50 {np.median(latencies):.2f} ms, recall@10 "
             f"{faiss['recall_at_10']:.3f}")
    del dense
    return {"n": n, "queries": n_queries, "faiss": faiss,
            "milvus": _bench_milvus(vectors, queries, exact, work=work, progress=progress)}


def _bench_milvus(vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, *, work: Path,
                  progress: Any) -> dict[str, Any]:
    from embeddings.config import IndexSettings
    from embeddings.milvus_store import ChunkRow, MilvusStore

    db = work / "scale-milvus" / "milvus.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    settings = IndexSettings(store="milvus", milvus_uri=str(db), faiss=MILVUS_INDEX)  # type: ignore[call-arg]
    store = MilvusStore.open(settings, index_dir=work / "scale-milvus-index", dim=int(vectors.shape[1]),
                             fingerprint="bench-synthetic-vectors")
    try:
        t0 = time.perf_counter()
        rows = (ChunkRow(f"doc{i // 10:06d}", "0" * 16, (i % 10) * 100, (i % 10) * 100 + 90,
                         f"synthetic chunk {i}", vectors[i]) for i in range(len(vectors)))
        store.insert(rows)
        store.client.flush(store.collection)
        insert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < INDEX_WAIT_S:  # until every row is in the index (else: brute force)
            info = store.client.describe_index(store.collection, "vector")
            if int(info.get("pending_index_rows", 0)) == 0 and int(info.get("indexed_rows", 0)) >= len(vectors):
                break
            time.sleep(0.5)
        index_s = time.perf_counter() - t0
        store.client.load_collection(store.collection)
        params = {"metric_type": "IP", "params": {"nprobe": 32}}
        ids = _row_ids(store, len(vectors))
        out: dict[str, Any] = {"index_type": store.index_type, "nprobe": 32,
                               "uri": "Milvus Lite (local file, its own server process)", "insert_s": insert_s,
                               "insert_rows_per_s": len(vectors) / insert_s, "index_wait_s": index_s,
                               "consistency": {}}
        for level in CONSISTENCY:
            for j in range(min(20, len(queries))):  # warm-up
                store.client.search(store.collection, data=[queries[j].tolist()], anns_field="vector", limit=K,
                                    search_params=params, consistency_level=level)
            latencies: list[float] = []
            found = np.full((len(queries), K), -1, dtype=np.int64)
            for j, q in enumerate(queries):
                t = time.perf_counter()
                res = store.client.search(store.collection, data=[q.tolist()], anns_field="vector", limit=K,
                                          search_params=params, output_fields=[], consistency_level=level)
                latencies.append((time.perf_counter() - t) * 1000)
                hits = [ids.get(int(h["id"]), -1) for h in res[0]]
                found[j, : len(hits)] = hits
            out["consistency"][level] = {"latency_ms": summarize(latencies), "recall_at_10": recall_at_k(found, exact)}
            progress(f"scale: Milvus {store.index_type} at {len(vectors):,}, consistency {level}: p50 "
                     f"{np.median(latencies):.2f} ms, recall@10 {out['consistency'][level]['recall_at_10']:.3f}")
        out.update(out["consistency"][CONSISTENCY[-1]])  # the headline: the level a read-only index can use
        progress(f"scale: Milvus inserted at {out['insert_rows_per_s']:.0f} rows/s")
        return out
    finally:
        try:
            store.drop()
        finally:
            store.close()


def _row_ids(store: Any, n: int) -> dict[int, int]:
    """Milvus row id (``chunk_id``) -> the vector's row number, as the rows were made above."""
    from embeddings.milvus_store import chunk_id

    return {chunk_id(f"doc{i // 10:06d}", "0" * 16, (i % 10) * 100, (i % 10) * 100 + 90): i for i in range(n)}


def _exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    scores = queries @ vectors.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def scale_md(scale: dict[str, Any] | None) -> list[str]:
    """The report's section for ``scale`` ([] when it did not run)."""
    if not scale:
        return []
    lines = ["## Scale: Ray ingestion and Milvus vs FAISS", ""]
    ing = scale.get("ingestion")
    if ing:
        lines += [f"Ray phase of `citeqa index --ray` on {ing['articles']} generated articles, local Ray instance "
                  f"({ing['ray_cpus']} logical CPUs on {scale.get('machine_cpus')} cores); {ing['per_worker']}.", "",
                  "| workers | chunks | seconds | chunks/s | chunks per actor CPU-second | load avg (1 min) |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['workers']} | {r['chunks']} | {r['seconds']:.1f} | {r['chunks_per_s']:.1f} | "
                  f"{r.get('chunks_per_cpu_s', 0):.1f} | {(r.get('loadavg') or [0])[0]:.1f} |" for r in ing["runs"]]
        if ing.get("ratio"):
            lines += ["", f"Ratio, most vs fewest workers: **{ing['ratio']:.2f}**."]
        lines.append("")
    elif scale.get("ingestion_error"):
        lines += [f"Ingestion failed: `{scale['ingestion_error']}`", ""]
    s = scale.get("search")
    if s:
        f, m = s["faiss"], s["milvus"]
        lines += [f"{s['n']:,} synthetic unit vectors, {s['queries']} single queries:", "",
                  "| store | index | p50 ms | p95 ms | recall@10 |", "|---|---|---|---|---|",
                  f"| FAISS | {f['kind']} | {f['latency_ms']['p50']:.2f} | {f['latency_ms']['p95']:.2f} | "
                  f"{f['recall_at_10']:.3f} |",
                  *(f"| Milvus Lite, consistency {lvl} | {m['index_type']} nprobe {m['nprobe']} | "
                    f"{c['latency_ms']['p50']:.2f} | {c['latency_ms']['p95']:.2f} | {c['recall_at_10']:.3f} |"
                    for lvl, c in (m.get("consistency") or {"": m}).items()), "",
                  f"Milvus insert: {m['insert_rows_per_s']:.0f} rows/s ({m['insert_s']:.0f} s for {s['n']:,}).", ""]
    elif scale.get("search_error"):
        lines += [f"Search comparison failed: `{scale['search_error']}`", ""]
    return lines
