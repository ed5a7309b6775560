"""ONNX Runtime embedding of the shipped model, exported offline from its weights, against the torch backend.

Why not sentence-transformers' ``backend="onnx"``: it needs ``optimum-onnx[onnxruntime]``, whose only
release (0.1.0) pins ``transformers<4.58`` while sentence-transformers 6 needs ``transformers>=5``; pip
would downgrade transformers (and huggingface-hub) under sentence-transformers. ``onnxruntime`` and
``onnx`` alone install cleanly (no torch, no transformers), so this module exports the model with
``torch.onnx.export`` (TorchScript exporter: no onnxscript needed) and runs it with ONNX Runtime directly:
tokenizer → BERT → mean pooling → L2 normalisation, exactly the shipped model's three modules.

The export is cached under ``<cache_dir>/<model fingerprint[:16]>/`` (``model.onnx`` and, with dynamic
int8 quantization of the weights, ``model_qint8.onnx``); nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

OPSET = 17
INSTALL_HINT = "pip install onnxruntime onnx  (no torch or transformers change)"


def onnx_available() -> bool:
    """True when onnxruntime and onnx can be imported."""
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def export_onnx(model_dir: Path, cache_dir: Path, *, fingerprint: str, quantize: bool = True) -> dict[str, Path]:
    """Export the transformer of a sentence-transformers model folder to ONNX (and int8), cached.

    Args:
        model_dir: the local model folder (e.g. the shipped all-MiniLM-L6-v2).
        cache_dir: where exports are kept; a sub-folder per model fingerprint.
        fingerprint: identifies the weights (``embeddings.embedder.model_fingerprint``).
        quantize: also write a dynamically int8-quantized copy (MatMul weights int8 per channel, activations
            quantized on the fly).

    Returns:
        ``{"fp32": path}`` and, with ``quantize``, ``{"int8": path}``.
    """
    import torch
    from transformers import AutoModel

    out = Path(cache_dir) / fingerprint[:16]
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model.onnx"
    if not fp32.is_file():
        bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        bert.eval()
        model = _LastHidden(bert)
        dummy = {
            "input_ids": torch.ones((2, 16), dtype=torch.long),
            "attention_mask": torch.ones((2, 16), dtype=torch.long),
            "token_type_ids": torch.zeros((2, 16), dtype=torch.long),
        }
        axes = {name: {0: "batch", 1: "seq"} for name in dummy}
        axes["last_hidden_state"] = {0: "batch", 1: "seq"}
        tmp = out / "model.onnx.tmp"
        with torch.no_grad():
            torch.onnx.export(
                model, tuple(dummy.values()), str(tmp), input_names=list(dummy), output_names=["last_hidden_state"],
                dynamic_axes=axes, opset_version=OPSET, dynamo=False,
            )
        tmp.replace(fp32)  # atomic: a killed export never leaves a half-written model.onnx
        logger.info("exported %s to %s", model_dir, fp32)
    paths = {"fp32": fp32}
    if quantize:
        q8 = out / "model_qint8.onnx"
        if not q8.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = out / "model_qint8.onnx.tmp"
            # Per-channel weight scales on the MatMuls only: per-tensor scales (the default) cost a mean cosine
            # of ~0.96 to the fp32 vectors on the seed sentences, per-channel ~0.99.
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
            tmp.replace(q8)
        paths["int8"] = q8
    return paths


def _last_hidden_module() -> Any:
    import torch

    class LastHidden(torch.nn.Module):
        """Positional inputs in, last hidden state out: the TorchScript tracer wants plain tensors."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    return LastHidden


def _LastHidden(bert: Any) -> Any:  # noqa: N802 - reads as the class it builds
    return _last_hidden_module()(bert)


class OrtEmbedder:
    """Mean-pooled, normalised sentence embeddings from an exported BERT run by ONNX Runtime.

    Args:
        onnx_path: the exported model.
        tokenizer: the sentence-transformers model's (fast) tokenizer.
        max_tokens: truncation length (the model's ``max_seq_length``, 256).
        batch_size: texts per inference call; texts are sorted by length first, as sentence-transformers does.
        threads: ONNX Runtime intra-op threads (0 = its default: one per core).
    """

    def __init__(self, onnx_path: Path, tokenizer: Any, *, max_tokens: int = 256, batch_size: int = 64,
                 threads: int = 0) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dim), in the order of ``texts``."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        for i in range(0, len(texts), self.batch_size):
            rows = order[i : i + self.batch_size]
            enc = self.tokenizer([texts[r] for r in rows], padding=True, truncation=True,
                                 max_length=self.max_tokens, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self._inputs}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"].astype(np.float32)[..., None]
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for r, v in zip(rows, pooled, strict=True):
                out[int(r)] = v
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``a`` with the same row of ``b``."""
    num = np.einsum("ij,ij->i", a, b)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / np.clip(den, 1e-12, None)


def bench_onnx(
    embedder: Any, *, speed_texts: Sequence[str], index_dir: Path, items: Sequence[Any], cache_dir: Path,
    repeats: int, progress: Any,
) -> dict[str, Any]:
    """torch vs ONNX fp32 vs ONNX int8 for the shipped model: speed, agreement, retrieval recall@5.

    Args:
        embedder: the loaded ``SentenceTransformerEmbedder`` (torch backend).
        speed_texts: texts to encode for chunks/s (e.g. generated chunk texts).
        index_dir: a seed index; its chunks are re-embedded by every backend for agreement and recall.
        items: seed_dev eval items; answerable ones are used for recall@5.
        cache_dir: export cache folder.
        repeats: speed repeats; backends alternate within each repeat (side by side).
    """
    import time

    from embeddings.bm25 import BM25Index
    from embeddings.config import ChunkSettings, RetrievalSettings
    from embeddings.embedder import model_fingerprint
    from embeddings.faiss_index import DenseIndex
    from embeddings.search import Retriever
    from embeddings.store import Index
    from evals.bench_stats import summarize
    from evals.metrics import doc_recall, evidence_recall
    from qa.rewrite import rewrite_followup

    if not onnx_available():
        return {"skipped": f"onnxruntime/onnx not installed: {INSTALL_HINT}"}
    t0 = time.perf_counter()
    paths = export_onnx(Path(embedder.path), cache_dir, fingerprint=model_fingerprint(embedder))
    export_s = time.perf_counter() - t0
    threads = 0
    backends: dict[str, Any] = {"torch": embedder.embed}
    for name, path in paths.items():
        ort_emb = OrtEmbedder(path, embedder.model.tokenizer, max_tokens=embedder.max_tokens,
                              batch_size=embedder.batch_size, threads=threads)
        backends[f"onnx_{name}"] = ort_emb.embed
    sizes_mb = {f"onnx_{k}": p.stat().st_size / 2**20 for k, p in paths.items()}
    progress(f"onnx: exported in {export_s:.1f} s (cached in {paths['fp32'].parent})")

    speed: dict[str, list[float]] = {b: [] for b in backends}
    for r in range(repeats):
        names = list(backends) if r % 2 == 0 else list(reversed(backends))
        for name in names:
            t1 = time.perf_counter()
            backends[name](list(speed_texts))
            speed[name].append(len(speed_texts) / (time.perf_counter() - t1))
        progress(f"onnx speed run {r + 1}/{repeats}: " + ", ".join(f"{b} {v[-1]:.0f}/s" for b, v in speed.items()))

    index = Index.load(index_dir, embedder=embedder, chunking=ChunkSettings())
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
    return {"export_s": export_s, "cache_dir": str(paths["fp32"].parent), "speed_texts": len(speed_texts),
            "questions": len(answerable), "threads": threads or os.cpu_count(), "backends": quality,
            "note": "sentence-transformers backend='onnx' needs optimum-onnx, whose only release pins "
                    "transformers<4.58 (sentence-transformers 6 needs >=5): exported with torch.onnx and run "
                    "with onnxruntime directly instead."}
