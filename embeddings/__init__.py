"""The retrieval layer: embed chunks, keep a FAISS + BM25 index on disk, and search it (dense, BM25, hybrid).

Typical use::

    from embeddings import Index, build_index, load_embedder
    emb = load_embedder(EmbeddingSettings())
    build_index(articles, index_dir=path, embedder=emb, chunking=ChunkSettings(), index_settings=IndexSettings())
    hits = Index.load(path, embedder=emb, chunking=ChunkSettings()).search("question", RetrievalSettings())
"""

from embeddings.config import ChunkSettings, EmbeddingSettings, IndexSettings, RetrievalSettings
from embeddings.embedder import (
    Embedder,
    HashEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
    model_fingerprint,
)
from embeddings.errors import (
    EmbedderError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    NotAnIndexError,
    RetrievalError,
)
from embeddings.store import BuildReport, Index, IndexCheck, build_index, check_index, remove_articles
from embeddings.types import Hit

__all__ = [
    "BuildReport",
    "ChunkSettings",
    "Embedder",
    "EmbedderError",
    "EmbeddingSettings",
    "HashEmbedder",
    "Hit",
    "Index",
    "IndexBusyError",
    "IndexCheck",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSettings",
    "NotAnIndexError",
    "RetrievalError",
    "RetrievalSettings",
    "SentenceTransformerEmbedder",
    "build_index",
    "load_embedder",
    "check_index",
    "model_fingerprint",
    "remove_articles",
]
