"""``citeqa bench`` section 5: the shipped model on torch vs the product's ONNX Runtime backends, side by side.

The backends are the product's own (``embeddings.onnx_backend.OnnxEmbedder``, what ``embedding.backend =
"onnx"`` / ``"onnx-int8"`` load): speed of bulk encoding (chunks/s) and of single queries, agreement of the
vectors with torch's, and retrieval recall@5 on seed_dev with each backend's vectors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.onnx_backend import INSTALL_HINT, ONNX_BACKENDS, OnnxEmbedder, onnx_available

QUERY_REPEATS = 40


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``a`` with the same row of ``b``."""
    num = np.einsum("ij,ij->i", a, b)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / np.clip(den, 1e-12, None)


def bench_onnx(
    embedder: Any, *, speed_texts: Sequence[str], index_dir: Path, items: Sequence[Any], cache_dir: Path,
    repeats: int, progress: Any,
) -> dict[str, Any]:
    """torch vs the ``onnx`` and ``onnx-int8`` backends for the shipped model: speed, agreement, recall@5.

    Args:
        embedder: the loaded product embedder (any backend; the torch one is loaded from its folder if needed).
        speed_texts: texts to encode for chunks/s (e.g. generated chunk texts).
        index_dir: a seed index; its chunks are re-embedded by every backend for agreement and recall.
        items: seed_dev eval items; answerable ones are used for recall@5.
        cache_dir: citeqa's cache folder (the product's ``embedding.cache_dir``); exports are reused from there.
        repeats: speed repeats; backends alternate within each repeat (side by side).
    """
    from embeddings import Index
    from embeddings.bm25 import BM25Index
    from embeddings.config import ChunkSettings, RetrievalSettings
    from embeddings.faiss_index import DenseIndex
    from embeddings.search import Retriever
    from evals.bench.stats import summarize
    from evals.metrics import doc_recall, evidence_recall
    from qa.rewrite import rewrite_followup

    if not onnx_available():
        return {"skipped": f"onnxruntime/onnx not installed: {INSTALL_HINT}"}
    t0 = time.perf_counter()
    from embeddings.config import EmbeddingSettings
    from embeddings.embedder import SentenceTransformerEmbedder, load_embedder

    torch_emb = embedder if isinstance(embedder, SentenceTransformerEmbedder) else load_embedder(
        EmbeddingSettings(model=str(embedder.path), backend="torch", batch_size=embedder.batch_size))
    embedders: dict[str, Any] = {"torch": torch_emb}
    for name in ONNX_BACKENDS:
        embedders[name] = OnnxEmbedder(Path(embedder.path), model_id=torch_emb.model_id, backend=name,
                                       cache_dir=cache_dir, batch_size=embedder.batch_size)
    load_s = time.perf_counter() - t0  # the export on a first run, loading the cached files afterwards
    backends: dict[str, Any] = {name: emb.embed for name, emb in embedders.items()}
    sizes_mb = {name: emb.onnx_path.stat().st_size / 2**20 for name, emb in embedders.items() if name != "torch"}
    progress(f"onnx: backends ready in {load_s:.1f} s (exports cached in {embedders['onnx'].onnx_path.parent})")

    speed: dict[str, list[float]] = {b: [] for b in backends}
    for r in range(repeats):
        names = list(backends) if r % 2 == 0 else list(reversed(backends))
        for name in names:
            t1 = time.perf_counter()
            backends[name](list(speed_texts))
            speed[name].append(len(speed_texts) / (time.perf_counter() - t1))
        progress(f"onnx speed run {r + 1}/{repeats}: " + ", ".join(f"{b} {v[-1]:.0f}/s" for b, v in speed.items()))

    # One query at a time, as a user asks: backends interleaved per query so load hits them alike.
    query_ms: dict[str, list[float]] = {b: [] for b in backends}
    questions = [it.question for it in items][:QUERY_REPEATS] or ["Where did Macron receive Putin?"]
    for fn in backends.values():
        fn([questions[0]])  # warm
    for q in questions:
        for name, fn in backends.items():
            t1 = time.perf_counter()
            fn([q])
            query_ms[name].append((time.perf_counter() - t1) * 1000)

    index = Index.load(index_dir, embedder=torch_emb, chunking=ChunkSettings())
    chunk_texts = [c.text for c in index.chunks]
    bm25 = BM25Index.build(chunk_texts)
    answerable = [it for it in items if it.answerable and it.docs]
    queries = [rewrite_followup(it.question, it.history_messages()) if it.history else it.question
               for it in answerable]
    vectors = {b: fn(chunk_texts) for b, fn in backends.items()}
    qvecs = {b: fn(queries) for b, fn in backends.items()}
    quality: dict[str, Any] = {}
    for b in backends:
        row: dict[str, Any] = {"chunks_per_s": summarize(speed[b]),
                               "query_ms": {"p50": float(np.percentile(query_ms[b], 50)),
                                            "p95": float(np.percentile(query_ms[b], 95))},
                               "speedup_vs_torch": summarize(s / t for s, t in zip(speed[b], speed["torch"],
                                                                                   strict=True))}
        if b != "torch":
            cos_c = row_cosines(vectors["torch"], vectors[b])
            cos_q = row_cosines(qvecs["torch"], qvecs[b])
            row["cosine_chunks"] = {"min": float(cos_c.min()), "mean": float(cos_c.mean())}
            row["cosine_questions"] = {"min": float(cos_q.min()), "mean": float(cos_q.mean())}
        dense = DenseIndex.build(vectors[b], setting="flat")
        lookup: dict[str, np.ndarray] = dict(zip(queries, qvecs[b], strict=True))
        retriever = Retriever(embed_query=lookup.__getitem__, dense=dense, bm25=bm25,
                              vectors=vectors[b], chunks=index.chunks)
        for mode in ("dense", "hybrid"):
            settings = RetrievalSettings(mode=mode, top_k=5)
            docs, evid = [], []
            for it, q in zip(answerable, queries, strict=True):
                hits = retriever.search(q, settings)
                docs.append(doc_recall(hits, it.docs, k=5))
                ev = evidence_recall(hits, it.evidence, k=5)
                if ev is not None:
                    evid.append(ev)
            row[f"{mode}_doc_recall@5"] = float(np.mean([d for d in docs if d is not None]))
            row[f"{mode}_evidence_recall@5"] = float(np.mean(evid)) if evid else None
        if b in sizes_mb:
            row["file_mb"] = sizes_mb[b]
        quality[b] = row
    return {"export_s": load_s, "cache_dir": str(embedders["onnx"].onnx_path.parent), "speed_texts": len(speed_texts),
            "questions": len(answerable), "query_repeats": len(questions), "backends": quality,
            "note": "The product's embedding.backend = 'onnx' / 'onnx-int8' (embeddings/onnx_backend.py): "
                    "sentence-transformers' own backend='onnx' needs optimum-onnx, whose only release pins "
                    "transformers<4.58 (sentence-transformers 6 needs >=5), so citeqa exports with torch.onnx and "
                    "runs ONNX Runtime itself."}
