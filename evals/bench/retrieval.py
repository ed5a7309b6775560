"""Benchmark the retrieval layer with the shipped all-MiniLM-L6-v2 and print a Markdown report.

(a) Indexing throughput: ``build_index`` over the seed articles replicated to N articles (distinct doc_ids),
    against a bare ``SentenceTransformer.encode(chunk_texts, batch_size=64)`` of the same chunk texts in the
    same process. Median of R runs each, interleaved so that machine load drifts hit both alike.
    Target: the pipeline loses at most 15 % of the bare throughput.
(b) Warm search latency: p50/p95 over Q queries on the seed index, per retrieval mode, with per-stage medians.
    Target: hybrid p50 < 30 ms.

Usage:
    .venv/bin/python -m evals.bench.retrieval [--articles 200] [--runs 3] [--queries 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import embeddings.embedder as embedder_module
from corpus.load import bundled_corpus_dir, load_articles
from corpus.types import Article
from embeddings import (
    ChunkSettings,
    EmbeddingSettings,
    Index,
    IndexSettings,
    RetrievalSettings,
    build_index,
    load_embedder,
)
from embeddings.embedder import SentenceTransformerEmbedder


def replicate(seeds: list[Article], n: int) -> list[Article]:
    """``n`` articles cycling through the seeds, each with its own doc_id."""
    return [replace(seeds[i % len(seeds)], doc_id=f"rep{i // len(seeds):04d}/{seeds[i % len(seeds)].doc_id}")
            for i in range(n)]


class TimedEmbedder:
    """Wraps an embedder and accumulates the seconds spent in ``embed``."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens
        self.embed_seconds = 0.0

    def embed(self, texts, *, progress: bool = False) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed(texts, progress=progress)
        self.embed_seconds += time.perf_counter() - t0
        return out

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def fingerprint(self) -> str:
        return self.inner.fingerprint()


def bench_indexing(emb: SentenceTransformerEmbedder, articles: list[Article], runs: int) -> dict:
    chunking, settings = ChunkSettings(), IndexSettings()
    pipeline, bare, embed_share = [], [], []
    texts: list[str] = []
    n_chunks = 0
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            timed = TimedEmbedder(emb)
            t0 = time.perf_counter()
            report = build_index(articles, index_dir=Path(tmp) / "index", embedder=timed,  # type: ignore[arg-type]
                                 chunking=chunking, index_settings=settings, progress=False)
            seconds = time.perf_counter() - t0
            n_chunks = report.chunks
            pipeline.append(n_chunks / seconds)
            embed_share.append(timed.embed_seconds / seconds)
            if not texts:
                texts = [c.text for c in Index.load(Path(tmp) / "index", embedder=emb, chunking=chunking).chunks]
        t0 = time.perf_counter()
        emb.model.encode(texts, batch_size=64)
        bare.append(len(texts) / (time.perf_counter() - t0))
        print(f"  run {run + 1}: pipeline {pipeline[-1]:.1f} chunks/s, bare encode {bare[-1]:.1f} chunks/s",
              file=sys.stderr)
    p, b = statistics.median(pipeline), statistics.median(bare)
    return {"articles": len(articles), "chunks": n_chunks, "pipeline_chunks_per_s": p, "bare_chunks_per_s": b,
            "ratio": p / b, "loss": 1 - p / b,
            "paired_ratio": statistics.median(x / y for x, y in zip(pipeline, bare, strict=True)),
            "embed_share_of_build": statistics.median(embed_share),
            "pipeline_runs": pipeline, "bare_runs": bare}


def make_queries(articles: list[Article], n: int, seed: int = 0) -> list[str]:
    """Questions-like queries drawn from the seed sentences: 5-12 consecutive words of a random sentence."""
    rng = random.Random(seed)
    sentences = [s for a in articles for s in re.split(r"(?<=[.!?])\s+", a.text) if len(s.split()) >= 6]
    queries = ["Where did Macron receive Putin in 2017?"]
    while len(queries) < n:
        words = rng.choice(sentences).split()
        k = rng.randint(5, min(12, len(words)))
        i = rng.randint(0, len(words) - k)
        queries.append(" ".join(words[i : i + k]))
    return queries


def bench_search(index: Index, queries: list[str], settings: RetrievalSettings) -> dict:
    for q in queries[:10]:
        index.search(q, settings)
    totals, stages = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, timings = index.search_timed(q, settings)
        totals.append((time.perf_counter() - t0) * 1e3)
        stages.append(timings)
    out = {"p50_ms": float(np.percentile(totals, 50)), "p95_ms": float(np.percentile(totals, 95))}
    for stage in stages[0]:
        out[f"{stage}_p50_ms"] = float(np.median([s[stage] for s in stages]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-indexing", action="store_true", help="only measure search latency")
    args = parser.parse_args()

    import torch

    t0 = time.perf_counter()
    emb = load_embedder(EmbeddingSettings(backend="torch"))
    assert isinstance(emb, SentenceTransformerEmbedder)
    load_s = time.perf_counter() - t0
    seeds = load_articles([bundled_corpus_dir()]).articles
    print(f"model loaded in {load_s:.1f} s; torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)

    indexing = None if args.skip_indexing else bench_indexing(emb, replicate(seeds, args.articles), args.runs)

    search: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        build_index(seeds, index_dir=Path(tmp) / "index", embedder=emb, chunking=ChunkSettings(),
                    index_settings=IndexSettings(), progress=False)
        t0 = time.perf_counter()
        index = Index.load(Path(tmp) / "index", embedder=emb, chunking=ChunkSettings())
        index_load_ms = (time.perf_counter() - t0) * 1e3
        queries = make_queries(seeds, args.queries)
        for name, settings in [("hybrid", RetrievalSettings()), ("dense", RetrievalSettings(mode="dense")),
                               ("bm25", RetrievalSettings(mode="bm25")),
                               ("hybrid + MMR", RetrievalSettings(mmr=True))]:
            search[name] = bench_search(index, queries, settings)
        # The query path encodes on one torch thread (embeddings.embedder.QUERY_TORCH_THREADS); compare with
        # torch's default thread count.
        default_threads = embedder_module.QUERY_TORCH_THREADS
        embedder_module.QUERY_TORCH_THREADS = torch.get_num_threads()
        search[f"hybrid, query on {torch.get_num_threads()} torch threads"] = bench_search(
            index, queries, RetrievalSettings())
        embedder_module.QUERY_TORCH_THREADS = default_threads

    load_avg = os.getloadavg()[0]
    lines = [f"## Retrieval benchmark ({os.cpu_count()} CPUs, load average {load_avg:.1f} at the end)", ""]
    if indexing:
        ix = indexing
        lines += [
            f"### Indexing: {ix['articles']} articles, {ix['chunks']} chunks, median of {args.runs} runs",
            "",
            "| | chunks/s |",
            "| --- | ---: |",
            f"| `build_index` (chunk + embed + FAISS + BM25 + atomic write) | {ix['pipeline_chunks_per_s']:.1f} |",
            f"| bare `SentenceTransformer.encode(batch_size=64)` | {ix['bare_chunks_per_s']:.1f} |",
            f"| pipeline / bare (medians) | {ix['ratio']:.3f} (loss {ix['loss']:.1%}, target <= 15%) |",
            f"| pipeline / bare, median of paired runs | {ix['paired_ratio']:.3f} |",
            f"| time outside embedding (chunking, BM25, FAISS, writes) | {1 - ix['embed_share_of_build']:.1%} |",
            "",
        ]
    lines += [
        f"### Warm search latency: {args.queries} queries on the seed index ({len(index.chunks)} chunks; "
        f"index load {index_load_ms:.0f} ms)",
        "",
        "| mode | p50 ms | p95 ms | embed | dense | bm25 | fuse | mmr |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in search.items():
        lines.append(f"| {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['embed_p50_ms']:.1f} | "
                     f"{r['dense_p50_ms']:.2f} | {r['bm25_p50_ms']:.2f} | {r['fuse_p50_ms']:.2f} | "
                     f"{r['mmr_p50_ms']:.2f} |")
    lines.append("")
    lines.append("Stage columns are medians in ms. Target: hybrid p50 < 30 ms.")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"indexing": indexing, "search": search, "load_average": load_avg},
                                        indent=2))


if __name__ == "__main__":
    main()
