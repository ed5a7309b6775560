"""evals.bench.run: the plans, section selection, and one section end to end with the hash embedder.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import json

import pytest

from embeddings.embedder import HashEmbedder
from embeddings.faiss_index import AUTO_APPROX_THRESHOLD, KINDS
from evals.bench.run import FULL, QUICK, BenchPlan, run_plan


def test_plans():
    assert 1_000_000 in FULL.vector_sizes and set(FULL.vector_settings) == {"auto", *KINDS}
    assert max(QUICK.vector_sizes) < 1_000_000  # the quick run never builds a 1M-vector index
    assert QUICK.large_chunks == 0 and not QUICK.ui_memory and not QUICK.vector_sweep
    assert "auto" in QUICK.vector_settings and "flat" in QUICK.vector_settings
    assert max(QUICK.vector_sizes) >= AUTO_APPROX_THRESHOLD  # quick still measures auto's approximate index


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


def test_index_facts_come_through_the_index_api(sentences, tmp_path):
    """Chunk counts and chunk texts are read with Index.load (the product's API), not from the index files."""
    from embeddings import ChunkSettings, IndexSettings, build_index
    from evals.bench import data as bench_data
    from evals.bench.run import _chunk_count, _gen_chunk_texts

    emb = HashEmbedder()
    articles = bench_data.generate_articles(sentences, 3, seed=1)
    report = build_index(articles, index_dir=tmp_path / "ix", embedder=emb, chunking=ChunkSettings(),
                         index_settings=IndexSettings(), progress=False)
    assert _chunk_count(tmp_path / "ix", emb) == report.chunks > 3
    texts = _gen_chunk_texts(tmp_path / "ix", 3, emb)
    assert len(texts) == 3 and all(any(t in a.text for a in articles) for t in texts)
    assert _gen_chunk_texts(tmp_path / "missing", 3, emb) == []


@pytest.mark.heavy
def test_run_plan_measures_with_the_config_settings(tmp_path, monkeypatch):
    """With a settings file, the seed index is built with its embedding model and the latency section answers
    with its answer settings (before, the bench used the defaults whatever --config said)."""
    monkeypatch.delenv("CITEQA_CONFIG", raising=False)
    cfg = tmp_path / "cfg.json"
    # nothing refused (with the default answer settings, 2 of these 3 questions are refused on the hash embedder)
    cfg.write_text(json.dumps({"embedding": {"model": "hash"},
                               "answer": {"refusal_threshold": 0.0, "answerability": False}}), encoding="utf-8")
    plan = BenchPlan(anchor_texts=20, latency_items=3, latency_variants=1, latency_passes=1)
    result = run_plan(plan, quick=True, out_dir=tmp_path / "out", progress=False, sections=["latency"],
                      config=cfg)
    assert result["errors"] == {}
    assert result["meta"]["config"] == str(cfg.resolve()) and result["meta"]["embedding_model"] == "hash"
    seed = result["latency"]["seed"]
    assert seed["queries"] == 3 and seed["refused_last_pass"] == 0
    assert "CITEQA_CONFIG" not in __import__("os").environ  # put back as it was
    assert f"Settings: `{cfg.resolve()}`" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_run_plan_stops_on_a_config_it_cannot_read(tmp_path):
    from corpus.errors import CiteqaError

    with pytest.raises(CiteqaError, match="missing.json"):
        run_plan(QUICK, quick=True, out_dir=tmp_path / "out", progress=False, sections=["latency"],
                 config=tmp_path / "missing.json")
    assert not (tmp_path / "out").exists()
