"""A date question answered by the date on its own verb, and only by a date (qa.date_clauses)."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, date_clauses
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal


def _found(question: str, text: str) -> str | None:
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    found = answerability.find_answer(answerability.analyze(question), [Sentence("d.txt", 0, len(text), text)], [1.0],
                                      ev, margin=0.1)
    return None if found is None else text[found.entity.start:found.entity.end]


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("When did the German army re-occupy the Rhineland?",
     "The allies left the Rhineland in 1930 and the German army re-occupied it in 1936.", "1936"),
    ("When did the allies leave the Rhineland?",
     "The allies left the Rhineland in 1930 and the German army re-occupied it in 1936.", "1930"),
    ("In what year did the town rebuild the old bridge?",
     "The old bridge was closed to traffic in 1944, and the town rebuilt it in 1951.", "1951"),
    ("In what year was the old bridge closed?",
     "The old bridge was closed to traffic in 1944, and the town rebuilt it in 1951.", "1944"),
])
def test_the_date_on_the_questions_verb_is_the_answer(question: str, text: str, answer: str) -> None:
    assert _found(question, text) == answer


def _answer(question: str, text: str) -> str:
    ev = Evidence({"f.txt": Article("f.txt", "Fleet", text)}, HashEmbedder())
    hits = [Hit("f.txt", 0, len(text), text, 1.0, title="Fleet")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    return "".join(gen.generate(GenerationRequest(question, question, hits, [], ev)))


# the dated sentence scores close to the best one (it is quoted with it), but its date is on another verb and doer
FLEET = "In April 1191 the crusaders sailed the fleet into a storm. But a storm scattered the fleet."


def test_a_date_question_is_not_answered_by_a_sentence_without_its_date() -> None:
    # before: 'But a storm scattered the fleet. [1] In April 1191 the crusaders sailed ...', with no date as answer
    raw = _answer("What year did the fleet avoid a storm?", FLEET)
    assert is_refusal(raw), raw


def test_a_date_of_the_questions_event_still_answers() -> None:
    raw = _answer("What year did the crusaders sail the fleet into a storm?", FLEET)
    assert not is_refusal(raw) and raw.startswith("April 1191"), raw


def test_a_dateline_still_dates_a_report() -> None:
    from corpus.types import ArticleMeta

    text = "9 Sep, 2019 09:12\n\nThe ministers are visiting Moscow together and holding talks."
    art = Article("r.txt", "Ministers in Moscow", text, ArticleMeta(date="2019-09-09"))
    ev = Evidence({"r.txt": art}, HashEmbedder())
    start = text.index("The ministers")
    hits = [Hit("r.txt", start, len(text), text[start:], 1.0, title=art.title)]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    q = "When did the ministers visit Moscow together?"
    raw = "".join(gen.generate(GenerationRequest(q, q, hits, [], ev)))
    assert not is_refusal(raw) and "9 Sep, 2019" in raw, raw


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("In what year was the abbey church rebuilt?", "The abbey church was rebuilt in the 12th century.", None),
    ("What year did the band break up?", "The band broke up in the late 1990s, after a last tour.",
     "the late 1990s"),  # a decade is the closest answer a text gives, and answers
    ("What year did the chapel burn?", "The chapel burned in the 1100s, during a siege.", None),  # a century
    ("In what century was the abbey church rebuilt?", "The abbey church was rebuilt in the 12th century.",
     "the 12th century"),
    ("When was the abbey church rebuilt?", "The abbey church was rebuilt in the 12th century.", "the 12th century"),
    ("In what year was the abbey church rebuilt?", "The abbey church was rebuilt in 1142, in the 12th century.",
     "1142"),
])
def test_what_year_is_answered_by_a_year_or_decade_not_a_century(question: str, text: str, answer: str | None) -> None:
    assert _found(question, text) == answer


COLD = "During the Younger Dryas, ca. 12,900–11,700 yr BP, the valley froze and the river carried little water."


@pytest.mark.parametrize(("question", "answer"), [
    ("When did the Younger Dryas peak?", None),  # something within the period: not said
    ("When was the river dammed?", None),  # another thing's event: the period's date is not its
    ("When was the Younger Dryas?", "ca. 12,900–11,700 yr BP"),
    ("When did the Younger Dryas end?", "ca. 12,900–11,700 yr BP"),
    ("When did the valley freeze?", "ca. 12,900–11,700 yr BP"),  # the event is said: it happened in the period
])
def test_a_date_beside_a_name_dates_what_the_name_names(question: str, answer: str | None) -> None:
    assert _found(question, COLD) == answer


def test_a_persons_years_beside_the_name_are_left_alone() -> None:
    text = "The empire of Augustus (27 BC – AD 14) reached the Rhine."
    assert _found("When did Augustus rule Rome?", text) is not None


def test_a_period_said_to_end_at_a_date_answers_when_it_ended() -> None:
    text = "The last glacial ran from about 74,000 BP until the end of the Pleistocene (~11,600 BP)."
    assert _found("When did the last glacial end?", text) is not None


def test_a_single_date_beside_a_named_act_dates_the_act() -> None:
    # one year beside a decree, treaty or edict is when it was made, however the question says so; only a
    # period's span has something within it that the span does not date
    text = "The king revoked the old privileges and issued the Edict of Nantes (1598), which ended the war."
    assert _found("When was the edict declared?", text) == "1598"


@pytest.mark.parametrize("question", ["What is the longest time that a licence is good for?",
                                      "What is the shortest time a permit lasts?"])
def test_a_question_asking_for_a_span_is_not_refused_for_want_of_a_date(question: str) -> None:
    # 'time' makes it a date question, but it asks for a span, which no year gives: undated() must not refuse it
    text = "A licence generally lasts three years, but some licences last as long as ten years."
    assert not date_clauses.undated(answerability.analyze(question), [text])
    assert date_clauses.undated(answerability.analyze("When did the licence lapse?"), [text])


def test_a_when_question_without_its_date_is_still_refused() -> None:
    assert is_refusal(_answer("When did the fleet avoid a storm?", FLEET))
    assert is_refusal(_answer("In which year did the fleet avoid a storm?", FLEET))
