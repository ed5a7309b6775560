"""Fixtures of the bench tests: the seed articles and sentences, stand-in anchors, a tiny result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpus.load import load_articles
from evals.bench import data as bench_data
from evals.bench import stats as bench_stats
from evals.bench import vectors as bench_vectors


@pytest.fixture(scope="module")
def seeds():
    return load_articles(None).articles


@pytest.fixture(scope="module")
def sentences(seeds):
    return bench_data.seed_sentences(seeds)


@pytest.fixture(scope="module")
def anchors() -> np.ndarray:
    """Stand-ins for real embeddings: 200 unit vectors around 20 topic directions (dim 384)."""
    rng = np.random.default_rng(0)
    topics = rng.standard_normal((20, 384))
    x = topics[rng.integers(0, 20, 200)] + 0.5 * rng.standard_normal((200, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def tiny_result(anchors: np.ndarray, tmp_path: Path) -> dict:
    """A bench result of the shape run_bench returns, with one real (tiny) vectors size."""
    workdir = tmp_path
    size = bench_vectors.bench_size(2000, anchors, anchors[:5], settings=("auto", "flat", "ivfsq8"), n_queries=10,
                                    passes=1, sweep=False, progress=lambda m: None, workdir=workdir,
                                    thread_counts=(1, 2))
    threads = size.pop("threads")
    s = bench_stats.summarize
    stages = {k: {"p50": s([1.0, 2.0]), "p95": s([3.0]), "max": s([4.0])} for k in
              ("embed", "dense", "bm25", "fuse", "retrieve", "generate", "cite", "total", "end_to_end", "mmr")}
    return {
        "meta": {"quick": True, "started": "t0", "finished": "t1", "duration_s": 1.0,
                 "machine": {"cpus": 2, "loadavg_start": [1.0, 1.0, 1.0]}, "loadavg_end": [1.0, 1.0, 1.0]},
        "errors": {"onnx": "RuntimeError: boom"},
        "indexing": {"runs": [{}, {}], "articles_per_run": s([10]), "chunks_per_run": s([50]),
                     "build_chunks_per_s": s([90, 100]), "encode_chunks_per_s": s([120, 130]),
                     "ratio": s([0.75, 0.77]), "build_s": s([1]), "encode_s": s([1]),
                     "breakdown_s": {"chunk": s([0.1]), "encode": s([0.5]), "bm25": s([0.1]), "faiss": s([0.01]),
                                     "other": s([0.2])}},
        "latency": {"seed": {"queries": 4, "passes": 2, "chunks": 114, "stages_ms": stages}},
        "cold_start": {"ask_s": s([5, 6, 7]), "help_s": s([1, 1, 1])},
        "vectors": {"sizes": [size], "threads": threads, "auto": bench_vectors.auto_choice([size]),
                    "targets": {"recall_at_10": 0.95, "p50_ms": 5.0, "memory_mb": 2048.0},
                    "synthetic": {"mix_anchors": 3, "noise": [0.35, 0.8], "anchors": len(anchors)}},
        "memory": {"seed": {"chunks": 114, "faiss": "flat", "start_rss_mb": s([50]), "loaded_rss_mb": s([400]),
                            "peak_rss_mb": s([420]), "load_s": s([2])}},
    }
