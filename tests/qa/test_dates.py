"""Date questions: an answer whose sentences place nothing in time also quotes the date its article gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.load import load_articles
from corpus.types import Article, ArticleMeta
from embeddings import HashEmbedder
from embeddings.types import Hit
from qa.cite import cite
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
RT = "004_6c5723df540ffc3e.txt"  # opens with the dateline "9 Sep, 2019 09:12"
VISIT = "The French foreign and defense ministers are visiting Moscow together"
QUESTION = "When did the French foreign and defense ministers visit Moscow together?"


@pytest.fixture(scope="module")
def evidence() -> Evidence:
    return Evidence({a.doc_id: a for a in load_articles([SEEDS]).articles}, HashEmbedder())


def _paragraph(evidence: Evidence, doc_id: str, needle: str) -> Hit:
    text = evidence.articles[doc_id].text
    at = text.index(needle)
    start = text.rfind("\n\n", 0, at) + 2
    end = text.find("\n\n", at)
    return Hit(doc_id, start, end, text[start:end], 1.0, title=evidence.articles[doc_id].title)


def _answer(evidence: Evidence, question: str, hits: list[Hit]) -> tuple[str, list]:
    generator = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=False))
    raw = "".join(generator.generate(GenerationRequest(question, question, hits, [], evidence)))
    result = cite(raw, hits, evidence, support_threshold=0.3)
    for c in result.citations:
        assert evidence.articles[c.doc_id].text[c.start : c.end] == c.quote
    return result.text, result.citations


def test_dateline_is_found_by_the_stated_date(evidence: Evidence) -> None:
    rt = evidence.dateline(RT)
    assert rt is not None and rt.text == "9 Sep, 2019 09:12"
    assert evidence.articles[RT].text[rt.start : rt.end] == rt.text
    smith = evidence.dateline("002_c143785ade127b25.txt")
    assert smith is not None and smith.text == "November 23, 2015"
    assert evidence.dateline("001_4531c746a2d8eea5.txt") is None  # states no date of its own
    # a stated date whose line cannot be found again is no dateline (never a made-up span)
    odd = Article("odd.txt", "Odd", "Odd\n\n" + "Words in a long first paragraph of prose. " * 10,
                  ArticleMeta(date="2019-09-09"))
    assert Evidence({"odd.txt": odd}, HashEmbedder()).dateline("odd.txt") is None


def test_date_question_without_a_dated_sentence_quotes_the_dateline(evidence: Evidence) -> None:
    hit = _paragraph(evidence, RT, VISIT)
    assert evidence.dateline(RT).start < hit.start  # type: ignore[union-attr]  # the chunk does not hold it
    text, citations = _answer(evidence, QUESTION, [hit])
    assert text.startswith(VISIT) and "since 2012" in text  # 'since 2012' bounds a period: not the date asked
    assert text.endswith("9 Sep, 2019 09:12 [2]")
    dated = citations[1]
    assert (dated.start, dated.end, dated.quote, dated.supported) == (0, 17, "9 Sep, 2019 09:12", True)


def test_other_questions_and_dated_answers_get_no_dateline(evidence: Evidence) -> None:
    hit = _paragraph(evidence, RT, VISIT)
    text, citations = _answer(evidence, "Which French ministers are visiting Moscow together?", [hit])
    assert "2019 09:12" not in text and all(c.start >= hit.start for c in citations)
    gorbachev = _paragraph(evidence, "003_34adbb450f54faca.txt", "Gorbachev made a visit to France")
    text, citations = _answer(evidence, "When did Mikhail Gorbachev visit France?", [gorbachev])
    assert text.startswith("Previous Soviet premier Mikhail Gorbachev made a visit to France in October 1985")
    assert len(citations) == len(_answer(evidence, "Did Mikhail Gorbachev visit France?", [gorbachev])[1])


def test_only_a_date_only_claim_is_quoted_from_the_dateline(evidence: Evidence) -> None:
    hit = _paragraph(evidence, RT, VISIT)
    r = cite("The ministers visited Moscow together in 2019. [1]", [hit], evidence, support_threshold=0.3)
    assert r.citations[0].start >= hit.start and r.citations[0].supported is False  # 2019 is not in the chunk
    r = cite("9 Sep, 2019 09:12 [1]", [hit], evidence, support_threshold=0.3)
    assert r.citations[0].quote == "9 Sep, 2019 09:12" and r.citations[0].supported is True


def _zorbia(dated: str) -> tuple[str, list]:
    text = (
        "Zorbia's council\n\n"
        "The Zorbian harbour council met in the old harbour hall for the first time since 1990 to vote on the "
        f"lighthouse budget. The vote was close. {dated}\n"
    )
    art = Article("z.txt", "Zorbia's council", text)  # no stated date, so no dateline
    ev = Evidence({"z.txt": art}, HashEmbedder())
    start = text.index("The Zorbian")
    hit = Hit("z.txt", start, len(text) - 1, text[start:-1], 1.0, title=art.title)
    return _answer(ev, "When did the Zorbian harbour council meet in the old harbour hall?", [hit])


def test_without_a_dateline_a_close_dated_sentence_of_the_same_article_is_added() -> None:
    answer, citations = _zorbia("The Zorbian council had first met in the harbour hall in March 1921.")
    assert answer.startswith("The Zorbian harbour council met")  # the best sentence, dated only 'since 1990'
    assert answer.endswith("in March 1921. [2]") and "March 1921" in citations[1].quote
    # a dated sentence scoring far below the best is not added
    answer, citations = _zorbia("The Zorbian harbour council first met in March 1921.")
    assert "1921" not in answer and len(citations) == 1
