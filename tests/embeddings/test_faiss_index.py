"""DenseIndex: every FAISS kind finds the right rows, small collections fall back to flat, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.faiss_index import (
    AUTO_APPROX_THRESHOLD,
    IVF_NPROBE,
    KINDS,
    DenseIndex,
    _ivf_nlist,
    choose_kind,
    choose_params,
)


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


def test_choose_params_auto_at_the_bench_sizes() -> None:
    assert choose_params(10_000, 384).kind == "flat"
    p = choose_params(1_000_000, 384)
    assert (p.kind, p.nlist, p.nprobe, p.train_sample, p.factory) == ("ivfsq8", 1024, IVF_NPROBE, 64 * 1024,
                                                                        "IVF1024,SQ8")
    assert choose_params(100_000, 384).factory == "IVF256,SQ8"
    pq = choose_params(1_000_000, 384, "ivfpq")
    assert (pq.pq_m, pq.pq_nbits, pq.factory) == (96, 8, "IVF1024,PQ96x8")
    assert choose_params(1_000_000, 384, "hnsw").factory == "HNSW32,Flat"
    small = choose_params(300, 384, "ivfsq8")
    assert small.kind == "flat" and small.setting == "ivfsq8" and "too few" in (small.note or "")
    with pytest.raises(ValueError):
        choose_params(10, 384, "lsh")


@pytest.mark.parametrize("setting", ["auto", *KINDS])
def test_built_index_holds_the_chosen_params(setting: str) -> None:
    """What describe() reads back from FAISS is what choose_params promised (the bench reports both)."""
    # auto and the IVF kinds at the threshold (they train), PQ at the fewest vectors its codebooks train on
    n = {"flat": 2_000, "hnsw": 2_000, "ivfpq": 10_000}.get(setting, AUTO_APPROX_THRESHOLD)
    v = unit_vectors(n, dim=8)
    params = choose_params(n, 8, setting)
    built = DenseIndex.build(v, setting=setting).describe()
    assert built["kind"] == params.kind and built["ntotal"] == n and built["dim"] == 8
    for key in ("nlist", "nprobe", "hnsw_m", "ef_construction", "ef_search", "pq_m", "pq_nbits"):
        assert built.get(key) == getattr(params, key), key


def test_build_is_reproducible() -> None:
    import faiss

    v = unit_vectors(AUTO_APPROX_THRESHOLD, dim=8)
    a, b = (faiss.serialize_index(DenseIndex.build(v).index) for _ in range(2))
    assert np.array_equal(a, b)


def test_one_query_runs_on_search_threads_and_restores_the_count() -> None:
    import faiss

    from embeddings.faiss_index import SEARCH_THREADS

    class Recorder:
        ntotal, d = 5, 4

        def __init__(self) -> None:
            self.threads: list[int] = []

        def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            self.threads.append(faiss.omp_get_max_threads())
            return np.ones((1, k), np.float32), np.arange(k, dtype=np.int64)[None]

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        recorder = Recorder()
        DenseIndex(recorder, "flat").search(np.ones(4, np.float32), 3)
        assert recorder.threads == [SEARCH_THREADS]
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)
