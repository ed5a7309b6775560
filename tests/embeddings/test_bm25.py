"""BM25Index: stemming and stopwords, queries without known terms, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.bm25 import BM25Index, tokenize

TEXTS = ["The cats are running in the garden.", "A dog barks at the postman.", "!!! ???",
         "Macron received Putin at Versailles."]


def test_tokenize_stems_and_drops_stopwords() -> None:
    assert tokenize("The cats are running") == ["cat", "run"]
    assert tokenize("the of and") == []


def test_search_matches_inflections_best_first() -> None:
    index = BM25Index.build(TEXTS)
    scores, rows = index.search("cat runs", 10)
    assert list(rows) == [0] and scores[0] > 0
    assert list(index.search("Putin Versailles receive", 10)[1]) == [3]


@pytest.mark.parametrize("query", ["", "the of and", "zzzqqq unknownword", "?!"])
def test_query_without_known_terms_returns_nothing(query: str) -> None:
    scores, rows = BM25Index.build(TEXTS).search(query, 5)
    assert len(rows) == 0 and len(scores) == 0


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = BM25Index.build(TEXTS)
    index.save(tmp_path / "bm25")
    again = BM25Index.load(tmp_path / "bm25")
    assert again.n_docs == 4
    assert list(again.search("dogs barking", 3)[1]) == list(index.search("dogs barking", 3)[1]) == [1]


def test_empty_index(tmp_path: Path) -> None:
    index = BM25Index.build([])
    assert len(index.search("cat", 3)[1]) == 0
    index.save(tmp_path / "bm25")
    assert BM25Index.load(tmp_path / "bm25").n_docs == 0


def test_missing_files_raise(tmp_path: Path) -> None:
    BM25Index.build(TEXTS).save(tmp_path / "bm25")
    (tmp_path / "bm25" / "vocab.index.json").unlink()
    with pytest.raises((OSError, ValueError)):
        BM25Index.load(tmp_path / "bm25")
