"""The ONNX Runtime embedding backends: exported offline from the shipped weights, cached, checked against torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    ChunkSettings,
    EmbedderError,
    EmbeddingSettings,
    IndexSettings,
    build_index,
    load_embedder,
    onnx_backend,
)
from embeddings.embedder import SentenceTransformerEmbedder
from embeddings.models import resolve_model_path
from embeddings.onnx_backend import ModelLayout, OnnxEmbedder

REPO = Path(__file__).resolve().parents[2]


def _model_folder(tmp_path: Path, *, pooling: dict[str, object], modules: list[str] | None = None) -> Path:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    types = modules or ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"]
    mods = [{"idx": i, "name": str(i), "path": "" if i == 0 else "1_Pooling", "type": t} for i, t in enumerate(types)]
    (folder / "modules.json").write_text(json.dumps(mods))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 32}))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_layout_accepts_mean_pooling(tmp_path: Path) -> None:
    layout = ModelLayout(_model_folder(tmp_path, pooling={"pooling_mode_mean_tokens": True}))
    assert (layout.dim, layout.max_tokens, layout.lowercase) == (8, 32, False)


@pytest.mark.parametrize(
    ("pooling", "modules", "message"),
    [
        ({"pooling_mode_cls_token": True}, None, "mean pooling only"),
        ({"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}, None, "mean pooling only"),
        ({"pooling_mode_mean_tokens": True},
         ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
          "sentence_transformers.models.Dense"], "use backend 'torch'"),
    ],
)
def test_layout_refuses_what_it_cannot_reproduce(tmp_path: Path, pooling: dict[str, object],
                                                 modules: list[str] | None, message: str) -> None:
    with pytest.raises(EmbedderError, match=message):
        ModelLayout(_model_folder(tmp_path, pooling=pooling, modules=modules))


def test_default_backend_falls_back_to_torch_for_models_onnx_cannot_run(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path, pooling={"pooling_mode_cls_token": True})
    # default backend: the torch loader gets the folder (and fails on this fake model with its own message)
    with pytest.raises(EmbedderError, match="cannot load embedding model"):
        load_embedder(EmbeddingSettings(model=str(folder)))
    # asked for explicitly: the onnx backend says why not
    with pytest.raises(EmbedderError, match="mean pooling only.*use backend 'torch'"):
        load_embedder(EmbeddingSettings(model=str(folder), backend="onnx", cache_dir=tmp_path))


def test_missing_onnxruntime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(onnx_backend, "onnx_available", lambda: False)
    with pytest.raises(EmbedderError, match=r"pip install onnxruntime onnx.*backend to .torch."):
        load_embedder(EmbeddingSettings(backend="onnx-int8", cache_dir=tmp_path))


def test_settings_give_the_onnx_cache_a_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from qa.config import get_settings

    monkeypatch.setenv("CITEQA_HOME", str(tmp_path))
    monkeypatch.delenv("CITEQA_EMBEDDING__CACHE_DIR")
    assert get_settings().embedding.backend == "onnx"  # the default
    monkeypatch.setenv("CITEQA_EMBEDDING__BACKEND", "onnx-int8")
    s = get_settings()
    assert s.embedding.backend == "onnx-int8" and s.embedding.cache_dir == tmp_path / "cache"


# ---- real model (opt-in: -m slow) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    embedder = load_embedder(EmbeddingSettings(backend="torch"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


@pytest.fixture(scope="module")
def seed_sentences() -> list[str]:
    from corpus.load import bundled_corpus_dir, load_articles
    from corpus.sentences import split_sentences

    articles = load_articles([bundled_corpus_dir()]).articles
    return [a.text[s:e] for a in articles for s, e in split_sentences(a.text)]


def _onnx(backend: str, cache: Path) -> OnnxEmbedder:
    embedder = load_embedder(EmbeddingSettings(backend=backend, cache_dir=cache))  # type: ignore[arg-type]
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.mark.slow
def test_fp32_export_gives_the_torch_vectors(onnx_cache: Path, torch_embedder: SentenceTransformerEmbedder,
                                             seed_sentences: list[str]) -> None:
    onnx = _onnx("onnx", onnx_cache)
    assert (onnx.dim, onnx.max_tokens) == (torch_embedder.dim, torch_embedder.max_tokens)
    want, got = torch_embedder.embed(seed_sentences), onnx.embed(seed_sentences)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(want * got, axis=1))) > 0.9999
    # one query (the single-thread path of torch) and padding inside a batch give the same vectors
    np.testing.assert_allclose(onnx.embed([seed_sentences[3]])[0], got[3], atol=1e-5)
    # same tokenizer, same counts: chunk boundaries do not move with the backend
    assert [onnx.count_tokens(s) for s in seed_sentences] == [torch_embedder.count_tokens(s) for s in seed_sentences]
    assert onnx.count_tokens_batch(seed_sentences[:5]) == [onnx.count_tokens(s) for s in seed_sentences[:5]]
    assert onnx.count_tokens("word " * 400) > onnx.max_tokens  # counting never truncates


@pytest.mark.slow
def test_int8_stays_close_to_torch(onnx_cache: Path, torch_embedder: SentenceTransformerEmbedder,
                                   seed_sentences: list[str]) -> None:
    int8 = _onnx("onnx-int8", onnx_cache)
    cosine = np.sum(torch_embedder.embed(seed_sentences) * int8.embed(seed_sentences), axis=1)
    assert float(cosine.mean()) > 0.98 and float(cosine.min()) > 0.9
    assert int8.onnx_path.name == "model_qint8.onnx"
    assert int8.onnx_path.stat().st_size < (int8.onnx_path.parent / "model.onnx").stat().st_size


@pytest.mark.slow
def test_export_is_cached_and_a_damaged_one_is_remade(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _onnx("onnx", onnx_cache)
    calls: list[Path] = []
    real_export = onnx_backend._export_fp32
    monkeypatch.setattr(onnx_backend, "_export_fp32", lambda layout, out: (calls.append(out), real_export(layout, out)))
    again = _onnx("onnx", onnx_cache)
    assert calls == [] and again.onnx_path == first.onnx_path  # loaded from the cache, not exported again

    first.onnx_path.write_bytes(first.onnx_path.read_bytes()[:1000])  # a truncated copy
    remade = _onnx("onnx", onnx_cache)
    assert len(calls) == 1
    np.testing.assert_allclose(remade.embed(["Versailles"]), first.embed(["Versailles"]), atol=1e-5)
    assert not list(remade.onnx_path.parent.glob("*.tmp"))


@pytest.mark.slow
def test_fp32_shares_torch_indexes_int8_does_not(onnx_cache: Path, torch_embedder: SentenceTransformerEmbedder,
                                                 tmp_path: Path, seeds_dir: Path) -> None:
    from corpus.load import load_articles
    from embeddings import Index, IndexMismatchError, RetrievalSettings

    fp32, int8 = _onnx("onnx", onnx_cache), _onnx("onnx-int8", onnx_cache)
    assert fp32.fingerprint() == torch_embedder.fingerprint() and fp32.model_id == torch_embedder.model_id
    assert int8.fingerprint() != torch_embedder.fingerprint()
    articles = load_articles([seeds_dir]).articles[:2]
    chunking, settings = ChunkSettings(), RetrievalSettings(top_k=5)
    torch_dir, int8_dir = tmp_path / "torch-index", tmp_path / "int8-index"
    build_index(articles, index_dir=torch_dir, embedder=torch_embedder, chunking=chunking,
                index_settings=IndexSettings(), progress=False)
    build_index(articles, index_dir=int8_dir, embedder=int8, chunking=chunking, index_settings=IndexSettings(),
                progress=False)
    question = "Where did Macron receive Putin?"
    by_torch = Index.load(torch_dir, embedder=torch_embedder, chunking=chunking).search(question, settings)
    by_fp32 = Index.load(torch_dir, embedder=fp32, chunking=chunking).search(question, settings)
    assert [(h.doc_id, h.start) for h in by_fp32] == [(h.doc_id, h.start) for h in by_torch]
    assert Index.load(int8_dir, embedder=int8, chunking=chunking).search(question, settings)
    with pytest.raises(IndexMismatchError, match=r"all-MiniLM-L6-v2@onnx-int8.*--rebuild"):
        Index.load(int8_dir, embedder=torch_embedder, chunking=chunking)
    with pytest.raises(IndexMismatchError, match=r"--rebuild"):
        Index.load(torch_dir, embedder=int8, chunking=chunking)


@pytest.mark.slow
def test_onnx_queries_never_import_torch(onnx_cache: Path) -> None:
    """Once exported, a process embedding with ONNX Runtime starts without torch (the cold-start win)."""
    _onnx("onnx-int8", onnx_cache)
    code = (
        "import sys\n"
        "from qa.config import get_settings\n"
        "from embeddings.embedder import load_embedder\n"
        "e = load_embedder(get_settings().embedding)\n"
        "assert e.embed(['Where did Macron receive Putin?']).shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "CITEQA_EMBEDDING__BACKEND": "onnx-int8", "CITEQA_EMBEDDING__CACHE_DIR": str(onnx_cache),
           "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]"


def test_shipped_model_folder_is_a_supported_layout() -> None:
    layout = ModelLayout(resolve_model_path("all-MiniLM-L6-v2"))
    assert (layout.dim, layout.max_tokens) == (384, 256)


@pytest.mark.slow
def test_cli_says_when_it_exports_and_then_starts_without_it(tmp_path: Path) -> None:
    """First `citeqa ask` on a fresh cache prints a notice for the one-time export; the next run is silent."""
    env = {**os.environ, "CITEQA_EMBEDDING__CACHE_DIR": str(tmp_path / "cache"), "CITEQA_HOME": str(tmp_path)}
    citeqa = [sys.executable, "-m", "ui.cli"]
    subprocess.run([*citeqa, "index"], env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    assert (tmp_path / "cache" / "onnx").is_dir()
    again = subprocess.run([*citeqa, "ask", "Where did Macron receive Putin in 2017?"], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=600, check=True)
    assert "first use only" not in again.stderr and "Versailles" in again.stdout
    fresh = {**env, "CITEQA_EMBEDDING__CACHE_DIR": str(tmp_path / "other-cache")}
    first = subprocess.run([*citeqa, "ask", "Where did Macron receive Putin in 2017?"], env=fresh, cwd=REPO,
                           capture_output=True, text=True, timeout=600, check=True)
    assert "first use only" in first.stderr and "Versailles" in first.stdout
