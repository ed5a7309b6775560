"""Long builds are resumable: a killed build leaves a checkpoint that the next compatible build reuses."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import embeddings.build as builder
from corpus.types import Article
from embeddings import ChunkSettings, HashEmbedder, Index, IndexSettings, build_index
from tests.embeddings.conftest import TOPICS

REPO = Path(__file__).resolve().parents[2]
CHUNKING = ChunkSettings(size=24, overlap=8)
SMALL_BATCH = 20  # articles per checkpoint batch, so that 300 articles make 15 batches

# Builds the corpus in ``articles_file`` with a hash embedder that sleeps on every batch, so the parent
# can watch the checkpoint grow and SIGKILL the build part-way.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import embeddings.build as builder
    from corpus.types import Article
    from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index

    class SlowHashEmbedder(HashEmbedder):
        def embed(self, texts, *, progress=False):
            time.sleep({delay!r})
            return super().embed(texts, progress=progress)

    builder._EMBED_BATCH_ARTICLES = {batch!r}
    articles = [Article(**rec) for rec in map(json.loads, Path({articles_file!r}).read_text().splitlines())]
    build_index(articles, index_dir=Path({index_dir!r}), embedder=SlowHashEmbedder(),
                chunking=ChunkSettings(size={size!r}, overlap={overlap!r}), index_settings=IndexSettings(),
                progress=False)
    """
)


def generated_corpus(n: int) -> list[Article]:
    """``n`` articles of 6-10 sentences drawn (seeded) from the hand-made topics' sentences."""
    sentences = [s.strip() + "." for _, text in TOPICS.values() for s in text.split(".") if s.strip()]
    articles = []
    for i in range(n):
        rng = random.Random(i)
        text = f"Report number {i}. " + " ".join(rng.choice(sentences) for _ in range(rng.randint(6, 10)))
        articles.append(Article(f"gen{i:04d}.txt", f"Report {i}", text,
                                content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()))
    return articles


def committed_batches(resume_dir: Path) -> int:
    if not resume_dir.is_dir():
        return 0
    return sum(1 for p in resume_dir.glob("*.json") if p.name != "key.json")


def build(articles: list[Article], index_dir: Path, *, embedder=None, chunking: ChunkSettings = CHUNKING):
    return build_index(articles, index_dir=index_dir, embedder=embedder or HashEmbedder(), chunking=chunking,
                       index_settings=IndexSettings(), progress=False)


def assert_same_index(a: Path, b: Path) -> None:
    emb = HashEmbedder()
    ia, ib = Index.load(a, embedder=emb, chunking=CHUNKING), Index.load(b, embedder=emb, chunking=CHUNKING)
    assert [(c.doc_id, c.start, c.end) for c in ia.chunks] == [(c.doc_id, c.start, c.end) for c in ib.chunks]
    np.testing.assert_allclose(ia.vectors, ib.vectors, atol=1e-6)
    assert ia.manifest["corpus_fingerprint"] == ib.manifest["corpus_fingerprint"]


class Interrupted(Exception):
    """Raised by ``FailingEmbedder`` to stand in for a build killed part-way (in-process tests)."""


class FailingEmbedder(HashEmbedder):
    """A hash embedder that raises on its ``fail_at``-th call (counting from 1)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_at = fail_at

    def embed(self, texts, *, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.fail_at:
            raise Interrupted
        return super().embed(texts, progress=progress)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "_EMBED_BATCH_ARTICLES", SMALL_BATCH)


def test_killed_build_resumes_from_its_checkpoint(tmp_path: Path, small_batches, caplog) -> None:
    articles = generated_corpus(300)
    articles_file = tmp_path / "articles.jsonl"
    articles_file.write_text("\n".join(json.dumps({"doc_id": a.doc_id, "title": a.title, "text": a.text,
                                                   "content_hash": a.content_hash}) for a in articles))
    index_dir = tmp_path / "index"
    resume_dir = tmp_path / ".index.resume"
    code = CHILD.format(repo=str(REPO), delay=0.15, batch=SMALL_BATCH, articles_file=str(articles_file),
                        index_dir=str(index_dir), size=CHUNKING.size, overlap=CHUNKING.overlap)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while committed_batches(resume_dir) < 3:
            if proc.poll() is not None:
                pytest.fail(f"child exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the checkpoint never showed progress")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    done = committed_batches(resume_dir)
    assert 3 <= done < 300 // SMALL_BATCH and not index_dir.exists()

    with caplog.at_level(logging.INFO, logger="embeddings.build"):
        report = build(articles, index_dir)
    assert f"resuming: {done * SMALL_BATCH} of 300 articles already embedded" in caplog.text
    assert report.resumed_chunks > 0 and report.embedded_chunks > 0
    assert report.embedded_chunks + report.resumed_chunks == report.chunks
    assert (report.added, report.articles) == (300, 300)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")) == [".index.lock"]

    clean = tmp_path / "clean"
    clean_report = build(articles, clean)
    assert clean_report.resumed_chunks == 0 and clean_report.embedded_chunks == report.chunks
    assert_same_index(index_dir, clean)


def test_interrupted_update_resumes_and_reembeds_changed_articles(tmp_path: Path, small_batches) -> None:
    articles = generated_corpus(100)
    index_dir = tmp_path / "index"
    build(articles[:40], index_dir)  # a previous index: 40 unchanged articles the update must not touch
    with pytest.raises(Interrupted):
        build(articles, index_dir, embedder=FailingEmbedder(fail_at=3))  # 60 new: batches of 20, 20, then fail
    assert Index.load(index_dir, embedder=HashEmbedder(), chunking=CHUNKING).manifest["n_articles"] == 40

    changed = articles[45]
    articles[45] = Article(changed.doc_id, changed.title, changed.text + " Bakers knead dough before dawn.")
    report = build(articles, index_dir)
    index = Index.load(index_dir, embedder=HashEmbedder(), chunking=CHUNKING)
    per_article = Counter(c.doc_id for c in index.chunks)
    checkpointed = [a.doc_id for a in articles[40:80] if a.doc_id != changed.doc_id]
    assert report.resumed_chunks == sum(per_article[d] for d in checkpointed)
    assert report.embedded_chunks == sum(per_article[a.doc_id] for a in articles[80:]) + per_article[changed.doc_id]
    assert (report.unchanged, report.added) == (40, 60)
    clean = tmp_path / "clean"
    build(articles, clean)
    assert_same_index(index_dir, clean)
    assert not (tmp_path / ".index.resume").exists()


def test_checkpoint_from_other_chunking_is_ignored_and_deleted(tmp_path: Path, small_batches, caplog) -> None:
    articles = generated_corpus(60)
    index_dir = tmp_path / "index"
    with pytest.raises(Interrupted):
        build(articles, index_dir, embedder=FailingEmbedder(fail_at=3), chunking=ChunkSettings(size=40, overlap=0))
    resume_dir = tmp_path / ".index.resume"
    assert committed_batches(resume_dir) == 2
    with caplog.at_level(logging.INFO, logger="embeddings.checkpoint"):
        report = build(articles, index_dir)
    assert "written with other settings" in caplog.text
    assert report.resumed_chunks == 0 and report.embedded_chunks == report.chunks
    assert not resume_dir.exists()
    clean = tmp_path / "clean"
    build(articles, clean)
    assert_same_index(index_dir, clean)


def test_damaged_checkpoint_batch_is_skipped(tmp_path: Path, small_batches) -> None:
    articles = generated_corpus(60)
    index_dir = tmp_path / "index"
    with pytest.raises(Interrupted):
        build(articles, index_dir, embedder=FailingEmbedder(fail_at=3))
    resume_dir = tmp_path / ".index.resume"
    (resume_dir / "00001.npy").write_bytes(b"\x93NUMPY truncated")
    (resume_dir / "00002.npy").write_bytes(b"an uncommitted batch: no JSON beside it")
    report = build(articles, index_dir)
    first_batch = {a.doc_id for a in articles[:SMALL_BATCH]}
    index = Index.load(index_dir, embedder=HashEmbedder(), chunking=CHUNKING)
    assert report.resumed_chunks == sum(c.doc_id in first_batch for c in index.chunks) > 0
    assert report.embedded_chunks + report.resumed_chunks == report.chunks
    clean = tmp_path / "clean"
    build(articles, clean)
    assert_same_index(index_dir, clean)
