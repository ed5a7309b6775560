"""The corpus package's public surface, pinned; importing it stays light (no trafilatura/pypdf at import)."""

from __future__ import annotations

import subprocess
import sys

import corpus


def test_exported_members() -> None:
    assert sorted(corpus.__all__) == sorted(
        [
            "SUPPORTED_SUFFIXES",
            "Article",
            "ArticleError",
            "ArticleMeta",
            "Chunk",
            "CiteqaError",
            "LoadResult",
            "bundled_corpus_dir",
            "chunk_article",
            "clean_text",
            "extract_metadata",
            "load_article",
            "load_articles",
            "split_sentences",
        ]
    )
    for name in corpus.__all__:
        assert getattr(corpus, name) is not None


def test_import_does_not_load_heavy_readers() -> None:
    code = "import sys, corpus; print(sorted(m for m in ('trafilatura', 'pypdf', 'lxml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
