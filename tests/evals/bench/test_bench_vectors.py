"""evals.bench.vectors: recall, the builds planned per size, and one size measured on a tiny collection.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from embeddings.faiss_index import DenseIndex, choose_params
from evals.bench import data as bench_data
from evals.bench import vectors as bench_vectors
from evals.bench.run import FULL


def test_recall_at_k():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    assert bench_vectors.recall_at_k(exact, exact, k=3) == 1.0
    assert bench_vectors.recall_at_k(np.array([[3, 9, 1], [7, 8, 9]]), exact, k=3) == pytest.approx(2 / 6)
    with pytest.raises(ValueError):
        bench_vectors.recall_at_k(exact[:1], exact, k=3)


def test_plan_builds_are_the_products_and_measure_each_index_once():
    builds = bench_vectors.plan_builds(10_000, 384, ("auto", "flat", "ivfsq8"))
    assert [(s, p.factory, same) for s, p, same in builds] == [
        ("auto", "Flat", None), ("flat", "Flat", "auto"), ("ivfsq8", "IVF128,SQ8", None)]
    for n in FULL.vector_sizes:
        setting, params, _ = bench_vectors.plan_builds(n, 384, FULL.vector_settings)[0]
        assert setting == "auto" and params == choose_params(n, 384, "auto")
    big = {s: (p.factory, same) for s, p, same in bench_vectors.plan_builds(1_000_000, 384, FULL.vector_settings)}
    assert big == {"auto": ("IVF1024,SQ8", None), "flat": ("Flat", None), "hnsw": ("HNSW32,Flat", None),
                   "ivf": ("IVF1024,Flat", None), "ivfsq8": ("IVF1024,SQ8", "auto"),
                   "ivfpq": ("IVF1024,PQ96x8", None)}


def test_bench_size_reports_the_index_the_product_builds(anchors, tmp_path, monkeypatch):
    # Lower the threshold so a tiny collection takes the approximate branch of "auto" (same code, small n).
    monkeypatch.setattr("embeddings.faiss_index.AUTO_APPROX_THRESHOLD", 2_000)
    n = 3_000
    lines: list[str] = []
    ticks: list[int] = []
    size = bench_vectors.bench_size(n, anchors, anchors[:10], settings=("auto", "flat", "ivfsq8"), n_queries=20,
                                    passes=2, sweep=True, progress=lines.append, workdir=tmp_path,
                                    thread_counts=(1, 2), tick=lambda: ticks.append(1))
    rows = {r["setting"]: r for r in size["configs"]}
    product = DenseIndex.build(bench_data.synthetic_vectors(anchors, n, seed=n), setting="auto")
    auto = rows["auto"]
    assert auto["kind"] == product.kind == "ivfsq8"
    assert auto["faiss"] == product.describe()
    assert auto["params"] == asdict(choose_params(n, 384, "auto"))
    assert auto["factory"] == "IVF64,SQ8" and auto["params"]["nprobe"] == 32
    # ivfsq8 builds the same index as auto here: measured once, reported for both
    assert rows["ivfsq8"]["same_as"] == "auto" and rows["ivfsq8"]["results"] == auto["results"]
    flat = rows["flat"]
    assert flat["same_as"] is None and flat["results"][0]["recall"] == 1.0
    assert flat["disk_mb"] == pytest.approx(n * 384 * 4 / 2**20, rel=0.01)
    # the sweep measures other nprobe values on the same index; exactly one row is the product's own
    searches = [r["search"]["nprobe"] for r in auto["results"]]
    assert searches == sorted({*bench_vectors.SWEEP["ivfsq8"][1], 32}) and [
        r["search"]["nprobe"] for r in auto["results"] if r["default"]] == [32]
    for c in size["configs"]:
        for r in c["results"]:
            assert 0.0 <= r["recall"] <= 1.0
            assert r["latency_ms"]["p50"]["n"] == 2
    assert {t["config"] for t in size["threads"]} == {"flat", "ivfsq8"}
    assert len(lines) == 1 + 3 and len(ticks) == 3
    choice = bench_vectors.auto_choice([size])[0]
    assert choice["auto"]["factory"] == "IVF64,SQ8" and choice["auto"]["search"] == {"nprobe": 32}
    assert choice["auto"]["params"]["train_sample"] == n and choice["best"] is not None
    assert not list(tmp_path.iterdir())  # written indexes are removed
