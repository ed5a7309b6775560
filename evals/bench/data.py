"""Bench inputs made from the seed articles: generated corpora, real base embeddings, synthetic vectors.

Everything here is deterministic for a given seed and does no timing, so it is unit-tested directly.

- ``generate_articles``: new articles built by recombining the seed articles' sentences (paragraphs of
  sentences drawn from all five articles), for indexing at scale with realistic text and chunk lengths.
- ``base_texts``: the seed sentences and overlapping word windows of the seed articles; their real
  embeddings are the anchors of the synthetic vectors.
- ``synthetic_vectors``: unit vectors that look like a large collection of text embeddings rather than
  uniform noise: each is a random convex mix of two or three real anchor embeddings plus Gaussian noise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import numpy as np

from corpus.sentences import split_sentences
from corpus.types import Article, ArticleMeta

# Mixing and noise of synthetic vectors. A vector is normalise(sum_i w_i * anchor_i + noise) with
# Dirichlet(1) weights over MIX_ANCHORS anchors and noise of norm ~U(NOISE_LOW, NOISE_HIGH) spread over all
# dimensions. e.g. a noise norm of 0.6 leaves a cosine of 1/sqrt(1 + 0.6**2) = 0.86 to the mix it perturbs,
# about what two paraphrased sentences score with all-MiniLM-L6-v2; mixing anchors fills the space between
# topics, so neighbourhoods are continuous instead of tight clusters of copies.
MIX_ANCHORS = 3
NOISE_LOW = 0.35
NOISE_HIGH = 0.8
_BATCH = 65_536


def seed_sentences(articles: Sequence[Article]) -> list[str]:
    """Every sentence of the articles, in order, without duplicates."""
    seen: dict[str, None] = {}
    for article in articles:
        for start, end in split_sentences(article.text):
            sentence = article.text[start:end].strip()
            if sentence:
                seen.setdefault(sentence)
    return list(seen)


def generate_articles(
    sentences: Sequence[str], n: int, *, seed: int = 0, sentences_per_article: tuple[int, int] = (12, 36),
    prefix: str = "gen",
) -> list[Article]:
    """``n`` articles of randomly drawn sentences grouped into paragraphs of 2–6 sentences.

    Args:
        sentences: the sentence pool (e.g. ``seed_sentences`` of the seed articles).
        n: number of articles.
        seed: random seed; the same arguments give the same articles.
        sentences_per_article: inclusive range of the number of sentences per article.
        prefix: doc_ids are ``{prefix}/{i:06d}.txt``.

    Returns:
        Articles whose title is a short sentence of the pool and whose text is paragraphs separated by
        blank lines; ``content_hash`` is left empty (the index computes it).
    """
    if not sentences:
        raise ValueError("generate_articles needs at least one sentence")
    lo, hi = sentences_per_article
    if not 1 <= lo <= hi:
        raise ValueError(f"bad sentences_per_article range {sentences_per_article}")
    rng = np.random.default_rng(seed)
    pool = list(sentences)
    short = [s for s in pool if len(s) <= 120] or pool
    out = []
    for i in range(n):
        picks = rng.integers(0, len(pool), size=int(rng.integers(lo, hi + 1)))
        paragraphs: list[str] = []
        j = 0
        while j < len(picks):
            size = int(rng.integers(2, 7))
            paragraphs.append(" ".join(pool[p] for p in picks[j : j + size]))
            j += size
        title = short[int(rng.integers(0, len(short)))].rstrip(".")
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        out.append(Article(doc_id=f"{prefix}/{i:06d}.txt", title=title, text=text, meta=ArticleMeta()))
    return out


def base_texts(articles: Sequence[Article], *, window: tuple[int, int] = (8, 40), stride: int = 4,
               seed: int = 0) -> list[str]:
    """The seed sentences plus word windows of random length sliding over each article (no duplicates).

    About 2,000 texts for the five seed articles with the defaults: enough distinct real embeddings that
    synthetic collections of a million vectors still have local structure at every scale.
    """
    rng = np.random.default_rng(seed)
    texts: dict[str, None] = dict.fromkeys(seed_sentences(articles))
    lo, hi = window
    for article in articles:
        words = article.text.split()
        for start in range(0, max(len(words) - lo, 1), stride):
            length = int(rng.integers(lo, hi + 1))
            texts.setdefault(" ".join(words[start : start + length]))
    return [t for t in texts if t]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]  # several times faster than np.linalg.norm here
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def synthetic_vectors(
    anchors: np.ndarray, n: int, *, seed: int = 0, mix: int = MIX_ANCHORS,
    noise: tuple[float, float] = (NOISE_LOW, NOISE_HIGH),
) -> np.ndarray:
    """``n`` unit vectors shaped like text embeddings, from real ``anchors`` (unit rows, shape (m, dim)).

    Each row is ``normalise(sum_j w_j * anchors[a_j] + e)`` with ``mix`` random anchors ``a_j``, Dirichlet(1)
    weights ``w`` and Gaussian noise ``e`` of norm drawn from ``noise`` (float32, C-contiguous).
    """
    return np.concatenate(list(iter_synthetic_vectors(anchors, n, seed=seed, mix=mix, noise=noise)) or
                          [np.zeros((0, anchors.shape[1]), np.float32)])


def iter_synthetic_vectors(
    anchors: np.ndarray, n: int, *, seed: int = 0, mix: int = MIX_ANCHORS,
    noise: tuple[float, float] = (NOISE_LOW, NOISE_HIGH), batch: int = _BATCH,
) -> Iterator[np.ndarray]:
    """``synthetic_vectors`` in batches of at most ``batch`` rows (bounded memory for large ``n``)."""
    anchors = np.asarray(anchors, dtype=np.float32)
    if anchors.ndim != 2 or anchors.shape[0] == 0:
        raise ValueError("anchors must be a non-empty (m, dim) array")
    if mix < 1:
        raise ValueError("mix must be at least 1")
    m, dim = anchors.shape
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        b = min(batch, n - done)
        idx = rng.integers(0, m, size=(b, mix))
        weights = rng.dirichlet(np.ones(mix), size=b).astype(np.float32)
        x = weights[:, :1] * anchors[idx[:, 0]]
        for j in range(1, mix):
            x += weights[:, j : j + 1] * anchors[idx[:, j]]
        x = _unit_rows(x)
        e = rng.standard_normal((b, dim), dtype=np.float32)
        scale = rng.uniform(noise[0], noise[1], size=(b, 1)).astype(np.float32) / np.sqrt(dim, dtype=np.float32)
        yield np.ascontiguousarray(_unit_rows(x + e * scale))
        done += b


def perturb(vectors: np.ndarray, n: int, *, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """``n`` unit vectors near random rows of ``vectors`` (Gaussian noise of norm ~``noise``); queries."""
    rng = np.random.default_rng(seed)
    vectors = np.asarray(vectors, dtype=np.float32)
    rows = vectors[rng.integers(0, len(vectors), size=n)]
    e = rng.standard_normal(rows.shape, dtype=np.float32) * (noise / np.sqrt(rows.shape[1]))
    return np.ascontiguousarray(_unit_rows(rows + e))


def text_seed(text: str) -> int:
    """A stable 32-bit seed derived from a text (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "little")
