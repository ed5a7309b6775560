"""Streamed builds: articles are read once, at most one batch of them is held, and the index is what it was."""

from __future__ import annotations

import gc
import hashlib
import random
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import embeddings.build as builder
import embeddings.checkpoint as checkpoint_module
from corpus.types import Article
from embeddings import ChunkSettings, HashEmbedder, Index, IndexSettings, RetrievalSettings, build_index
from embeddings.bm25 import BM25Builder, BM25Index, tokenize
from embeddings.checkpoint import chunk_articles
from embeddings.layout import corpus_fingerprint
from tests.embeddings.conftest import TOPICS

CHUNKING = ChunkSettings(size=24, overlap=8)
SENTENCES = [s.strip() + "." for _, text in TOPICS.values() for s in text.split(".") if s.strip()]
QUERIES = ["cat sleeps", "cargo ships storms", "sourdough bread oven", "volcano ash flights", "report number 7"]


def make(i: int, *, extra: str = "") -> Article:
    """Article ``i`` of a generated collection: 6-10 seeded sentences of the hand-made topics."""
    rng = random.Random(i)
    text = f"Report number {i}. " + " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(6, 10))) + extra
    return Article(f"gen{i:04d}.txt", f"Report {i}", text, content_hash=hashlib.sha256(text.encode()).hexdigest())


def build(articles, index_dir: Path, *, embedder=None, **kw):
    return build_index(articles, index_dir=index_dir, embedder=embedder or HashEmbedder(), chunking=CHUNKING,
                       index_settings=kw.pop("index_settings", IndexSettings()), progress=False, **kw)


def reference_chunks(articles: list[Article]):
    """Rows as every build has laid them out: articles by doc_id, each one's chunks in text order."""
    by_id = sorted(articles, key=lambda a: a.doc_id)
    chunks = chunk_articles(by_id, embedder=HashEmbedder(), chunking=CHUNKING)
    return [c for a in by_id for c in chunks[a.doc_id]]


def test_a_build_holds_at_most_one_batch_of_articles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "_EMBED_BATCH_ARTICLES", 10)
    made: list[weakref.ref[Article]] = []

    def stream() -> Iterator[Article]:  # each article exists only once the build asks for it
        for i in range(100):
            article = make(i)
            made.append(weakref.ref(article))
            yield article

    alive_at_embed: list[int] = []

    class Watching(HashEmbedder):
        def embed(self, texts, *, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
            gc.collect()
            alive_at_embed.append(sum(ref() is not None for ref in made))
            return super().embed(texts, progress=progress)

    report = build(stream(), tmp_path / "index", embedder=Watching())
    assert report.articles == len(made) == 100
    assert len(alive_at_embed) >= 10 and max(alive_at_embed) <= 10


def test_streamed_build_lays_out_the_index_as_before(tmp_path: Path) -> None:
    articles = [make(i) for i in range(60)]
    shuffled = random.Random(1).sample(articles, len(articles))  # arrival order does not matter
    build(iter(shuffled), tmp_path / "index")
    index = Index.load(tmp_path / "index", embedder=HashEmbedder(), chunking=CHUNKING)

    chunks = reference_chunks(articles)
    assert index.chunks == chunks
    np.testing.assert_array_equal(index.vectors, HashEmbedder().embed([c.text for c in chunks]))
    assert index.manifest["corpus_fingerprint"] == corpus_fingerprint(articles)
    assert index.manifest["n_chunks"] == len(chunks) and index.articles == {a.doc_id: a for a in articles}
    assert [line.split('"doc_id": ')[1][:13] for line in (tmp_path / "index" / "articles.jsonl").read_text()
            .splitlines()] == [f'"{a.doc_id}"' for a in sorted(articles, key=lambda a: a.doc_id)]

    # BM25 from token ids scores exactly as bm25s indexing the token strings (how it was built before)
    import bm25s

    strings = bm25s.BM25()
    strings.index([tokenize(c.text) or [""] for c in chunks], show_progress=False)
    expected, built = BM25Index(strings, len(chunks)), BM25Index.load(tmp_path / "index" / "bm25")
    for query in QUERIES:
        (want_scores, want_rows), (got_scores, got_rows) = expected.search(query, 20), built.search(query, 20)
        np.testing.assert_array_equal(got_rows, want_rows)
        np.testing.assert_allclose(got_scores, want_scores, rtol=1e-6)


def test_streamed_update_equals_a_clean_build(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build((make(i) for i in range(40)), index_dir)
    # 30-39 are gone, 0-9 changed, 10-14 retitled, 40-49 new, 15-29 unchanged
    update = [make(i, extra=" Bakers knead dough before dawn.") for i in range(10)]
    update += [replace(make(i), title=f"Renamed {i}") for i in range(10, 15)]
    update += [make(i) for i in range(15, 30)] + [make(i) for i in range(40, 50)]
    report = build(iter(update), index_dir)
    assert (report.added, report.updated, report.removed, report.unchanged) == (10, 10, 10, 20)
    changed_chunks = [c for c in reference_chunks(update) if c.doc_id < "gen0010.txt" or c.doc_id >= "gen0040.txt"]
    assert report.embedded_chunks == len(changed_chunks)

    clean = tmp_path / "clean"
    build(update, clean)
    a = Index.load(index_dir, embedder=HashEmbedder(), chunking=CHUNKING)
    b = Index.load(clean, embedder=HashEmbedder(), chunking=CHUNKING)
    assert a.chunks == b.chunks == reference_chunks(update) and a.articles == b.articles
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.manifest["corpus_fingerprint"] == b.manifest["corpus_fingerprint"]
    assert a.articles["gen0012.txt"].title == "Renamed 12"
    assert a.search("report number 45", RetrievalSettings(mode="bm25"), k=1)[0].doc_id == "gen0045.txt"
    assert not list(tmp_path.glob(".index.building-*")) and not (tmp_path / ".index.resume").exists()


def test_progress_bar_counts_the_whole_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build((make(i) for i in range(10)), tmp_path / "index")
    bars: list[tuple[int, int]] = []

    class Bar:
        def __init__(self, total: int, initial: int) -> None:
            bars.append((total, initial))
            self.n, self.total = initial, total

        def refresh(self) -> None:
            bars.append((self.total, -2))

        def update(self, n: int) -> None:
            self.n += n

        def close(self) -> None:
            bars.append((self.n, -1))

    monkeypatch.setattr(checkpoint_module, "_progress_bar", lambda total, *, initial: Bar(total, initial))
    articles = [make(i) for i in range(25)]  # the first 10 are indexed already
    build_index(iter(articles), index_dir=tmp_path / "index", embedder=HashEmbedder(), chunking=CHUNKING,
                index_settings=IndexSettings(), progress=True)
    assert bars == [(25, 10), (25, -1)]  # total from the iterator's length hint; none when nothing is embedded
    bars.clear()
    build_index(iter([*articles, make(30)]), index_dir=tmp_path / "index", embedder=HashEmbedder(),
                chunking=CHUNKING, index_settings=IndexSettings(), progress=True, total=40)
    assert bars == [(40, 25), (26, -2), (26, -1)]  # a total hint that was too high is corrected at the end
    bars.clear()
    build_index((a for a in articles), index_dir=tmp_path / "index", embedder=HashEmbedder(), chunking=CHUNKING,
                index_settings=IndexSettings(), progress=True)
    assert bars == []


def test_bm25_builder_scores_as_bm25s_over_token_strings() -> None:
    texts = [c.text for c in reference_chunks([make(i) for i in range(20)])] + ["", "the of and", "Cats!"]
    builder = BM25Builder()
    for text in texts:
        builder.add(text)
    import bm25s

    strings = bm25s.BM25()
    strings.index([tokenize(t) or [""] for t in texts], show_progress=False)
    built, expected = builder.build(), BM25Index(strings, len(texts))
    assert built.n_docs == len(texts)
    for query in [*QUERIES, "cats", "the"]:
        (want_scores, want_rows), (got_scores, got_rows) = expected.search(query, 30), built.search(query, 30)
        np.testing.assert_array_equal(got_rows, want_rows)
        np.testing.assert_allclose(got_scores, want_scores, rtol=1e-6)
