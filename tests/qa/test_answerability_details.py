"""A detail finer than the candidate gives (qa/details.py): 'at what time' needs a time of day, 'what day' a day,
'how many N' a count, not a percentage; and 'how long' answered by a span said without a number ('for centuries',
qa/measures.py). Our own sentences of each kind; real spaCy parses; the extractive answer with the analysis alone
deciding (threshold off)."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, details, measures
from qa.analysis import Entity
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal


def _answer(question: str, text: str) -> str:
    body = "Harbour news\n\n" + text
    ev = Evidence({"h.txt": Article("h.txt", "Harbour news", body)}, HashEmbedder())
    start = body.index(text)
    hits = [Hit("h.txt", start, len(body), body[start:], 1.0, title="Harbour news")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    return "".join(gen.generate(GenerationRequest(question=question, query=question, hits=hits, history=[],
                                                  evidence=ev)))


@pytest.mark.parametrize(("question", "coarser", "answers"), [
    ("At what time did the ferry leave the harbour on Sunday?",
     "The ferry has left the harbour every Sunday since 1998.", "The ferry left the harbour at 6:30 a.m. on Sunday."),
    ("How many people answered the harbour survey?",
     "In the harbour survey, 40% of the villagers favoured the new bridge.",
     "In all, 1,200 people answered the harbour survey last spring."),
    ("On what day in May 2011 did the new bridge open?",
     "The new bridge opened in May 2011 after three years of work.",
     "The new bridge opened on May 14, 2011 after three years of work."),
])
def test_a_coarser_candidate_is_no_answer_and_the_detail_is(question: str, coarser: str, answers: str) -> None:
    assert is_refusal(_answer(question, coarser))
    assert not is_refusal(_answer(question, answers))


@pytest.mark.parametrize(("question", "candidate", "coarse"), [
    ("At what time did the talks begin?", "2012", True),
    ("At what time did the talks begin?", "noon", False),
    ("What time of day did the storm hit?", "the evening", False),
    ("What time did a river system develop in the valley?", "the Miocene", False),  # a bare 'what time': when
    ("What day did the strike start?", "Monday", False),
    ("What date in 2010 was the treaty signed?", "2010", True),
    ("What date was the treaty signed?", "2010", False),  # 'what date' alone may be answered by a year
    ("How many people took part?", "25%", True),
    ("How many percentage points did the party gain?", "4 percent", False),
    ("How many votes did she get?", "1,204", False),
])
def test_which_candidates_are_coarser_than_asked(question: str, candidate: str, coarse: bool) -> None:
    assert details.coarse(answerability.analyze(question), Entity(candidate, 0, len(candidate), "DATE")) is coarse


def test_a_dated_sentence_does_not_give_a_time_of_day_or_the_day_of_a_given_month() -> None:
    assert details.finer_than_dated(answerability.analyze("At what time did the talks begin on Monday?"))
    assert details.finer_than_dated(answerability.analyze("On what day in May 2011 did the bridge open?"))
    assert not details.finer_than_dated(answerability.analyze("On what day did the bridge open?"))
    assert not details.finer_than_dated(answerability.analyze("When did the bridge open?"))


@pytest.mark.parametrize(("sentence", "spans"), [
    ("The family has owned the mill for centuries.", True),
    ("Fishermen have used the old quay over many decades.", True),
    ("The family has owned the mill since 1850.", False),
    ("The family bought the mill in 1850.", False),
])
def test_a_span_without_a_number_answers_how_long(sentence: str, spans: bool) -> None:
    assert (measures.unmeasured("How long has the family owned the mill?", sentence) is None) is spans
