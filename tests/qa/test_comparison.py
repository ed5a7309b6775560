"""Questions comparing named sources (qa/comparison.py): which of the question's words name an article (its author,
outlet or year), the topic each side is asked about (fast); and, with the real embedding model over three small
articles of our own (none from the eval sets), an answer that cites every compared source, or still refuses when
no source says anything on the topic (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.types import Article, ArticleMeta
from qa.comparison import sources, topic

LINDQVIST = Article("harbour.txt", "The harbour gamble", "The harbour gamble\n\nBy Maria Lindqvist\n\n"
                    "The harbour expansion has been a costly failure, with the new quay standing empty for most of "
                    "the year. Critics of the harbour expansion say the council ignored every warning about falling "
                    "trade. The harbour expansion also swallowed the money meant for the old town's schools. "
                    "Tourism, by contrast, grew steadily over the same period, helped by the summer festival.",
                    ArticleMeta(author="Maria Lindqvist"))
HERALD = Article("herald.txt", "City celebrates record cargo", "City celebrates record cargo\n\n"
                 "The mayor opened the autumn fair on Saturday with a speech about the city's future. "
                 "Officials hailed the new quay as a triumph, pointing to record cargo volumes since it opened. "
                 "The fair itself drew fewer visitors than last year because of the rain.",
                 ArticleMeta(outlet="baltic-herald.com"))
BERG = Article("football.txt", "Cup final", "Cup final\n\nBy Tomas Berg\n\nThe home side won the cup final 2-1 "
               "after a late goal from their captain. The stadium was full for the first time in a decade.",
               ArticleMeta(author="Tomas Berg", date="2015-05-02"))
HERALD_2019 = Article("herald2.txt", "Trams", "Trams\n\nThe new tram line opened in March.",
                      ArticleMeta(outlet="Baltic Herald", date="2019-03-01"))
ARTICLES = {a.doc_id: a for a in (LINDQVIST, HERALD, BERG)}


@pytest.mark.parametrize(("question", "named"), [
    # authors (full name or surname), an outlet without its web domain, side by side or with a word of comparison
    ("How do Maria Lindqvist and Tomas Berg describe the city?", ["Maria Lindqvist", "Tomas Berg"]),
    ("How do Lindqvist's article and the Baltic Herald article describe the new quay?", ["Lindqvist", "Baltic Herald"]),
    ("Do Berg and Lindqvist agree on the council?", ["Berg", "Lindqvist"]),
    ("What does Lindqvist say about trade, compared with Berg?", ["Lindqvist", "Berg"]),
    # one source, or two named apart without a word of comparison: not a comparison of sources
    ("What does Maria Lindqvist say about the harbour expansion?", []),
    ("Did Lindqvist quote anyone who writes for Berg's club?", []),
    # a name the articles do not hold is no source
    ("How do Maria Lindqvist and Anna Holm describe the city?", []),
])
def test_the_sources_a_question_compares(question: str, named: list[str]) -> None:
    assert [s.text for s in sources(question, ARTICLES)] == named
    assert all(question[s.start:s.end] == s.text for s in sources(question, ARTICLES))


def test_a_source_named_by_its_year_stands_for_the_one_article_of_that_year() -> None:
    articles = {a.doc_id: a for a in (BERG, HERALD_2019)}
    found = sources("What do the 2015 and the 2019 articles say about the city?", articles)
    assert [(s.text, s.doc_id) for s in found] == [("2015", "football.txt"), ("2019", "herald2.txt")]
    # two articles of the same year: "the 2019 article" names neither
    twin = Article("other.txt", "Other", "Other\n\nText.", ArticleMeta(date="2019-06-01"))
    assert sources("What do the 2015 and the 2019 articles say?", {**articles, "other.txt": twin}) == []


@pytest.mark.parametrize(("question", "about"), [
    ("How do Lindqvist's article and the Baltic Herald article describe what happened to the quay?",
     "what happened to the quay"),
    ("How do Maria Lindqvist and Tomas Berg differ in judging the outcome of the council vote?",
     "the outcome of the council vote"),
    ("Do Berg and Lindqvist each describe the harbour expansion?", "the harbour expansion"),
    # nothing of its own after the sources: the question without their names
    ("What did Lindqvist and Berg write?", "What did and write?"),
])
def test_the_topic_each_side_is_asked_about(question: str, about: str) -> None:
    assert topic(question, sources(question, ARTICLES)) == about


# -- the real model over three small articles ------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from embeddings import Index, build_index, load_embedder
    from qa import QA, get_settings

    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("cmp") / "index")}})
    embedder = load_embedder(settings.embedding)
    build_index(list(ARTICLES.values()), index_dir=Path(settings.index_dir()), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


@pytest.mark.slow
def test_a_comparison_answer_cites_every_source_it_compares(real_qa) -> None:  # type: ignore[no-untyped-def]
    # Lindqvist's article says most about the expansion: without a look-up per source the answer quoted it alone
    answer = real_qa.answer("How do Maria Lindqvist and the Baltic Herald article judge the harbour expansion?")
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} >= {"harbour.txt", "herald.txt"}
    assert "hailed the new quay as a triumph" in answer.text and "costly failure" in answer.text


@pytest.mark.slow
def test_a_comparison_that_no_source_answers_is_still_refused(real_qa) -> None:  # type: ignore[no-untyped-def]
    answer = real_qa.answer("How do Maria Lindqvist and the Baltic Herald article judge the new airport terminal?")
    assert answer.refused


@pytest.mark.slow
def test_the_comparison_is_off_with_its_setting(real_qa) -> None:  # type: ignore[no-untyped-def]
    off = real_qa.with_settings(retrieval={"compare_sources": False})
    answer = off.answer("How do Maria Lindqvist and the Baltic Herald article judge the harbour expansion?")
    assert "herald.txt" not in {c.doc_id for c in answer.citations}


# -- two names compared (no article stands for them) -----------------------------------------------------------
@pytest.mark.parametrize(("question", "named"), [
    ("How did Angela Merkel and Emmanuel Macron differ on the budget?", ["Angela Merkel", "Emmanuel Macron"]),
    ("Do Berlin and Paris agree on the tariffs?", ["Berlin", "Paris"]),
    ("How do Merkel's and Macron's views of NATO compare?", ["Merkel", "Macron"]),
    # no word of comparison, or the names not side by side: not a comparison of the two
    ("When did Angela Merkel and Emmanuel Macron meet?", []),
    ("Did Merkel differ with her party on Macron's budget?", []),
])
def test_the_names_a_question_compares(question: str, named: list[str]) -> None:
    from qa.comparison import entity_sources

    assert [s.text for s in entity_sources(question)] == named


QUAY = Article("quay.txt", "Quay", "Quay\n\nThe harbour board met on Monday to discuss the new quay. Councillor Sara "
               "Holm called the new quay a waste of public money that the town will regret for decades. The board "
               "also approved a new ferry timetable for the winter months.", ArticleMeta())
FAIR = Article("fair.txt", "Fair", "Fair\n\nThe autumn fair opened on Saturday. Mayor Jonas Ek praised the new quay "
               "as the best investment the town has made in a generation. Most stalls sold local cheese and honey. "
               "The harbour board will publish its accounts in the spring, and the new quay will be named then.",
               ArticleMeta())


@pytest.fixture(scope="module")
def names_qa(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from embeddings import Index, build_index, load_embedder
    from qa import QA, get_settings

    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("cmpn") / "index")}})
    embedder = load_embedder(settings.embedding)
    build_index([QUAY, FAIR, BERG], index_dir=Path(settings.index_dir()), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


@pytest.mark.slow
def test_a_comparison_of_two_names_quotes_each_one(names_qa) -> None:  # type: ignore[no-untyped-def]
    question = "How do Sara Holm and Jonas Ek differ in judging the new quay?"
    answer = names_qa.answer(question)
    assert not answer.refused
    assert "Holm" in answer.text and "Ek praised" in answer.text
    off = names_qa.with_settings(retrieval={"compare_sources": False}).answer(question)
    assert not ("Holm" in off.text and "Ek praised" in off.text)  # without a look-up per name: one of them
