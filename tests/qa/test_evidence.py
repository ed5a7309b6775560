"""The vector cache shared by retrieval, generation and citation (and by every copy of a QA)."""

from __future__ import annotations

import threading

import numpy as np

from embeddings import HashEmbedder
from qa.evidence import CachedEmbedder


def test_cache_smaller_than_one_call_still_returns_every_vector() -> None:
    inner = HashEmbedder()
    texts = [f"sentence number {i} about Moscow" for i in range(5)]
    cached = CachedEmbedder(inner, cache_size=2)
    assert np.allclose(cached.embed(texts), inner.embed(texts))
    assert np.allclose(cached.embed(texts[::-1]), inner.embed(texts[::-1]))


def test_threads_sharing_a_small_cache() -> None:
    inner = HashEmbedder()
    cached = CachedEmbedder(inner, cache_size=8)
    texts = [f"text {i} of the Versailles meeting" for i in range(40)]
    expected = inner.embed(texts)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for r in range(30):
                idx = [(offset + r + j) % len(texts) for j in range(6)]
                assert np.allclose(cached.embed([texts[i] for i in idx]), expected[idx])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k * 7,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
