"""DenseIndex: every FAISS kind finds the right rows, small collections fall back to flat, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.faiss_index import AUTO_APPROX_THRESHOLD, DenseIndex, _ivf_nlist, choose_kind


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_choose_kind_auto_threshold() -> None:
    assert choose_kind(10, "auto") == "flat"
    assert choose_kind(AUTO_APPROX_THRESHOLD - 1, "auto") == "flat"
    assert choose_kind(AUTO_APPROX_THRESHOLD, "auto") == "ivfsq8"
    assert [_ivf_nlist(n) for n in (1_000, 50_000, 100_000, 1_000_000)] == [32, 256, 256, 1024]
    assert choose_kind(10, "ivf") == "ivf"
    with pytest.raises(ValueError):
        choose_kind(10, "lsh")


@pytest.mark.parametrize("setting", ["flat", "hnsw", "auto"])
def test_exact_kinds_find_the_query_vector_first(setting: str, tmp_path: Path) -> None:
    v = unit_vectors(500)
    index = DenseIndex.build(v, setting=setting)
    scores, rows = index.search(v[42], 5)
    assert rows[0] == 42 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    index.save(tmp_path / "f.index")
    again = DenseIndex.load(tmp_path / "f.index", index.kind)
    np.testing.assert_array_equal(again.search(v[42], 5)[1], rows)


@pytest.mark.parametrize("setting", ["ivf", "ivfsq8", "ivfpq"])
def test_ivf_kinds_fall_back_to_flat_on_small_collections(setting: str) -> None:
    index = DenseIndex.build(unit_vectors(300), setting=setting)
    assert index.kind == "flat"


# PQ training: ~20 s
@pytest.mark.parametrize("setting", ["ivf", "ivfsq8", pytest.param("ivfpq", marks=pytest.mark.slow)])
def test_ivf_kinds_train_on_large_collections(setting: str, tmp_path: Path) -> None:
    v = unit_vectors(30_000, dim=16)
    index = DenseIndex.build(v, setting=setting)
    assert index.kind == setting
    assert 7 in index.search(v[7], 10)[1]
    assert index.stored_vectors() is None  # IVF keeps no raw vectors: the store supplies its own copy
    index.save(tmp_path / "f.index")
    assert 7 in DenseIndex.load(tmp_path / "f.index", setting).search(v[7], 10)[1]


def test_stored_vectors_is_a_view_of_the_index_data() -> None:
    v = unit_vectors(50)
    for setting in ("flat", "hnsw"):
        stored = DenseIndex.build(v, setting=setting).stored_vectors()
        assert stored is not None
        np.testing.assert_array_equal(stored, v)


def test_k_larger_than_collection_and_empty_index() -> None:
    v = unit_vectors(3)
    assert len(DenseIndex.build(v).search(v[0], 10)[1]) == 3
    empty = DenseIndex.build(np.zeros((0, 32), np.float32))
    assert empty.ntotal == 0 and len(empty.search(v[0], 5)[1]) == 0
