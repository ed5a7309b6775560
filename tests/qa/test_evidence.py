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


# -- sentence entities: stored at index time, read by Evidence -----------------------------------------------------
def _seed_index(tmp_path, finder):  # one bundled article, built with the given entity finder
    from corpus.load import load_articles
    from embeddings import ChunkSettings, Index, IndexSettings, build_index

    article = load_articles(None).articles[1]
    build_index([article], index_dir=tmp_path / "index", embedder=HashEmbedder(), chunking=ChunkSettings(),
                index_settings=IndexSettings(), progress=False, entities=finder)
    return article, Index.load(tmp_path / "index", embedder=HashEmbedder(), chunking=ChunkSettings())


def _sentences(article):
    from corpus.sentences import split_sentences
    from qa.evidence import Sentence

    return [Sentence(article.doc_id, s, e, article.text[s:e]) for s, e in split_sentences(article.text)]


def test_stored_entities_are_read_not_found_again_and_equal_what_spacy_finds(tmp_path, monkeypatch) -> None:
    from qa import analysis
    from qa.evidence import Evidence, SpacyEntities

    article, index = _seed_index(tmp_path, SpacyEntities())
    sentences = [*_sentences(article), _sentences(article)[0]]  # a sentence twice: one answer each
    found_now = Evidence(index.articles, HashEmbedder()).entities(sentences)  # spaCy, at query time
    assert any(found_now)

    def no_spacy(texts, **kw):
        raise AssertionError(f"spaCy asked about {list(texts)[:1]} although the index stores its entities")

    monkeypatch.setattr(analysis, "sentence_entities", no_spacy)
    stored = Evidence(index.articles, HashEmbedder(), stored=index.entities)
    assert stored.entities(sentences) == found_now  # the same Entity values, offsets into each sentence


def test_entities_stored_by_another_pipeline_are_not_used(tmp_path, caplog) -> None:
    import logging

    from qa.evidence import Evidence, SpacyEntities

    class Other(SpacyEntities):
        def pipeline(self) -> str:
            return "another pipeline 0.1"

        def __call__(self, texts):
            return [[(0, 1, "PERSON")] for _ in texts]  # what must not reach the answers

    article, index = _seed_index(tmp_path, Other())
    caplog.set_level(logging.INFO, logger="qa.evidence")
    ev = Evidence(index.articles, HashEmbedder(), stored=index.entities)
    sentences = _sentences(article)
    assert ev.entities(sentences[:3]) == Evidence(index.articles, HashEmbedder()).entities(sentences[:3])
    ev.entities(sentences[3:])
    said = [r.getMessage() for r in caplog.records if "another pipeline 0.1" in r.getMessage()]
    assert len(said) == 1 and "on first use" in said[0]  # said once, for two calls
