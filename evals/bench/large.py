"""The bench's 100k-chunk index (section 4, full run): generated articles with real chunking, BM25 and FAISS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def load_index(index_dir: Path, embedder: Any) -> Any:
    """The index at ``index_dir`` as the product loads it (the bench never reads index files itself)."""
    from embeddings import ChunkSettings, Index

    return Index.load(index_dir, embedder=embedder, chunking=ChunkSettings())


def build_large(target_chunks: int, state: dict[str, Any], work: Path, bar: Any) -> tuple[Path, dict[str, Any]]:
    """An index of ~``target_chunks`` chunks of generated articles, built with real chunking, BM25 and FAISS
    but vectors from ``SentenceMeanEmbedder`` (embedding 100k chunks with the model would take longer than the
    rest of the run: see section 1's chunks/s)."""
    from embeddings import ChunkSettings, IndexSettings, build_index
    from evals.bench.data import generate_articles
    from evals.bench.pipeline import SentenceMeanEmbedder

    emb = state["emb"]
    sentence_vectors = dict(zip(state["sentences"], emb.embed(state["sentences"]), strict=True))
    fake = SentenceMeanEmbedder(emb, sentence_vectors)
    probe = generate_articles(state["sentences"], 200, seed=999, prefix="probe")
    from evals.bench.pipeline import chunk_all

    per_article = max(len(chunk_all(probe, emb, ChunkSettings())) / len(probe), 1.0)
    n_articles = int(target_chunks / per_article) + 1
    articles = generate_articles(state["sentences"], n_articles, seed=4242, prefix="large")
    large_dir = work / "index-large"
    t0 = time.perf_counter()
    report = build_index(articles, index_dir=large_dir, embedder=fake, chunking=ChunkSettings(),
                         index_settings=IndexSettings(faiss="auto"), progress=False)
    info = {"articles": n_articles, "chunks": report.chunks, "build_s": time.perf_counter() - t0,
            "faiss": load_index(large_dir, emb).manifest.get("faiss_type"),
            "disk_mb": sum(p.stat().st_size for p in large_dir.rglob("*") if p.is_file()) / 2**20,
            "vectors": "mean of the real embeddings of each chunk's sentences plus noise (SentenceMeanEmbedder)"}
    bar(f"memory: built a {report.chunks:,}-chunk index ({n_articles:,} articles) in {info['build_s']:.0f} s")
    return large_dir, info
