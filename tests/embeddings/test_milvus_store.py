"""The Milvus store's pieces: ids, URIs, settings, the import boundary (fast), and a Milvus Lite file (heavy).

The server-process cases (gRPC, faults, FAISS parity on the seed articles) are in
tests/reliability/test_rel_milvus.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from embeddings import ChunkSettings, HashEmbedder, Index, IndexSettings, RetrievalSettings, build_index
from embeddings.bm25 import tokenize
from embeddings.milvus_store import ChunkRow, MilvusStore, bm25_terms, chunk_id, collection_name, public_uri

REPO = Path(__file__).resolve().parents[2]


def test_chunk_ids_are_stable_and_distinct() -> None:
    a = chunk_id("a.txt", "h1", 0, 10)
    assert a == chunk_id("a.txt", "h1", 0, 10) and 0 <= a < 2**63
    assert len({a, chunk_id("a.txt", "h2", 0, 10), chunk_id("a.txt", "h1", 0, 11), chunk_id("b.txt", "h1", 0, 10),
                chunk_id("a.txt\0h1", "", 0, 10)}) == 5


def test_public_uri_drops_credentials_only() -> None:
    assert public_uri("https://user:pw@db.example:19530/x") == "https://db.example:19530/x"
    assert public_uri("http://127.0.0.1:19530") == "http://127.0.0.1:19530"
    assert public_uri("./citeqa-milvus.db") == "./citeqa-milvus.db"


def test_collection_name_per_index_folder(tmp_path: Path) -> None:
    s = IndexSettings(store="milvus", milvus_uri="http://127.0.0.1:19530")
    a, b = collection_name(s, tmp_path / "a"), collection_name(s, tmp_path / "b")
    assert a != b and a.startswith("citeqa_") and len(a) == 23 and a == collection_name(s, tmp_path / "x" / ".." / "a")
    assert collection_name(s.model_copy(update={"milvus_collection": "mine"}), tmp_path / "a") == "mine"


def test_bm25_terms_are_the_faiss_paths_terms() -> None:
    text = "Sarkozy's warships were sold; the ships sailed."
    assert bm25_terms(text).split() == tokenize(text) and "the" not in bm25_terms(text).split()
    assert bm25_terms("the of and") == ""


def test_settings_refuse_bad_values_and_hide_the_token() -> None:
    with pytest.raises(ValidationError):
        IndexSettings(store="qdrant")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        IndexSettings(milvus_consistency="Sometimes")  # type: ignore[arg-type]
    s = IndexSettings(store="milvus", milvus_uri="http://h:1", milvus_token="root:Milvus")  # type: ignore[arg-type]
    assert "root:Milvus" not in repr(s) and "root:Milvus" not in s.model_dump_json()
    assert s.milvus_token is not None and s.milvus_token.get_secret_value() == "root:Milvus"


def test_store_without_uri_is_a_clear_error(tmp_path: Path) -> None:
    from embeddings.errors import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="index.milvus_uri is not set"):
        MilvusStore.open(IndexSettings(store="milvus"), index_dir=tmp_path, dim=8, fingerprint="f")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_milvus_modules_import_pymilvus() -> None:
    """pymilvus (and Milvus Lite) are imported by embeddings/milvus_*.py only, and those only when the store is
    Milvus (build.py, index.py import them inside the Milvus branch; tests/reliability checks the FAISS path)."""
    users = sorted(str(p.relative_to(REPO)) for layer in ("corpus", "embeddings", "qa", "evals", "ui")
                   for p in (REPO / layer).rglob("*.py") if _imports(p) & {"pymilvus", "milvus_lite"})
    assert users == ["embeddings/milvus_search.py", "embeddings/milvus_store.py"]
    top = {n.module for n in ast.parse((REPO / "embeddings/milvus_store.py").read_text()).body
           if isinstance(n, ast.ImportFrom) and n.module}
    assert "pymilvus" not in top  # imported lazily: importing the module costs nothing


@pytest.mark.heavy
def test_milvus_lite_file(tmp_path: Path) -> None:
    """``index.milvus_uri`` as a Milvus Lite file (pymilvus runs Milvus Lite in this process): build, search,
    upsert twice without duplicates."""
    emb, chunking = HashEmbedder(), ChunkSettings(size=24, overlap=8)
    settings = IndexSettings(store="milvus", milvus_uri=str(tmp_path / "milvus.db"))
    text = "Cats sleep most of the day. A cat purrs when content. Cats hunt mice at night in the barn."
    from corpus.types import Article, text_hash

    art = Article("cats.txt", "Cats", text, content_hash=text_hash(text))
    build_index([art], index_dir=tmp_path / "idx", embedder=emb, chunking=chunking, index_settings=settings,
                progress=False)
    index = Index.load(tmp_path / "idx", embedder=emb, chunking=chunking, store=settings)
    hits = index.search("cat purrs", RetrievalSettings())
    assert hits and all(text[h.start:h.end] == h.text for h in hits)
    store = MilvusStore.open(settings, index_dir=tmp_path / "idx", dim=emb.dim,
                             fingerprint=index.manifest["model_fingerprint"], create=False)
    try:
        n = store.count()
        row = ChunkRow("cats.txt", art.content_hash, index.chunks[0].start, index.chunks[0].end, index.chunks[0].text,
                       np.asarray(index.vectors[0]))
        store.insert([row, row])
        assert store.count() == n == len(index.chunks)  # upserts by chunk id: no duplicate
    finally:
        store.close()
