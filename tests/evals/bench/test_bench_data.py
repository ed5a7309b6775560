"""evals.bench.data: generated articles, anchor texts and synthetic vectors (deterministic, no timing).

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

from corpus.sentences import split_sentences
from embeddings.embedder import HashEmbedder
from evals.bench import data as bench_data


def test_generate_articles_is_deterministic_and_made_of_seed_sentences(sentences):
    a = bench_data.generate_articles(sentences, 5, seed=3)
    b = bench_data.generate_articles(sentences, 5, seed=3)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.doc_id for x in a] == [f"gen/{i:06d}.txt" for i in range(5)]
    assert bench_data.generate_articles(sentences, 5, seed=4)[0].text != a[0].text
    pool = set(sentences)
    for article in a:
        body = article.text.split("\n\n", 1)[1]
        assert article.title and article.text.startswith(article.title)
        for paragraph in body.strip().split("\n\n"):
            assert any(s in paragraph for s in pool)


def test_generate_articles_rejects_bad_input(sentences):
    with pytest.raises(ValueError):
        bench_data.generate_articles([], 1)
    with pytest.raises(ValueError):
        bench_data.generate_articles(sentences, 1, sentences_per_article=(5, 2))


def test_base_texts_include_every_sentence_once(seeds, sentences):
    texts = bench_data.base_texts(seeds)
    assert len(texts) == len(set(texts)) > len(sentences)
    assert set(sentences) <= set(texts)


def test_synthetic_vectors_are_unit_float32_and_deterministic(anchors):
    x = bench_data.synthetic_vectors(anchors, 1000, seed=1)
    assert x.shape == (1000, 384) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(x, bench_data.synthetic_vectors(anchors, 1000, seed=1))
    assert not np.array_equal(x, bench_data.synthetic_vectors(anchors, 1000, seed=2))


def test_synthetic_vectors_stay_near_the_anchors_unlike_noise(anchors):
    x = bench_data.synthetic_vectors(anchors, 500, seed=0)
    noise = np.random.default_rng(0).standard_normal((500, 384)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    near = (x @ anchors.T).max(axis=1)
    far = (noise @ anchors.T).max(axis=1)
    assert np.median(near) > 0.6 > 0.3 > np.median(far)
    # not copies either: vectors differ from every anchor
    assert near.max() < 0.999


def test_synthetic_vectors_in_batches_equal_one_batch(anchors):
    whole = bench_data.synthetic_vectors(anchors, 300, seed=5)
    parts = np.concatenate(list(bench_data.iter_synthetic_vectors(anchors, 300, seed=5, batch=300)))
    assert np.array_equal(whole, parts)
    assert sum(len(b) for b in bench_data.iter_synthetic_vectors(anchors, 250, batch=100)) == 250
    assert bench_data.synthetic_vectors(anchors, 0).shape == (0, 384)
    with pytest.raises(ValueError):
        bench_data.synthetic_vectors(np.zeros((0, 8), np.float32), 3)


def test_perturb_stays_close(anchors):
    q = bench_data.perturb(anchors, 50, seed=1, noise=0.1)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert np.median((q @ anchors.T).max(axis=1)) > 0.99


def test_text_seed_is_stable():
    assert bench_data.text_seed("abc") == bench_data.text_seed("abc") != bench_data.text_seed("abd")


def test_generated_articles_chunk_validly(sentences):
    emb = HashEmbedder()
    article = bench_data.generate_articles(sentences, 1, seed=9)[0]
    from corpus.chunk import chunk_article

    for c in chunk_article(article, count_tokens=emb.count_tokens, size=128, overlap=32, max_tokens=256):
        assert article.text[c.start : c.end] == c.text
    assert len(split_sentences(article.text)) >= 12
