"""British and American spellings: a query spelled one way finds a chunk spelled the other (embeddings.spelling)."""

from __future__ import annotations

import pytest

from embeddings.bm25 import BM25Index
from embeddings.spelling import variants

CHUNKS = [
    "Analysts describe Donald Trump's chaotic and unpredictable behavior at the summit.",
    "The city centre was closed to traffic during the parade.",
    "The ministry of defense announced a new budget for the navy.",
    "The organization said it had realized its goals years ago.",
    "Tourists pour into the old tower every hour of the day.",
]


@pytest.mark.parametrize(("query", "row"), [
    ("What was the behaviour like?", 0),
    ("What was in the center?", 1),
    ("Who spoke of defence?", 2),
    ("Who realised what?", 3),
    ("What did the organisation do?", 3),
])
def test_a_query_finds_the_chunk_spelled_the_other_way(query: str, row: int) -> None:
    # the word spelled the other way is the query's only word the chunks hold
    index = BM25Index.build(CHUNKS)
    scores, rows = index.search(query, k=5)
    assert rows.tolist() == [row]


def test_the_other_spelling_outranks_a_chunk_with_a_weaker_word() -> None:
    index = BM25Index.build(CHUNKS)
    assert index.search("chaotic behaviour in the city", k=5)[1][0] == 0


def test_the_index_needs_no_rebuild_a_saved_index_is_searched_with_both_spellings(tmp_path) -> None:
    BM25Index.build(CHUNKS).save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.search("chaotic behaviour", k=1)[1].tolist() == [0]


def test_a_word_spelled_as_the_article_spells_it_scores_as_before() -> None:
    index = BM25Index.build(CHUNKS)
    before = index.search("unpredictable behavior", k=5)
    assert before[1][0] == 0 and before[1].size == 1


@pytest.mark.parametrize(("word", "other"), [
    ("behaviour", "behavior"), ("favourite", "favorite"), ("colored", "coloured"),
    ("organisations", "organizations"), ("criticised", "criticized"), ("minimise", "minimize"),
    ("centre", "center"), ("centred", "centered"), ("metres", "meters"), ("defence", "defense"),
    ("offences", "offenses"), ("catalogue", "catalog"), ("travelled", "traveled"),
])
def test_regular_spelling_pairs_are_variants_both_ways(word: str, other: str) -> None:
    assert other in variants(word)
    assert word in variants(other)


@pytest.mark.parametrize("word", [
    # '-our' words that are no Latinate stem, '-ise' that is no suffix, '-re'/'-er' and '-ence' that are no pair
    "tour", "four", "hour", "pour", "flour", "your", "actor", "laboratory", "advise", "exercise", "surprise",
    "promised", "franchise", "appraise", "size", "prize", "seize", "rise", "wise", "water", "order", "acre",
    "genre", "massacre", "sense", "fence", "science", "dense",
])
def test_words_a_blind_rule_would_merge_have_no_variant(word: str) -> None:
    assert variants(word) == frozenset()


def test_a_tour_does_not_find_a_tor() -> None:
    index = BM25Index.build(["The tor above the village is granite.", "The band's tour ended in Paris."])
    assert index.search("Where did the tour end?", k=2)[1].tolist() == [1]
