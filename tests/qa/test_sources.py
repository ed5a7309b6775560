"""Questions that name their source ("According to Maria Lindqvist, ...?", "... in the 2019 Baltic Herald article?")
(qa/sources.py): the phrase is found and removed when it names exactly one article of our own small set, left
alone when it names none or two (fast); and, with the real embedding model, the answer is read from the named
article although another article says it otherwise (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.types import Article, ArticleMeta
from qa.sources import named

LINDQVIST = Article("harbour.txt", "The harbour gamble", "The harbour gamble\n\nBy Maria Lindqvist\n\n"
                    "The harbour expansion cost the city 40 million euros, twice the first estimate. Critics of the "
                    "expansion say the council ignored every warning about falling trade. The new quay stands "
                    "empty for most of the year.",
                    ArticleMeta(author="Maria Lindqvist", date="2018-04-02"))
HERALD = Article("herald.txt", "City celebrates record cargo", "City celebrates record cargo\n\n"
                 "The mayor opened the autumn fair on Saturday with a speech about the city's future. "
                 "According to the council, the harbour expansion cost 25 million euros and paid for itself within "
                 "a year. Officials hailed the new quay as a triumph, pointing to record cargo volumes.",
                 ArticleMeta(outlet="baltic-herald.com", date="2019-09-09"))
BERG = Article("football.txt", "Cup final", "Cup final\n\nBy Tomas Berg\n\nThe home side won the cup final 2-1 "
               "after a late goal from their captain. The stadium was full for the first time in a decade.",
               ArticleMeta(author="Tomas Berg", date="2019-05-02"))
ARTICLES = {a.doc_id: a for a in (LINDQVIST, HERALD, BERG)}


@pytest.mark.parametrize(("question", "doc_id", "rest"), [
    ("According to Maria Lindqvist, how much did the harbour expansion cost?", "harbour.txt",
     "How much did the harbour expansion cost?"),
    ("How much did the harbour expansion cost, according to Lindqvist?", "harbour.txt",
     "How much did the harbour expansion cost?"),
    ("How much did the harbour expansion cost in the 2019 Baltic Herald article?", "herald.txt",
     "How much did the harbour expansion cost?"),
    ("According to the Baltic Herald, who opened the autumn fair?", "herald.txt", "Who opened the autumn fair?"),
    ("Who scored the late goal in Berg's article?", "football.txt", "Who scored the late goal?"),
    ("What did the council ignore, in Lindqvist's view?", "harbour.txt", "What did the council ignore?"),
    ("According to the 2018 article, what stands empty for most of the year?", "harbour.txt",
     "What stands empty for most of the year?"),
])
def test_a_source_phrase_naming_one_article_is_removed(question: str, doc_id: str, rest: str) -> None:
    found = named(question, ARTICLES)
    assert found is not None
    assert (found.doc_id, found.question) == (doc_id, rest)


@pytest.mark.parametrize("question", [
    # the phrase names no article of the set
    "According to Anna Holm, how much did the harbour expansion cost?",
    "How much did the harbour expansion cost in the Daily Post article?",
    # a year two articles share names neither
    "According to the 2019 article, who opened the autumn fair?",
    # a name outside a source phrase is what the question is about, not its source
    "What did Lindqvist say about the harbour expansion?",
    "Did Tomas Berg score the late goal?",
    # two sources named: a comparison (qa/comparison), not one article
    "According to Lindqvist and the Baltic Herald, how much did the harbour expansion cost?",
])
def test_a_question_whose_source_names_no_single_article_is_left_alone(question: str) -> None:
    assert named(question, ARTICLES) is None


# -- the real model over the three articles ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from embeddings import Index, build_index, load_embedder
    from qa import QA, get_settings

    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("src") / "index")}})
    embedder = load_embedder(settings.embedding)
    build_index(list(ARTICLES.values()), index_dir=Path(settings.index_dir()), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


@pytest.mark.slow
@pytest.mark.parametrize(("question", "said", "doc_id"), [
    ("According to the Baltic Herald, how much did the harbour expansion cost?", "25 million", "herald.txt"),
    ("How much did the harbour expansion cost, according to Maria Lindqvist?", "40 million", "harbour.txt"),
])
def test_the_answer_is_read_from_the_named_article(real_qa, question: str, said: str,  # type: ignore[no-untyped-def]
                                                   doc_id: str) -> None:
    answer = real_qa.answer(question)
    assert not answer.refused
    assert said in answer.text
    assert {c.doc_id for c in answer.citations} == {doc_id}


@pytest.mark.slow
def test_a_source_that_names_no_article_leaves_the_question_as_asked(real_qa) -> None:  # type: ignore[no-untyped-def]
    question = "According to Anna Holm, how much did the harbour expansion cost?"
    assert real_qa.answer(question).query == question
