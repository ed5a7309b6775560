"""Ingestion on a real two-node Ray cluster (``citeqa index --ray``): the same index as a local build, and faults.

What was tried, and what a user must see:
- the seed corpus built on Ray and built locally: the same chunks (ids, offsets, text) and the same vectors
  (cosine >= 0.999), an index that passes ``citeqa index --check``; a second Ray run embeds nothing;
- an embedding actor's process killed (SIGKILL) mid-build: Ray Data restarts it and retries its batch, the build
  finishes, every article is committed once and indexed once;
- index.store = "milvus": the Ray-built index lands in a Milvus collection (a real Milvus Lite server process),
  every chunk once, and search there cites the exact words of the local articles;
- the driver (a process connected to the cluster by its address) killed mid-build: ``citeqa index --ray ADDRESS``
  resumes from the committed batches, embeds only the rest, and the index holds every chunk once.

The cluster (``tests/ray_cluster.py``) is real: two raylets, their worker processes, the object store; the model
is the shipped one on ONNX Runtime. Slow (the real model) and heavy (killed processes).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from milvus_server import MilvusServer, milvus_server  # noqa: F401  (a Milvus Lite server process per module)
from ray_cluster import descendant_pids, ray_cluster  # noqa: F401  (the session's cluster)

from corpus.load import iter_articles, load_articles
from embeddings import Index, check_index, load_embedder
from embeddings.atomic import sibling
from embeddings.checkpoint import chunk_articles
from embeddings.ray_ingest import embed_on_ray
from evals.bench.data import generate_articles, seed_sentences
from qa import library
from qa.config import get_settings

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "corpus" / "articles"
CITEQA = Path(sys.executable).with_name("citeqa")


def _write_corpus(folder: Path, n: int, *, seed: int) -> Path:
    """``n`` generated articles (sentences of the seed articles recombined), one .txt file each."""
    folder.mkdir(parents=True)
    for i, article in enumerate(generate_articles(seed_sentences(load_articles(None).articles), n, seed=seed)):
        (folder / f"{i:04d}.txt").write_text(article.text, encoding="utf-8")
    return folder


def _spans(index: Index) -> list[tuple[str, int, int]]:
    return [(c.doc_id, c.start, c.end) for c in index.chunks]


def _expected_spans(folder: Path, emb: Any, chunking: Any) -> list[tuple[str, int, int]]:
    """The chunks a local build makes of the folder's articles, in index order (by doc_id)."""
    chunks = chunk_articles(load_articles([folder]).articles, embedder=emb, chunking=chunking)
    return [(d, c.start, c.end) for d in sorted(chunks) for c in chunks[d]]


def _committed_chunks(resume: Path) -> int:
    return sum(len(a["spans"]) for f in resume.glob("0*.json") for a in json.loads(f.read_text())["articles"])


def test_ray_build_equals_local_build(ray_cluster: Any, tmp_path: Path) -> None:  # noqa: F811
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    local, _ = library.build({"index": {"dir": str(local_dir)}}, [SEEDS], progress=False)
    ray_report, skipped = library.build({"index": {"dir": str(ray_dir)}}, [SEEDS], progress=False,
                                        ray=ray_cluster.address, ray_workers=2)
    assert skipped == []
    # every chunk went through the Ray actors (none embedded locally, none from an earlier build)
    assert ray_report.embedded_chunks == ray_report.chunks == local.chunks and ray_report.resumed_chunks == 0
    settings = get_settings({"index": {"dir": str(ray_dir)}})
    emb = load_embedder(settings.embedding)
    a = Index.load(local_dir, embedder=emb, chunking=settings.chunking)
    b = Index.load(ray_dir, embedder=emb, chunking=settings.chunking)
    assert [(c.doc_id, c.start, c.end, c.text) for c in b.chunks] == [
        (c.doc_id, c.start, c.end, c.text) for c in a.chunks]
    assert a.articles.keys() == b.articles.keys()
    assert all(a.articles[d].text == b.articles[d].text for d in a.articles)
    va, vb = np.load(local_dir / "vectors.npy"), np.load(ray_dir / "vectors.npy")
    assert va.shape == vb.shape and float(np.min(np.sum(va * vb, axis=1))) >= 0.999
    check = check_index(ray_dir, embedder=emb, chunking=settings.chunking)
    assert check.ok, check.problems
    assert not sibling(ray_dir, "resume").exists()  # the checkpoint is gone once the index is in place
    again, _ = library.build({"index": {"dir": str(ray_dir)}}, [SEEDS], progress=False, ray=ray_cluster.address)
    assert again.embedded_chunks == 0 and again.unchanged == local.articles


def test_killed_actor_build_finishes_and_indexes_each_chunk_once(ray_cluster: Any, tmp_path: Path) -> None:  # noqa: F811
    folder = _write_corpus(tmp_path / "articles", 48, seed=7)
    settings = get_settings({"index": {"dir": str(tmp_path / "index")}})
    emb = load_embedder(settings.embedding)
    resume = sibling(settings.index_dir(), "resume")
    killed: list[int] = []
    finished = threading.Event()

    def kill_an_actor_mid_build() -> None:
        while not finished.is_set():
            if any(resume.glob("0*.json")):  # a batch is committed: the build is under way
                pids = descendant_pids("EmbedActor")
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_an_actor_mid_build)
    killer.start()
    try:
        report = embed_on_ray(iter_articles([folder]).files, index_dir=settings.index_dir(), embedder=emb,
                              settings=settings.embedding, chunking=settings.chunking, address=ray_cluster.address,
                              workers=2, progress=False, commit_chunks=24, articles_per_call=2)
    finally:
        finished.set()
        killer.join()
    assert killed, "the Ray phase ended before an embedding actor could be killed"
    assert report.embedded_articles == 48 and report.known_articles == 0
    assert _committed_chunks(resume) == report.embedded_chunks  # each article's vectors committed once
    built, _ = library.build(settings, [folder], progress=False)
    assert built.embedded_chunks == 0 and built.resumed_chunks == built.chunks == report.embedded_chunks
    index = Index.load(settings.index_dir(), embedder=emb, chunking=settings.chunking)
    assert _spans(index) == _expected_spans(folder, emb, settings.chunking)  # every chunk, once, in order
    assert check_index(settings.index_dir(), embedder=emb, chunking=settings.chunking).ok


_DRIVER = """
import sys
from corpus.load import iter_articles
from embeddings.embedder import load_embedder
from embeddings.ray_ingest import embed_on_ray
from qa.config import get_settings
s = get_settings({"index": {"dir": sys.argv[1]}})
embed_on_ray(iter_articles([sys.argv[2]]).files, index_dir=s.index_dir(), embedder=load_embedder(s.embedding),
             settings=s.embedding, chunking=s.chunking, address=sys.argv[3], workers=2, progress=False,
             commit_chunks=24, articles_per_call=2)
"""


def test_killed_driver_resumes_without_embedding_twice(ray_cluster: Any, tmp_path: Path) -> None:  # noqa: F811
    folder = _write_corpus(tmp_path / "articles", 48, seed=11)
    index_dir = tmp_path / "index"
    resume = sibling(index_dir, "resume")
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(index_dir), str(folder), ray_cluster.address],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(list(resume.glob("0*.json"))) < 2 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.poll() is None, "the driver ended before it could be killed"
        driver.kill()
    finally:
        driver.kill()
        driver.wait()
    committed = _committed_chunks(resume)
    assert committed > 0
    done = subprocess.run([str(CITEQA), "--index-dir", str(index_dir), "index", str(folder), "--ray",
                           ray_cluster.address], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    line = re.search(r"ray: embedded (\d+) chunks .*?; (\d+) already embedded", done.stderr)
    assert line, done.stderr[-2000:]
    settings = get_settings({"index": {"dir": str(index_dir)}})
    emb = load_embedder(settings.embedding)
    index = Index.load(index_dir, embedder=emb, chunking=settings.chunking)
    assert int(line.group(2)) > 0  # the killed run's articles were not embedded again
    assert int(line.group(1)) + committed == len(index.chunks)
    assert _spans(index) == _expected_spans(folder, emb, settings.chunking)
    assert check_index(index_dir, embedder=emb, chunking=settings.chunking).ok
    assert not resume.exists()


def test_ray_build_into_milvus_holds_every_chunk_once(ray_cluster: Any, milvus_server: MilvusServer,  # noqa: F811
                                                     tmp_path: Path) -> None:
    from embeddings.config import RetrievalSettings
    from embeddings.milvus_store import MilvusStore

    conf = {"index": {"dir": str(tmp_path / "index"), "store": "milvus", "milvus_uri": milvus_server.uri}}
    report, _ = library.build(conf, [SEEDS], progress=False, ray=ray_cluster.address, ray_workers=2)
    assert report.embedded_chunks == report.chunks > 0
    settings = get_settings(conf)
    emb = load_embedder(settings.embedding)
    index = Index.load(settings.index_dir(), embedder=emb, chunking=settings.chunking, store=settings.index)
    store = MilvusStore.open(settings.index, index_dir=settings.index_dir(), dim=emb.dim,
                             fingerprint=index.manifest["model_fingerprint"], create=False)
    try:
        assert store.count() == report.chunks
        assert sum(n for _, n in store.doc_chunks().values()) == report.chunks
    finally:
        store.close()
    hits = index.search("Where did Macron receive Putin in 2017?", RetrievalSettings())
    assert hits and all(index.articles[h.doc_id].text[h.start : h.end] == h.text for h in hits)


def test_more_workers_than_cpus_is_one_clear_error(ray_cluster: Any, tmp_path: Path) -> None:  # noqa: F811
    """An actor pool the cluster cannot place would wait forever: refused at once, naming the CPUs, nothing built."""
    from embeddings import ChunkSettings, EmbeddingSettings, HashEmbedder
    from embeddings.ray_ingest import RayError

    with pytest.raises(RayError, match=r"9 embedding workers need at least 10 CPUs, .* has 4"):
        embed_on_ray(iter_articles([SEEDS]).files, index_dir=tmp_path / "index", embedder=HashEmbedder(),
                     settings=EmbeddingSettings(model="hash"), chunking=ChunkSettings(), address=ray_cluster.address,
                     workers=9, progress=False)
    assert not (tmp_path / "index").exists() and not sibling(tmp_path / "index", "resume").exists()
