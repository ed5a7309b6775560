"""The bench's pure parts: summaries, generated inputs, recall, report writing on a tiny run.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from corpus.load import load_articles
from corpus.sentences import split_sentences
from embeddings.embedder import HashEmbedder
from embeddings.faiss_index import AUTO_APPROX_THRESHOLD, KINDS, DenseIndex, choose_params
from evals import bench, bench_cli, bench_data, bench_pipeline, bench_stats, bench_vectors
from evals.bench import FULL, QUICK, BenchPlan, run_plan
from evals.bench_cli import bench as bench_command
from evals.bench_cli import summary_lines
from evals.bench_onnx import row_cosines
from evals.bench_report import render_markdown, write_report
from evals.sets import SETS_DIR, load_eval_set


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


# ------------------------------------------------------------------------------------------ statistics


def test_summarize_reports_median_percentiles_and_range():
    s = bench_stats.summarize([5, 1, 3, 2, 4])
    assert s == {"n": 5, "median": 3.0, "p50": 3.0, "p95": pytest.approx(4.8), "min": 1.0, "max": 5.0,
                 "mean": 3.0}


def test_summarize_empty_and_nan():
    assert bench_stats.summarize([])["median"] is None
    with pytest.raises(ValueError):
        bench_stats.summarize([1.0, math.nan])


def test_ratio_summary_pairs_runs():
    s = bench_stats.ratio_summary([10, 30], [5, 10])
    assert (s["min"], s["max"]) == (2.0, 3.0)
    with pytest.raises(ValueError):
        bench_stats.ratio_summary([1], [1, 2])


def test_formatting():
    assert bench_stats.fmt_summary({"median": 2.0, "min": 1.0, "max": 3.5}, unit=" ms") == "2.0 ms [1.0–3.5]"
    assert bench_stats.fmt_summary(None) == "–"
    assert bench_stats.fmt_num(1_234_567) == "1,234,567"
    assert bench_stats.fmt_num(None) == "–"


def test_process_memory_is_readable():
    rss, peak = bench_stats.rss_mb(), bench_stats.peak_rss_mb()
    assert rss is not None and peak is not None and 0 < rss <= peak


def test_stopwatch_accumulates():
    out: dict[str, float] = {}
    for _ in range(2):
        with bench_stats.stopwatch(out, "x"):
            pass
    assert out["x"] >= 0


# -------------------------------------------------------------------------------------- generated input


def test_generate_articles_is_deterministic_and_made_of_seed_sentences(sentences):
    a = bench_data.generate_articles(sentences, 5, seed=3)
    b = bench_data.generate_articles(sentences, 5, seed=3)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.doc_id for x in a] == [f"gen/{i:06d}.txt" for i in range(5)]
    assert bench_data.generate_articles(sentences, 5, seed=4)[0].text != a[0].text
    pool = set(sentences)
    for article in a:
        body = article.text.split("\n\n", 1)[1]
        assert article.title and article.text.startswith(article.title)
        for paragraph in body.strip().split("\n\n"):
            assert any(s in paragraph for s in pool)


def test_generate_articles_rejects_bad_input(sentences):
    with pytest.raises(ValueError):
        bench_data.generate_articles([], 1)
    with pytest.raises(ValueError):
        bench_data.generate_articles(sentences, 1, sentences_per_article=(5, 2))


def test_base_texts_include_every_sentence_once(seeds, sentences):
    texts = bench_data.base_texts(seeds)
    assert len(texts) == len(set(texts)) > len(sentences)
    assert set(sentences) <= set(texts)


def test_synthetic_vectors_are_unit_float32_and_deterministic(anchors):
    x = bench_data.synthetic_vectors(anchors, 1000, seed=1)
    assert x.shape == (1000, 384) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(x, bench_data.synthetic_vectors(anchors, 1000, seed=1))
    assert not np.array_equal(x, bench_data.synthetic_vectors(anchors, 1000, seed=2))


def test_synthetic_vectors_stay_near_the_anchors_unlike_noise(anchors):
    x = bench_data.synthetic_vectors(anchors, 500, seed=0)
    noise = np.random.default_rng(0).standard_normal((500, 384)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    near = (x @ anchors.T).max(axis=1)
    far = (noise @ anchors.T).max(axis=1)
    assert np.median(near) > 0.6 > 0.3 > np.median(far)
    # not copies either: vectors differ from every anchor
    assert near.max() < 0.999


def test_synthetic_vectors_in_batches_equal_one_batch(anchors):
    whole = bench_data.synthetic_vectors(anchors, 300, seed=5)
    parts = np.concatenate(list(bench_data.iter_synthetic_vectors(anchors, 300, seed=5, batch=300)))
    assert np.array_equal(whole, parts)
    assert sum(len(b) for b in bench_data.iter_synthetic_vectors(anchors, 250, batch=100)) == 250
    assert bench_data.synthetic_vectors(anchors, 0).shape == (0, 384)
    with pytest.raises(ValueError):
        bench_data.synthetic_vectors(np.zeros((0, 8), np.float32), 3)


def test_perturb_stays_close(anchors):
    q = bench_data.perturb(anchors, 50, seed=1, noise=0.1)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert np.median((q @ anchors.T).max(axis=1)) > 0.99


def test_text_seed_is_stable():
    assert bench_data.text_seed("abc") == bench_data.text_seed("abc") != bench_data.text_seed("abd")


# ------------------------------------------------------------------------------------------------ FAISS


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


def test_plans():
    assert 1_000_000 in FULL.vector_sizes and set(FULL.vector_settings) == {"auto", *KINDS}
    assert max(QUICK.vector_sizes) < 1_000_000  # the quick run never builds a 1M-vector index
    assert QUICK.large_chunks == 0 and not QUICK.ui_memory and not QUICK.vector_sweep
    assert "auto" in QUICK.vector_settings and "flat" in QUICK.vector_settings
    assert max(QUICK.vector_sizes) >= AUTO_APPROX_THRESHOLD  # quick still measures auto's approximate index
    assert bench.SECTIONS == bench_cli.SECTIONS


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


# ------------------------------------------------------------------------------------------- pipeline


def test_query_variants_keep_history():
    items = load_eval_set(SETS_DIR / "seed_dev.jsonl")
    followup = next(it for it in items if it.history)
    variants = bench_pipeline.query_variants([items[0], followup], 3)
    assert len(variants) == 6
    assert variants[0] == (items[0].question, [])
    assert variants[1][0] == items[0].question.lower()
    assert all(h == followup.history_messages() for _, h in variants[3:])


def test_sentence_mean_embedder_matches_the_real_identity():
    real = HashEmbedder(dim=32)
    sentences = ["Cats purr.", "Dogs bark."]
    fake = bench_pipeline.SentenceMeanEmbedder(real, dict(zip(sentences, real.embed(sentences), strict=True)))
    assert (fake.model_id, fake.dim, fake.max_tokens, fake.fingerprint()) == (
        real.model_id, real.dim, real.max_tokens, real.fingerprint())
    assert fake.count_tokens("Cats purr.") == real.count_tokens("Cats purr.")
    v = fake.embed(["Cats purr. Dogs bark.", "Cats purr. Dogs bark.", "Unknown words."])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(v[0], v[1])
    mean = real.embed(sentences).mean(axis=0)
    assert float(v[0] @ (mean / np.linalg.norm(mean))) > 0.8


def test_indexing_and_latency_on_a_tiny_run(sentences, tmp_path):
    emb = HashEmbedder()
    batches = [bench_data.generate_articles(sentences, 4, seed=s, prefix=f"g{s}") for s in (1, 2)]
    ix = bench_pipeline.bench_indexing(batches, emb, workdir=tmp_path, progress=lambda m: None)
    assert ix["chunks_per_run"]["n"] == 2 and ix["ratio"]["median"] > 0
    assert set(ix["breakdown_s"]) == {"chunk", "encode", "bm25", "faiss", "other"}
    assert [r["first"] for r in ix["runs"]] == ["build", "encode"]
    assert ix["bare_encoder"] == "HashEmbedder.embed"  # no sentence-transformers model behind it
    texts = bench_pipeline.chunk_all(batches[0], emb, __import__("embeddings").ChunkSettings())
    assert ix["runs"][0]["chunks"] == len(texts)

    from embeddings.store import Index
    from qa.config import get_settings
    from qa.pipeline import QA

    settings = get_settings({"index": {"dir": str(tmp_path / "index-gen-0")}, "embedding": {"model": "hash"}})
    index = Index.load(tmp_path / "index-gen-0", embedder=emb, chunking=settings.chunking)
    queries = [(s, []) for s in sentences[:4]]
    lat = bench_pipeline.bench_latency(lambda: QA(settings, index, emb), queries, passes=2,
                                       progress=lambda m: None, label="tiny", warmup=1)
    stages = lat["stages_ms"]
    assert {"embed", "dense", "bm25", "fuse", "generate", "cite", "end_to_end"} <= set(stages)
    assert stages["end_to_end"]["p50"]["n"] == 2
    assert stages["end_to_end"]["p50"]["median"] >= stages["dense"]["p50"]["median"]


# ---------------------------------------------------------------------------------------------- report


def _tiny_result(anchors: np.ndarray, workdir: Path) -> dict:
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


def test_report_on_a_tiny_run(anchors, tmp_path):
    result = _tiny_result(anchors, tmp_path)
    path = write_report(result, tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    for heading in ("## 1. Indexing", "## 2. Query latency", "## 3. Vector search", "## 4. Memory", "## 5. ONNX"):
        assert heading in text
    assert "RuntimeError: boom" in text
    assert "2,000 vectors" in text and "`IVF" in text
    for png in ("indexing.png", "latency.png", "vectors.png", "vectors_scaling.png"):
        assert (tmp_path / "out" / png).stat().st_size > 1000
        assert f"({png})" in text
    assert "Not measured." in text  # the missing ONNX section


def test_report_tolerates_an_empty_result():
    text = render_markdown({"meta": {}, "errors": {}}, {})
    assert text.count("Not measured.") == 5


def test_summary_lines_and_cli(anchors, tmp_path, monkeypatch):
    result = _tiny_result(anchors, tmp_path)
    text = summary_lines(result, tmp_path)
    assert "report:" in text and "2,000 vectors" in text and "peak RSS, 114 chunks: 420 MB" in text

    def fake_run_bench(*, quick: bool, out_dir: Path, progress: bool, sections: list[str] | None) -> dict:
        out_dir.mkdir(parents=True, exist_ok=True)
        clean = {**result, "errors": {}}
        (out_dir / "bench.json").write_text(json.dumps({"quick": quick, "sections": sections}), encoding="utf-8")
        return clean

    monkeypatch.setattr("evals.bench.run_bench", fake_run_bench)
    out = tmp_path / "cli"
    res = CliRunner().invoke(bench_command, ["--quick", "--out", str(out), "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"quick": True, "sections": None}
    res = CliRunner().invoke(bench_command, ["--quick", "--out", str(out), "-q"])
    assert res.exit_code == 0 and "indexing: 95 chunks/s" in res.output
    res = CliRunner().invoke(bench_command, ["--sections", "vectors, memory", "--out", str(out), "--json", "-q"])
    assert res.exit_code == 0 and json.loads(res.output)["sections"] == ["vectors", "memory"]
    res = CliRunner().invoke(bench_command, ["--sections", "vectors,speed", "--out", str(out), "-q"])
    assert res.exit_code == 2 and "speed" in res.output


def test_run_plan_rejects_unknown_sections(tmp_path):
    with pytest.raises(ValueError, match="bogus"):
        run_plan(QUICK, quick=True, out_dir=tmp_path, progress=False, sections=["vectors", "bogus"])
    assert not list(tmp_path.iterdir())


def test_run_plan_runs_only_the_selected_sections(tmp_path):
    """bench.py end to end on the vectors section, with the hash embedder and a tiny plan."""
    plan = BenchPlan(anchor_texts=100, vector_sizes=(2_000,), vector_settings=("auto", "flat"), vector_sweep=False,
                     vector_queries=10, vector_passes=2, thread_size=0)
    result = run_plan(plan, quick=True, out_dir=tmp_path, progress=False, embedder=HashEmbedder(dim=384),
                      sections=["vectors"])
    assert result["errors"] == {} and result["meta"]["sections"] == ["vectors"]
    assert result["meta"]["anchor_texts"] == 100
    assert "indexing" not in result and "onnx" not in result
    (auto,) = result["vectors"]["auto"]
    assert auto["auto"]["kind"] == "flat" and auto["auto"]["recall"] == 1.0
    assert [c["setting"] for c in result["vectors"]["sizes"][0]["configs"]] == ["auto", "flat"]
    saved = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert saved["vectors"]["auto"][0]["auto"]["factory"] == "Flat"
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "What `auto` builds" in text and text.count("Not measured.") == 4


def test_row_cosines():
    a = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    b = np.array([[1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    assert row_cosines(a, b) == pytest.approx([math.sqrt(0.5), 1.0])


def test_generated_articles_chunk_validly(sentences):
    emb = HashEmbedder()
    article = bench_data.generate_articles(sentences, 1, seed=9)[0]
    from corpus.chunk import chunk_article

    for c in chunk_article(article, count_tokens=emb.count_tokens, size=128, overlap=32, max_tokens=256):
        assert article.text[c.start : c.end] == c.text
    assert len(split_sentences(article.text)) >= 12
