"""Embedders: the hash test embedder, model resolution without network, fingerprints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import EmbedderError, EmbeddingSettings, HashEmbedder, load_embedder, model_fingerprint
from embeddings.embedder import Embedder
from embeddings.models import resolve_model_path


def test_hash_embedder_is_deterministic_normalised_float32() -> None:
    emb = HashEmbedder()
    a = emb.embed(["The cat sat on the mat.", "", "Ships cross the ocean."])
    b = HashEmbedder().embed(["The cat sat on the mat.", "", "Ships cross the ocean."])
    assert a.dtype == np.float32 and a.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(a, b)
    assert emb.embed([]).shape == (0, 64)


def test_hash_embedder_similarity_follows_shared_words() -> None:
    v = HashEmbedder().embed(["cats purr and sleep", "a cat purrs while sleeping", "container ships at sea"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_hash_embedder_satisfies_protocol_and_counts_tokens() -> None:
    emb = HashEmbedder()
    assert isinstance(emb, Embedder)
    assert emb.count_tokens("") == 2
    assert emb.count_tokens("Hello, world!") == 2 + 4


def test_load_embedder_hash() -> None:
    emb = load_embedder(EmbeddingSettings(model="hash"))
    assert isinstance(emb, HashEmbedder) and emb.model_id == "hash"


def test_unknown_model_fails_clearly_without_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(EmbedderError, match="not available offline; pass a local folder"):
        resolve_model_path("some-org/definitely-not-a-cached-model")
    with pytest.raises(EmbedderError, match="not available offline"):
        load_embedder(EmbeddingSettings(model="no-such-model-xyz"))


@pytest.mark.slow  # imports torch and sentence-transformers
def test_local_folder_without_a_model_fails_with_embedder_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EmbedderError, match="cannot load"):
        load_embedder(EmbeddingSettings(model=str(tmp_path)))


def test_fingerprints_are_stable_and_distinguish_models() -> None:
    assert model_fingerprint(HashEmbedder()) == model_fingerprint(HashEmbedder())
    assert model_fingerprint(HashEmbedder(dim=64)) != model_fingerprint(HashEmbedder(dim=32))

    class Bare:
        model_id, dim, max_tokens = "bare", 8, 16

    assert len(model_fingerprint(Bare())) == 64  # type: ignore[arg-type]


def test_folder_fingerprint_hashes_weights_and_config(tmp_path: Path) -> None:
    from embeddings.models import _fingerprint_cache, folder_fingerprint

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text('{"hidden": 4}')
        (tmp_path / name / "model.safetensors").write_bytes(b"weights-" + name.encode())
        (tmp_path / name / "README.md").write_text(name)
    fa, fb = folder_fingerprint(tmp_path / "a"), folder_fingerprint(tmp_path / "b")
    assert fa != fb and len(fa) == 64
    _fingerprint_cache.clear()
    (tmp_path / "a" / "README.md").write_text("changed docs do not change the model")
    assert folder_fingerprint(tmp_path / "a") == fa
