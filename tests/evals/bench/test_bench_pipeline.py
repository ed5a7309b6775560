"""evals.bench.pipeline: query variants, the stand-in embedder, indexing and latency on a tiny run.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.embedder import HashEmbedder
from evals.bench import data as bench_data
from evals.bench import pipeline as bench_pipeline
from evals.bench.latency_queries import LatencyPass, query_variants
from evals.sets import SETS_DIR, load_eval_set


def test_query_variants_keep_history():
    items = load_eval_set(SETS_DIR / "seed_dev.jsonl")
    followup = next(it for it in items if it.history)
    variants = query_variants([items[0], followup], 3)
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

    from embeddings import Index
    from qa.config import get_settings
    from qa.pipeline import QA

    settings = get_settings({"index": {"dir": str(tmp_path / "index-gen-0")}, "embedding": {"model": "hash"}})
    index = Index.load(tmp_path / "index-gen-0", embedder=emb, chunking=settings.chunking)
    passes = [LatencyPass(warmup=[(sentences[0], [])], queries=[(s, []) for s in sentences[1:4]]),
              LatencyPass(warmup=[(sentences[4], [])], queries=[(s, []) for s in sentences[5:8]])]
    lat = bench_pipeline.bench_latency(lambda: QA(settings, index, emb), passes, progress=lambda m: None,
                                       label="tiny")
    stages = lat["stages_ms"]
    assert {"embed", "dense", "bm25", "fuse", "generate", "cite", "end_to_end"} <= set(stages)
    assert stages["end_to_end"]["p50"]["n"] == 2
    assert stages["end_to_end"]["p50"]["median"] >= stages["dense"]["p50"]["median"]
    assert (lat["queries"], lat["warmup"], len(lat["pass_p50_ms"])) == (3, 1, 2)
    assert lat["repeated_ms"]["p50"]["n"] == 2  # each pass's questions asked again, reported apart


def test_subprocesses_run_the_installed_citeqa_script(tmp_path, monkeypatch):
    """Cold start and the UI's memory run the console script beside the interpreter, never ``python -m ui.cli``."""
    venv_bin = tmp_path / "bin"
    venv_bin.mkdir()
    script = venv_bin / "citeqa"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setattr("sys.executable", str(venv_bin / "python"))
    assert bench_pipeline.cli_command() == [str(script)]
    script.unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="no citeqa command"):
        bench_pipeline.cli_command()
