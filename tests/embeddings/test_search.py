"""Hybrid search: RRF arithmetic, MMR, modes, ranks and titles on hits, and no disk I/O at query time."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import numpy as np
import pytest

from embeddings import Index, RetrievalSettings
from embeddings.search import mmr_select, rrf_fuse


def test_rrf_fuse_weights_and_ranks() -> None:
    fused = rrf_fuse([(np.array([10, 20]), 1.0), (np.array([20, 30]), 2.0)], rrf_k=60)
    assert fused[10] == pytest.approx(1 / 61)
    assert fused[20] == pytest.approx(1 / 62 + 2 / 61)
    assert fused[30] == pytest.approx(2 / 62)
    assert rrf_fuse([(np.array([1]), 0.0)], rrf_k=60) == {}


def test_mmr_prefers_diverse_candidates() -> None:
    vectors = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)  # rows 0 and 1 are duplicates
    relevance = np.array([1.0, 0.95, 0.6], dtype=np.float32)
    assert mmr_select([0, 1, 2], relevance, vectors, k=2, lambda_=0.5) == [0, 2]
    assert mmr_select([0, 1, 2], relevance, vectors, k=2, lambda_=1.0) == [0, 1]


def load(index_dir: Path, embedder, chunking) -> Index:
    return Index.load(index_dir, embedder=embedder, chunking=chunking)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_find_the_right_article(built_index: Path, embedder, chunking, mode: str) -> None:
    index = load(built_index, embedder, chunking)
    hits = index.search("volcano eruption ash in Iceland", RetrievalSettings(mode=mode), k=3)
    assert hits and hits[0].doc_id == "volcano.txt"
    assert hits[0].title == "Volcanoes"
    for hit in hits:
        assert index.articles[hit.doc_id].text[hit.start : hit.end] == hit.text
        if mode == "dense":
            assert hit.dense_rank is not None and hit.bm25_rank is None
        if mode == "bm25":
            assert hit.bm25_rank is not None and hit.dense_rank is None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_records_both_ranks_and_fused_score(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    s = RetrievalSettings(mode="hybrid")
    top = index.search("sourdough bread oven", s, k=1)[0]
    assert top.doc_id == "bread.txt" and top.dense_rank and top.bm25_rank
    expected = s.dense_weight / (s.rrf_k + top.dense_rank) + s.bm25_weight / (s.rrf_k + top.bm25_rank)
    assert top.score == pytest.approx(expected)


def test_bm25_weight_zero_is_dense_order(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    q = "ships in the harbour"
    dense = index.search(q, RetrievalSettings(mode="dense"), k=5)
    fused = index.search(q, RetrievalSettings(mode="hybrid", bm25_weight=0.0), k=5)
    assert [(h.doc_id, h.start) for h in dense] == [(h.doc_id, h.start) for h in fused]
    assert all(h.bm25_rank is None for h in fused)  # a zero-weight retriever is not even run


def test_dense_weight_zero_skips_query_embedding(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    calls = []
    index.embedder = type("Spy", (), {"embed": lambda self, texts, **kw: calls.append(texts)})()
    hits = index.search("ships in the harbour", RetrievalSettings(mode="hybrid", dense_weight=0.0), k=3)
    assert hits and calls == [] and all(h.dense_rank is None for h in hits)


def test_query_with_no_known_terms(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    assert index.search("zzzz qqqq", RetrievalSettings(mode="bm25")) == []
    hits = index.search("zzzz qqqq", RetrievalSettings(mode="hybrid"), k=3)
    assert len(hits) == 3 and all(h.bm25_rank is None for h in hits)
    assert index.search("   ", RetrievalSettings()) == []


def test_mmr_returns_k_distinct_hits(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    hits = index.search("cat", RetrievalSettings(mmr=True, mmr_lambda=0.3), k=4)
    assert len(hits) == 4 and len({(h.doc_id, h.start) for h in hits}) == 4
    hits, timings = index.search_timed("cat", RetrievalSettings(mmr=True), k=4)
    assert set(timings) == {"embed", "dense", "bm25", "fuse", "mmr"} and timings["mmr"] > 0


def test_k_defaults_to_top_k_and_can_exceed_candidates(built_index: Path, embedder, chunking) -> None:
    index = load(built_index, embedder, chunking)
    assert len(index.search("bread", RetrievalSettings(top_k=2))) == 2
    n = len(index.chunks)
    assert len(index.search("bread", RetrievalSettings(mode="dense", candidates=1), k=n + 5)) == n


def test_query_path_does_no_disk_io(built_index: Path, embedder, chunking, monkeypatch: pytest.MonkeyPatch) -> None:
    index = load(built_index, embedder, chunking)

    def forbidden(*args, **kwargs):
        raise AssertionError(f"disk I/O at query time: {args[:1]}")

    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(os, "open", forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    for mode in ("dense", "bm25", "hybrid"):
        assert index.search("cargo ships", RetrievalSettings(mode=mode, mmr=True))
