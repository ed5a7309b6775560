"""Answerability (issue 12): a candidate further down the ranking leaves the answer in doubt only when its sentence
is about what the question asks about. Real spaCy parses and entities; sentences scored by hand."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored


@pytest.mark.parametrize(("question", "text", "about"), [
    ("When was the Peace of Westphalia established?",
     "The Confederation of the Rhine was established by Napoleon in 1806.", False),  # none of its names
    ("When was the Peace of Westphalia established?",
     "The Peace of Westphalia was signed in 1648 after long talks.", True),
    ("What were the names of the two Mistral-class ships built for Russia?",
     "The deal is the first major arms deal between Russia and the West since World War II.", False),  # no ships
    ("Which anniversary did the Peter the Great exhibition at Versailles celebrate?",
     "The special event celebrates the 300th anniversary of Peter's first visit to France.", True),  # one name
    ("In what century did the dead branches dry up?",
     "The Upper Rhine was changed by a straightening program in the 19th Century.", True),  # 'century': the answer
])
def test_a_sentence_is_about_the_question_when_it_mentions_a_constraint_and_the_focus(
        question: str, text: str, about: bool) -> None:
    assert answerability.about_question(answerability.analyze(question), text) is about


def _plan(question: str, texts: list[str], scores: list[float]):  # type: ignore[no-untyped-def]
    body = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", body)}, HashEmbedder())
    scored, at = [], 0
    for text, score in zip(texts, scores, strict=True):
        start = body.index(text, at)
        at = start + len(text)
        scored.append(Scored(1, Sentence("d.txt", start, at, text), score, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored[:1], ev)


def test_a_date_further_down_about_something_else_leaves_no_doubt() -> None:
    plan = _plan("When was the Peace of Westphalia established?", [
        "Since the Peace of Westphalia, the Upper Rhine formed a contentious border between France and Germany.",
        "The Confederation of the Rhine was established by Napoleon, as a French client state, in 1806.",
    ], [1.0, 0.85])
    assert plan.chosen == [] and plan.missing is not None and plan.missing.startswith("when ")


def test_a_date_further_down_about_the_question_still_leaves_the_answer_in_doubt() -> None:
    plan = _plan("When was the Peace of Westphalia established?", [
        "Since the Peace of Westphalia, the Upper Rhine formed a contentious border between France and Germany.",
        "The Peace of Westphalia was signed by the emperor and his rivals in 1648.",
    ], [1.0, 0.85])
    assert plan.chosen and plan.missing is None


def test_a_name_after_a_recognised_possessive_is_a_candidate() -> None:
    """'Italy’s Matteo Renzi': the recogniser sees only 'Italy'; the words after its possessive are a name too."""
    from qa.analysis import sentence_entities

    text = "(In a possible sign of this, Italy’s Matteo Renzi signed on to France’s “grand coalition” on Nov. 26.)"
    analysis = answerability.analyze("Which Italian leader signed on to France’s “grand coalition” on Nov. 26, 2015?")
    extra = answerability._extra(answerability._loosened(analysis), text, sentence_entities([text])[0])
    assert "Matteo Renzi" in [e.text for e in extra]
    assert "France" not in [e.text for e in extra] and "s" not in [e.text for e in extra]


@pytest.mark.parametrize(("text", "spans"), [
    ("William invaded Scotland in 1072.", [(1072, 1072)]),
    ("a third attack in 1185, when a large Norman army invaded", [(1185, 1185)]),  # a year before a comma
    ("in the first half of the 10th century", [(900, 1000)]),
    ("in the 11–13th century AD", [(1000, 1300)]),
    ("the 1100s", [(1100, 1199)]),  # a century, not the year 1100 (qa.periods)
    ("the 6th century BC", []),  # not compared with years AD
    ("1,232 kilometres", []),
])
def test_periods(text: str, spans: list[tuple[int, int]]) -> None:
    from qa.periods import periods

    assert periods(text) == spans


@pytest.mark.parametrize(("question", "text", "contradicts"), [
    ("Who invaded Scotland in the 10th century?", "William invaded Scotland in 1072.", True),
    ("Who attacked Dyrrachium in the 11th century?",
     "The road was paved to a third attack in 1185, when a large Norman army invaded Dyrrachium.", True),
    ("Who invaded Scotland in the 11th century?", "William invaded Scotland in 1072.", False),
    ("When was the last meeting of the ministers held before the 2019 Moscow talks?",
     "The ministers are holding talks for the first time since 2012.", False),  # 2019 bounds the question
])
def test_a_sentence_dated_outside_the_asked_period_contradicts_the_question(
        question: str, text: str, contradicts: bool) -> None:
    assert answerability.contradicts(answerability.analyze(question), text) is contradicts


def _found(question: str, text: str) -> str | None:
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    found = answerability.find_answer(answerability.analyze(question), [Sentence("d.txt", 0, len(text), text)], [1.0],
                                      ev, margin=0.1)
    return None if found is None else text[found.entity.start:found.entity.end]


def test_a_sentence_naming_none_of_the_questions_names_answers_nothing() -> None:
    question = "Who commanded the Norman fleet at Dyrrachium?"
    assert _found(question, "Robert Guiscard crossed the sea with his army in the spring.") is None
    assert _found(question, "Robert Guiscard commanded the fleet at Dyrrachium in 1081.") == "Robert Guiscard"


def test_a_date_question_may_be_answered_by_a_sentence_naming_what_it_dates_otherwise() -> None:
    """'When was Europe fully forested after the last Ice Age?': the sentence dates it without naming the Ice Age."""
    assert _found("When was Europe fully forested after the last Ice Age?",
                  "By 9000 BP, the continent was fully forested.") == "9000 BP"
