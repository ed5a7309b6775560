"""IVF indexes keep vectors.npy memory-mapped (no in-memory copy), and survive a rebuild under their feet."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from embeddings import HashEmbedder, Index, IndexSettings, RetrievalSettings
from embeddings.search import mmr_select
from tests.embeddings.test_streamed_build import CHUNKING, build, make

IVF = IndexSettings(faiss="ivfsq8")
N_ARTICLES = 300  # ~1,500 chunks: enough to train IVF with 32 lists (39 points per list)
MMR = RetrievalSettings(mmr=True, mmr_lambda=0.5, top_k=8)
QUERIES = ["cat sleeps in the apartment", "storms delay shipping", "sourdough starter", "report number 12"]


def load(index_dir: Path) -> Index:
    return Index.load(index_dir, embedder=HashEmbedder(), chunking=CHUNKING)


def answers(index: Index) -> list[list[tuple[str, int, int]]]:
    return [[(h.doc_id, h.start, h.end) for h in index.search(q, MMR)] for q in QUERIES]


@pytest.fixture(scope="module")
def ivf_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("ivf") / "index"
    build((make(i) for i in range(N_ARTICLES)), index_dir, index_settings=IVF)
    return index_dir


def test_ivf_index_keeps_its_vectors_memory_mapped(ivf_index: Path) -> None:
    index = load(ivf_index)
    assert index.manifest["faiss_type"] == "ivfsq8"
    assert isinstance(index.vectors, np.memmap) and not index.vectors.flags.writeable
    assert Path(index.vectors.filename) == ivf_index / "vectors.npy"
    assert index.vectors.shape == (len(index.chunks), 64)
    np.testing.assert_array_equal(index.vectors, np.load(ivf_index / "vectors.npy"))
    # MMR reads rows of the map and ranks as it does over an in-memory copy
    hits = index.search(QUERIES[0], MMR)
    pool = index.search(QUERIES[0], RetrievalSettings(top_k=50))
    assert len(hits) == 8 and {h.doc_id for h in hits} <= {h.doc_id for h in pool}
    rows = {(c.doc_id, c.start): i for i, c in enumerate(index.chunks)}
    pool_rows = [rows[h.doc_id, h.start] for h in pool]
    scores = np.array([h.score for h in pool], dtype=np.float32)
    relevance = (scores - scores.min()) / (scores.max() - scores.min())
    in_memory = mmr_select(pool_rows, relevance, np.array(index.vectors), k=8, lambda_=0.5)
    assert [rows[h.doc_id, h.start] for h in hits] == in_memory


def test_flat_index_vectors_are_a_view_of_faiss(tmp_path: Path) -> None:
    build((make(i) for i in range(20)), tmp_path / "index")
    index = load(tmp_path / "index")
    assert index.manifest["faiss_type"] == "flat" and not isinstance(index.vectors, np.memmap)


def test_an_index_loaded_before_a_rebuild_keeps_answering(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build((make(i) for i in range(N_ARTICLES)), index_dir, index_settings=IVF)
    old = load(index_dir)
    assert isinstance(old.vectors, np.memmap)
    vectors_before, answers_before = np.array(old.vectors), answers(old)
    inode = os.stat(index_dir / "vectors.npy").st_ino

    # Two rebuilds with other texts: each swaps a new folder in and deletes the one the old Index maps.
    for extra in (" Lava and ash poured from the crater.", " Fresh bread smells wonderful."):
        build((make(i, extra=extra) for i in range(N_ARTICLES)), index_dir, index_settings=IVF)
        assert os.stat(index_dir / "vectors.npy").st_ino != inode  # a new file, not the old one rewritten
        assert not (tmp_path / ".index.old").exists()
        np.testing.assert_array_equal(old.vectors, vectors_before)
        assert answers(old) == answers_before

    new = load(index_dir)
    assert new.articles["gen0000.txt"].text.endswith("Fresh bread smells wonderful.")
    assert old.articles["gen0000.txt"].text != new.articles["gen0000.txt"].text
    assert not np.array_equal(np.asarray(new.vectors), vectors_before)
