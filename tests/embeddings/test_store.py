"""The index on disk: round trip, incremental updates, removals, mismatch and corruption errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corpus.types import Article
from embeddings import (
    ChunkSettings,
    HashEmbedder,
    Index,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexSettings,
    RetrievalError,
    RetrievalSettings,
    build_index,
    remove_articles,
)


def build(articles, index_dir: Path, embedder, chunking, **kw):
    return build_index(articles, index_dir=index_dir, embedder=embedder, chunking=chunking,
                       index_settings=kw.pop("index_settings", IndexSettings()), progress=False, **kw)


def test_round_trip(built_index: Path, articles: list[Article], embedder, chunking) -> None:
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert set(index.articles) == {a.doc_id for a in articles}
    assert index.articles["cats.txt"] == next(a for a in articles if a.doc_id == "cats.txt")
    assert len(index.chunks) == index.manifest["n_chunks"] == len(index.vectors) > len(articles)
    for chunk in index.chunks:
        assert index.articles[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    np.testing.assert_allclose(index.vectors, embedder.embed([c.text for c in index.chunks]), atol=1e-6)
    m = index.manifest
    assert m["embedding_model"] == "hash" and m["dim"] == 64 and m["chunking"] == {"size": 24, "overlap": 8}
    assert m["faiss_type"] == "flat" and m["n_articles"] == 4 and len(m["corpus_fingerprint"]) == 64
    assert {"citeqa_version", "model_fingerprint", "max_tokens", "created_at"} <= set(m)
    assert sorted(p.name for p in built_index.iterdir()) == [
        "articles.jsonl", "bm25", "chunks.jsonl", "faiss.index", "manifest.json", "vectors.npy"]
    assert not list(built_index.parent.glob(".index.building-*")) and not (built_index.parent / ".index.old").exists()


def test_first_build_report(tmp_path: Path, articles, embedder, chunking) -> None:
    report = build(articles, tmp_path / "ix", embedder, chunking)
    assert (report.articles, report.added, report.updated, report.removed, report.unchanged) == (4, 4, 0, 0, 0)
    assert report.embedded_chunks == report.chunks > 4 and report.seconds >= 0


def test_unchanged_rebuild_embeds_nothing(built_index: Path, articles, embedder, chunking) -> None:
    report = build(articles, built_index, embedder, chunking)
    assert (report.unchanged, report.embedded_chunks, report.added, report.removed) == (4, 0, 0, 0)


def test_changed_article_reembeds_only_its_chunks(
    built_index: Path, articles, embedder, chunking, new_article
) -> None:
    before = Index.load(built_index, embedder=embedder, chunking=chunking)
    changed = new_article("bread.txt", "Rye bread is dense and dark. Pumpernickel bakes for a whole day at low "
                           "heat. Bakers in Westphalia invented it.", "Bread")
    new_set = [changed if a.doc_id == "bread.txt" else a for a in articles]
    report = build(new_set, built_index, embedder, chunking)
    after = Index.load(built_index, embedder=embedder, chunking=chunking)
    n_bread = sum(c.doc_id == "bread.txt" for c in after.chunks)
    assert (report.updated, report.added, report.unchanged) == (1, 0, 3)
    assert report.embedded_chunks == n_bread
    # The other articles' vectors were reused unchanged.
    old = {(c.doc_id, c.start): before.vectors[i] for i, c in enumerate(before.chunks)}
    for i, c in enumerate(after.chunks):
        if c.doc_id != "bread.txt":
            np.testing.assert_array_equal(after.vectors[i], old[(c.doc_id, c.start)])
    top = after.search("Pumpernickel Westphalia", RetrievalSettings(), k=1)[0]
    assert top.doc_id == "bread.txt"
    assert not after.search("sourdough starter", RetrievalSettings(mode="bm25"))


def test_title_only_change_updates_record_without_embedding(built_index: Path, articles, embedder, chunking) -> None:
    renamed = [replace(a, title="Felines") if a.doc_id == "cats.txt" else a for a in articles]
    report = build(renamed, built_index, embedder, chunking)
    assert report.embedded_chunks == 0
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert index.articles["cats.txt"].title == "Felines"
    assert index.search("cat purrs", RetrievalSettings(), k=1)[0].title == "Felines"


def test_replace_drops_missing_articles(built_index: Path, articles, embedder, chunking) -> None:
    report = build([a for a in articles if a.doc_id != "ships.txt"], built_index, embedder, chunking)
    assert (report.removed, report.embedded_chunks, report.articles) == (1, 0, 3)
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert "ships.txt" not in index.articles and all(c.doc_id != "ships.txt" for c in index.chunks)
    assert all(h.doc_id != "ships.txt" for h in index.search("cargo ships", RetrievalSettings(), k=20))


def test_replace_false_adds_and_keeps(built_index: Path, embedder, chunking, new_article) -> None:
    extra = new_article("tea.txt", "Green tea is brewed at eighty degrees. Oolong tea is partly oxidised.", "Tea")
    report = build([extra], built_index, embedder, chunking, replace=False)
    assert (report.added, report.unchanged, report.removed, report.articles) == (1, 4, 0, 5)
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert index.search("oolong tea", RetrievalSettings(), k=1)[0].doc_id == "tea.txt"


def test_remove_articles(built_index: Path, embedder, chunking) -> None:
    report = remove_articles(["cats.txt", "unknown.txt"], index_dir=built_index, embedder=embedder,
                             chunking=chunking, index_settings=IndexSettings())
    assert (report.removed, report.unchanged, report.embedded_chunks, report.articles) == (1, 3, 0, 3)
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert "cats.txt" not in index.articles
    assert all(h.doc_id != "cats.txt" for h in index.search("cat", RetrievalSettings(), k=50))


def test_remove_from_missing_index(tmp_path: Path, embedder, chunking) -> None:
    with pytest.raises(IndexNotFoundError):
        remove_articles(["a"], index_dir=tmp_path / "none", embedder=embedder, chunking=chunking,
                        index_settings=IndexSettings())


def test_duplicate_doc_ids_rejected(tmp_path: Path, articles, embedder, chunking) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        build([*articles, articles[0]], tmp_path / "ix", embedder, chunking)


def test_empty_collection(tmp_path: Path, embedder, chunking) -> None:
    build([], tmp_path / "ix", embedder, chunking)
    index = Index.load(tmp_path / "ix", embedder=embedder, chunking=chunking)
    assert index.chunks == [] and index.search("anything", RetrievalSettings()) == []


def test_not_found(tmp_path: Path, embedder, chunking) -> None:
    with pytest.raises(IndexNotFoundError, match="citeqa index"):
        Index.load(tmp_path / "missing", embedder=embedder, chunking=chunking)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):  # IndexNotFoundError is also a FileNotFoundError
        Index.load(tmp_path / "empty", embedder=embedder, chunking=chunking)


@pytest.mark.parametrize(
    ("embedder_arg", "chunking_arg", "what"),
    [
        (HashEmbedder(dim=32), None, "embedding model"),
        (None, ChunkSettings(size=64, overlap=8), "chunking"),
        (HashEmbedder(max_tokens=128), None, "max_tokens"),
    ],
)
def test_mismatch(built_index: Path, embedder, chunking, embedder_arg, chunking_arg, what: str) -> None:
    with pytest.raises(IndexMismatchError, match=what) as err:
        Index.load(built_index, embedder=embedder_arg or embedder, chunking=chunking_arg or chunking)
    assert "run `citeqa index --rebuild`" in str(err.value)


def test_mismatched_index_is_rebuilt_by_build(built_index: Path, articles, chunking) -> None:
    other = HashEmbedder(dim=32)
    report = build(articles, built_index, other, chunking)
    assert report.embedded_chunks == report.chunks and report.added == 4
    assert Index.load(built_index, embedder=other, chunking=chunking).vectors.shape[1] == 32


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: _truncate(d / "faiss.index"),
        lambda d: (d / "chunks.jsonl").write_text("garbage{{{\n"),
        lambda d: (d / "chunks.jsonl").write_text('{"doc_id": "cats.txt", "start": 0, "end": 99999}\n'),
        lambda d: (d / "articles.jsonl").write_text(""),
        lambda d: _truncate(d / "vectors.npy"),
        lambda d: (d / "vectors.npy").unlink(),
        lambda d: (d / "manifest.json").write_text("{not json"),
        lambda d: (d / "bm25" / "params.index.json").unlink(),
        lambda d: _truncate(d / "bm25" / "data.csc.index.npy"),
    ],
    ids=["faiss-truncated", "chunks-garbage", "chunk-out-of-range", "articles-empty", "vectors-truncated",
         "vectors-missing", "manifest-garbage", "bm25-missing", "bm25-truncated"],
)
def test_corruption_is_detected(built_index: Path, articles, embedder, chunking, damage) -> None:
    damage(built_index)
    with pytest.raises(IndexCorruptError, match="to repair it"):
        Index.load(built_index, embedder=embedder, chunking=chunking)
    # A build repairs it (re-embedding what it cannot trust).
    build(articles, built_index, embedder, chunking)
    assert Index.load(built_index, embedder=embedder, chunking=chunking).search("cat", RetrievalSettings())


def test_faiss_setting_change_rewrites_index(built_index: Path, articles, embedder, chunking) -> None:
    report = build(articles, built_index, embedder, chunking, index_settings=IndexSettings(faiss="hnsw"))
    assert report.embedded_chunks == 0
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert index.manifest["faiss_type"] == "hnsw"
    assert index.search("lava crater", RetrievalSettings(mode="dense"), k=1)[0].doc_id == "volcano.txt"


def test_refuses_to_replace_a_folder_that_is_not_an_index(tmp_path: Path, articles, embedder, chunking) -> None:
    target = tmp_path / "docs"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(RetrievalError, match="not a citeqa index"):
        build(articles, target, embedder, chunking)
    assert (target / "precious.txt").read_text() == "keep me"


def test_manifest_is_json_readable(built_index: Path) -> None:
    assert json.loads((built_index / "manifest.json").read_text())["n_chunks"] > 0


def test_batch_token_precount_gives_the_same_chunks(articles, chunking) -> None:
    from embeddings.checkpoint import chunk_articles

    class BatchCounting(HashEmbedder):
        batches: list[int] = []

        def count_tokens_batch(self, texts):
            self.batches.append(len(texts))
            return [self.count_tokens(t) for t in texts]

    plain = chunk_articles(articles, embedder=HashEmbedder(), chunking=chunking)
    batched_embedder = BatchCounting()
    assert chunk_articles(articles, embedder=batched_embedder, chunking=chunking) == plain
    assert batched_embedder.batches and batched_embedder.batches[0] > len(articles)
