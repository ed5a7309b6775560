"""Who wrote an article (qa/authors.py): which questions ask it, where the article states its author, and (with the
real embedding model over three small articles of our own) the answer quoting the byline, at the top or at the very
end, or refusing when the article names no author."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.clean import clean_text
from corpus.meta import extract_metadata
from corpus.types import Article
from qa import authors

_PADDING = " ".join(
    f"In {1990 + i} the harbour board met {i + 2} times to discuss the quay, the ferries and the fish market."
    for i in range(30))


def _article(doc_id: str, raw: str) -> Article:
    title, meta = extract_metadata(raw, doc_id=doc_id)
    return Article(doc_id, title, clean_text(raw), meta)  # as corpus.load reads a file


TOP = _article("top.txt", "The harbour gamble\n\nBy Maria Lindqvist\n\nThe harbour expansion has been a costly "
               "failure, with the new quay standing empty for most of the year. " + _PADDING)
END = _article("end.txt", "Lighthouses of the north coast\n\nThe old lighthouse at Skarv Point was switched off "
               "in 1987 after a century of service. " + _PADDING + "\n\nVolunteers repainted the lighthouse tower in "
               "red and white last summer.\n\n  • Henrik Dahl")
NONE = _article("none.txt", "Trams return\n\nThe new tram line opened in March and runs every ten minutes between "
                "the port and the fair. The opinion of the author may not reflect the position of the Herald or its "
                "staff.")


@pytest.mark.parametrize(("question", "asks"), [
    ("Who wrote the article about the harbour expansion?", True),
    ("Who is the author of the piece on the old lighthouse?", True),
    ("Which analyst wrote the 2019 commentary on trams?", True),
    ("Who wrote “The harbour gamble”?", True),
    ("And who wrote the one about the trams?", True),
    # something the article tells, not the article itself
    ("Who wrote the letter to the mayor?", False),
    ("Who wrote that the quay stands empty?", False),
    ("Who is the author of the harbour plan?", False),
    ("Who runs the harbour board?", False),
])
def test_which_questions_ask_for_an_articles_author(question: str, asks: bool) -> None:
    assert authors.asks_author(question) is asks


def test_where_an_article_states_its_author() -> None:
    for article, line in ((TOP, "By Maria Lindqvist"), (END, "• Henrik Dahl")):
        span = authors.byline_span(article)
        assert span is not None and article.text[span[0]:span[1]] == line
    assert NONE.meta.author is None and authors.byline_span(NONE) is None


def test_a_quoted_title_or_an_outlet_names_its_article() -> None:
    articles = {a.doc_id: a for a in (TOP, END, NONE)}
    assert authors.titled("Who wrote “The harbour gamble”?", articles) == "top.txt"
    assert authors.titled("Who wrote “The harbour plan”?", articles) is None
    assert authors.named("Who wrote the Herald piece on trams?", articles) == "none.txt"  # its outlet
    assert authors.named("Who wrote the piece on trams?", articles) is None


@pytest.fixture(scope="module")
def real_qa(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from embeddings import Index, build_index, load_embedder
    from qa import QA, get_settings

    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("authors") / "index")}})
    embedder = load_embedder(settings.embedding)
    build_index([TOP, END, NONE], index_dir=Path(settings.index_dir()), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


@pytest.mark.slow
def test_the_author_is_answered_from_a_byline_at_the_top_or_the_end(real_qa) -> None:  # type: ignore[no-untyped-def]
    top = real_qa.answer("Who wrote the article saying the harbour expansion has been a costly failure?")
    assert not top.refused and top.short_answer is not None and top.short_answer.text == "Maria Lindqvist"
    assert any("By Maria Lindqvist" in c.quote for c in top.citations)
    end = real_qa.answer("Who is the author of the piece about the old lighthouse at Skarv Point?")
    assert not end.refused and end.short_answer is not None and end.short_answer.text == "Henrik Dahl"  # last chunk
    assert any("Henrik Dahl" in c.quote and c.doc_id == "end.txt" for c in end.citations)


@pytest.mark.slow
def test_an_article_naming_no_author_is_refused(real_qa) -> None:  # type: ignore[no-untyped-def]
    answer = real_qa.answer("Who wrote the article about the new tram line?")
    assert answer.refused and "Lindqvist" not in answer.text and "Dahl" not in answer.text
    followup = real_qa.answer("And who wrote the one about the trams?", history=[
        {"role": "user", "content": "Who wrote the article saying the harbour expansion was a costly failure?"},
        {"role": "assistant", "content": "Maria Lindqvist."}])
    assert followup.refused and "say and who" not in followup.text  # the refusal says the resolved question
