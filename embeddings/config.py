"""Settings of the retrieval layer (sections of ``qa.Settings``). Only qa/config.py reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: 'all-MiniLM-L6-v2' (shipped, offline) or any sentence-transformers "
        "model name already in the local cache, or a local model folder.",
    )
    backend: Literal["onnx", "torch", "onnx-int8"] = Field(
        "onnx",
        description="Inference backend. 'onnx' (default) runs an ONNX export of the model's weights with ONNX Runtime: "
        "the torch model's vectors (same index, same answers) without importing torch, so `citeqa ask` starts "
        "faster in less memory (`citeqa bench` measures both). 'torch' runs sentence-transformers on PyTorch. "
        "'onnx-int8' quantises the weights to int8: faster indexing and queries, slightly lower recall on seed_dev, "
        "needs its own index (`citeqa index --rebuild`). The ONNX export is made offline on first use (seconds) and "
        "cached. Models the ONNX path cannot reproduce (not mean-pooled) run on torch when the backend is left at "
        "its default.",
    )
    cache_dir: Path | None = Field(
        None, description="Where ONNX exports are cached. Default: <data dir>/cache (CITEQA_HOME or the user data "
        "dir); outside qa.Settings, the user cache dir.",
    )
    batch_size: int = Field(
        32, ge=1, description="Texts per encoding batch. Activations grow with batch x length^2, so a larger "
        "batch costs memory without embedding faster on a CPU (`citeqa bench` measures speed and peak memory).",
    )


class ChunkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(128, ge=16, description="Target chunk size in the embedding model's tokens.")
    overlap: int = Field(32, ge=0, description="Tokens of overlap between consecutive chunks (whole sentences).")


class IndexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dir: Path | None = Field(
        None, description="Index folder. Default: <user data dir>/citeqa/index (env CITEQA_INDEX_DIR)."
    )
    faiss: Literal["auto", "flat", "hnsw", "ivf", "ivfsq8", "ivfpq"] = Field(
        "auto",
        description="FAISS index type; 'auto' = exact ('flat') below 50,000 chunks, 'ivfsq8' (IVF, 8-bit "
        "scalar-quantised vectors, nprobe 32) from there on. `citeqa bench --sections vectors` measures the "
        "latency, recall against exact search and memory of every type.",
    )
    store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where chunks and vectors are searched: 'faiss' (default: FAISS + BM25 files in the index "
        "folder, one process) or 'milvus' (a Milvus collection at `milvus_uri`: dense + built-in BM25 full-text "
        "search fused by Milvus's RRF ranker; the index folder keeps the articles, chunk spans, vectors and "
        "manifest for exact citations and incremental updates). Needs the [scale] extra.",
    )
    milvus_uri: str | None = Field(
        None,
        description="Milvus to use with store='milvus': a server URL (http://host:19530, Milvus Standalone, "
        "Distributed or Zilliz Cloud) or a Milvus Lite file path (e.g. ./citeqa-milvus.db; development only).",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Milvus token ('user:password' or an API key); never logged or written to the manifest.",
    )
    milvus_collection: str | None = Field(
        None, description="Collection name. Default: 'citeqa_' + a hash of the index folder (one per index).",
    )
    milvus_timeout: float = Field(10.0, gt=0, description="Seconds to wait for Milvus to connect or answer a call.")
    sentence_vectors: bool = Field(
        True,
        description="Store every sentence's embedding in the index (sentence_vectors.bin, 4 bytes x dim per "
        "sentence), so an answer reads the vectors of the sentences it retrieves instead of embedding them; off: "
        "they are embedded on first use (as for an index built before they were stored).",
    )
    milvus_consistency: Literal["Strong", "Session", "Bounded", "Eventually"] = Field(
        "Strong",
        description="Read consistency of the answer path's Milvus searches. 'Strong' (default) sees every write "
        "acknowledged before the search (an index just updated answers with its new articles at once) but waits "
        "for the server's clock per search; 'Bounded' reads a snapshot at most a few seconds old (faster; a chunk "
        "of an article updated seconds ago may be missing, never a wrong quote: hits are checked against the "
        "loaded articles).",
    )


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(5, ge=1, le=100, description="Chunks handed to the generator.")
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Which retrievers to use.")
    candidates: int = Field(50, ge=1, description="Candidates each retriever contributes before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    mmr: bool = Field(False, description="Re-rank fused candidates with maximal marginal relevance for diversity.")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="MMR trade-off: 1 = relevance only, 0 = diversity only.")
    two_hop: bool = Field(
        True,
        description="Two-hop questions ('... the president who settled the dispute ...', '... the president elected "
        "in 2012 ...'): resolve the nested description from the sentences found for it, search again with the name "
        "found in its place and answer from that search plus the bridge sentence, citing both (qa/multihop.py). On by "
        "default: seed_dev contains 0.764 -> 0.792 and false refusals 0.097 -> 0.069; seed_dev2 and the SQuAD 2.0 "
        "sample unchanged.",
    )
    compare_sources: bool = Field(
        True,
        description="Questions comparing two or more sources the index's articles name ('How do <author> and the "
        "<outlet> article differ on X?'): each source's article gives its own sentence closest to X, and the answer "
        "cites every source (qa/comparison.py).",
    )
