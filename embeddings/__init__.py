"""The retrieval layer: embed chunks, keep a FAISS + BM25 index on disk, and search it (dense, BM25, hybrid).

Typical use::

    from embeddings import Index, build_index, load_embedder
    emb = load_embedder(EmbeddingSettings())
    build_index(articles, index_dir=path, embedder=emb, chunking=ChunkSettings(), index_settings=IndexSettings())
    hits = Index.load(path, embedder=emb, chunking=ChunkSettings()).search("question", RetrievalSettings())

Modules: ``models`` (model folders, fingerprints), ``embedder`` + ``onnx_backend`` (the Embedder backends),
``layout`` (the index format on disk), ``build`` (the resumable atomic builder), ``index`` (the loaded Index)
with ``search``, ``faiss_index`` and ``bm25`` under it, ``checkpoint`` and ``atomic`` under the builder;
``milvus_store`` and ``milvus_search`` the Milvus store (``IndexSettings.store = "milvus"``, imported only then).
"""

from embeddings.build import BuildReport, build_index, remove_articles
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
    StoreUnavailableError,
)
from embeddings.index import Index, IndexCheck, check_index
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
    "StoreUnavailableError",
    "build_index",
    "load_embedder",
    "check_index",
    "model_fingerprint",
    "remove_articles",
]
