"""Index writes are atomic: a build killed at any point leaves the previous index loadable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from embeddings import ChunkSettings, HashEmbedder, Index, IndexSettings, RetrievalSettings, build_index

REPO = Path(__file__).resolve().parents[2]

# Runs a build of many articles in a child process. The hooks announce (via a marker file) that the build
# reached the phase to interrupt, then stall there so that the parent can SIGKILL it.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import embeddings.atomic as atomic
    import embeddings.build as builder
    from corpus.types import Article
    from embeddings import ChunkSettings, EmbeddingSettings, HashEmbedder, IndexSettings, build_index, load_embedder

    marker, index_dir, phase, model = Path({marker!r}), Path({index_dir!r}), {phase!r}, {model!r}

    def stall():
        marker.write_text(phase)
        time.sleep(120)

    embedder = HashEmbedder() if model == "hash" else load_embedder(EmbeddingSettings(model=model))
    if phase == "embedding":
        original_embed = embedder.embed
        def embed(texts, *, progress=False):
            if model == "hash":
                stall()
            marker.write_text(phase)  # the real model is slow enough: the parent kills it while it encodes
            return original_embed(texts, progress=progress)
        embedder.embed = embed
    elif phase == "writing":
        original_write = builder._write_records
        def write_records(*args, **kwargs):
            written = original_write(*args, **kwargs)  # records and vectors written, FAISS and BM25 not yet
            stall()
            return written
        builder._write_records = write_records
    elif phase == "swapping":
        def rename(src, dst, _rename=atomic.os.rename):
            _rename(src, dst)
            if Path(dst).name.endswith(".old"):
                stall()  # old index moved aside, new one not yet in place
        atomic.os.rename = rename

    text = "Article {{i}} reports on topic {{i}}. It has several sentences about topic {{i}}. " * 20
    articles = [Article(f"doc{{i:03d}}.txt", f"Doc {{i}}", text.format(i=i)) for i in range({n_articles})]
    build_index(articles, index_dir=index_dir, embedder=embedder, chunking=ChunkSettings(size=24, overlap=8),
                index_settings=IndexSettings(), progress=False)
    """
)


def run_and_kill(tmp_path: Path, index_dir: Path, phase: str, *, model: str = "hash", n_articles: int = 300,
                 timeout: float = 120.0, extra_wait: float = 0.0) -> None:
    marker = tmp_path / f"marker-{phase}"
    code = CHILD.format(repo=str(REPO), marker=str(marker), index_dir=str(index_dir), phase=phase, model=model,
                        n_articles=n_articles)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"child exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"child never reached phase {phase!r}")
            time.sleep(0.05)
        time.sleep(extra_wait)
        assert proc.poll() is None, "child finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


@pytest.mark.parametrize("phase", ["embedding", "writing", "swapping"])
def test_killed_build_leaves_previous_index_loadable(
    tmp_path: Path, built_index: Path, articles, embedder: HashEmbedder, chunking: ChunkSettings, phase: str
) -> None:
    run_and_kill(tmp_path, built_index, phase)

    index = Index.load(built_index, embedder=embedder, chunking=chunking)  # recovers the backup if needed
    assert set(index.articles) == {a.doc_id for a in articles}
    assert index.search("volcano", RetrievalSettings(), k=1)[0].doc_id == "volcano.txt"

    # The next build completes, replaces the index and leaves no temporary folder behind.
    new = [*articles, articles[0].__class__("extra.txt", "Extra", "An extra article about tea and scones.")]
    report = build_index(new, index_dir=built_index, embedder=embedder, chunking=chunking,
                         index_settings=IndexSettings(), progress=False)
    assert report.added == 1 and report.articles == 5
    leftovers = [p.name for p in built_index.parent.iterdir() if p.name.startswith(".index.")]
    assert leftovers == [".index.lock"]
    assert "extra.txt" in Index.load(built_index, embedder=embedder, chunking=chunking).articles


def test_load_recovers_from_backup_when_index_folder_is_missing(built_index: Path, embedder, chunking) -> None:
    backup = built_index.parent / ".index.old"
    built_index.rename(backup)  # the state after "rename old -> backup", before "rename new -> final"
    index = Index.load(built_index, embedder=embedder, chunking=chunking)
    assert index.chunks and built_index.is_dir() and not backup.exists()


def test_stale_backup_beside_a_complete_index_is_ignored_then_removed(
    tmp_path: Path, built_index: Path, articles, embedder, chunking
) -> None:
    backup = built_index.parent / ".index.old"
    backup.mkdir()
    (backup / "manifest.json").write_text("{}")
    assert Index.load(built_index, embedder=embedder, chunking=chunking).chunks
    build_index(articles[:2], index_dir=built_index, embedder=embedder, chunking=chunking,
                index_settings=IndexSettings(), progress=False)
    assert not backup.exists()


@pytest.mark.slow
def test_killed_real_model_build_mid_encoding(tmp_path: Path, seeds_dir: Path) -> None:
    from corpus.load import load_articles
    from embeddings import EmbeddingSettings, load_embedder

    embedder = load_embedder(EmbeddingSettings())
    chunking = ChunkSettings()
    index_dir = tmp_path / "index"
    seeds = load_articles([seeds_dir]).articles
    build_index(seeds, index_dir=index_dir, embedder=embedder, chunking=chunking, index_settings=IndexSettings(),
                progress=False)
    run_and_kill(tmp_path, index_dir, "embedding", model="all-MiniLM-L6-v2", n_articles=400, timeout=300,
                 extra_wait=3.0)
    index = Index.load(index_dir, embedder=embedder, chunking=chunking)
    assert set(index.articles) == {a.doc_id for a in seeds}
    report = build_index(seeds[:4], index_dir=index_dir, embedder=embedder, chunking=chunking,
                         index_settings=IndexSettings(), progress=False)
    assert report.removed == 1 and report.embedded_chunks == 0
