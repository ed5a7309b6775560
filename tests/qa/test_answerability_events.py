"""Answerability by the question's event (issue 12): a 'who' answered by a place used as a place, in a sentence that
does not state what the question asks who did. Real spaCy parses of the seed articles' sentences and invented ones
of the same kinds."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability
from qa.analysis import sentence_entities
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal
from qa.ties import event_words


def _pick(question: str, text: str) -> str | None:
    sentence = Sentence("d", 0, len(text), text)
    found = answerability._pick(answerability.analyze(question), sentence, sentence_entities([text])[0])
    return None if found is None else text[found[0].start:found[0].end]


@pytest.mark.parametrize(("question", "text"), [
    # seed article 004: the meeting's date and place, not who represented France (it was answered 'Paris')
    ("Who represented France at the October 31, 2012 meeting of foreign and defense ministers?",
     "The last meeting in this format, with foreign and defense misters from the two countries getting behind the "
     "negotiations table, was held on October 31, 2012 in Paris."),
    ("Who chaired the 1998 summit of Baltic ministers?",
     "The 1998 summit of Baltic ministers took place in March at a hotel in Riga."),
    ("Who welcomed the delegation at the airport?",
     "The delegation landed at Sheremetyevo on Monday morning."),
])
def test_a_place_used_as_a_place_does_not_answer_who(question: str, text: str) -> None:
    assert _pick(question, text) is None


@pytest.mark.parametrize(("question", "text", "answer"), [
    # a country as the one acting, or receiving: still a 'who'
    ("Who annexed Crimea in 2014?", "In 2014 Russia annexed Crimea after a disputed referendum.", "Russia"),
    ("Who signed the alliance with France in 1892?",
     "In 1892 Russia concluded a military convention with France.", "Russia"),
    # the sentence states the event ('granted ... asylum'): the one asked for may be a phrase no recogniser types,
    # and the place is left as the short answer rather than refusing
    ("Who did France grant political asylum to on the day Putin visited?",
     "On the day of Putin’s visit, France granted political asylum for the first time to a victim of homophobic "
     "persecution in Chechnya.", "Chechnya"),
])
def test_a_place_still_answers_who_as_an_actor_or_when_the_event_is_stated(question: str, text: str,
                                                                            answer: str) -> None:
    assert _pick(question, text) == answer


_HUMILIATION = ("They wanted Macron to repair the humiliation of October 2016, when François Hollande advised "
                "Vladimir Putin against visiting Paris to inaugurate the new Russian Orthodox center.")  # article 001


@pytest.mark.parametrize(("question", "text", "answer"), [
    # the date of the humiliation (and of Hollande's advice), not of Macron's visit: it was answered 'October 2016'
    ("When did Macron make his return visit to Russia after Putin invited him?", _HUMILIATION, None),
    ("When did the king sign the treaty with Venice?",
     "The king, still haunted by the famine of 1315, feared Venice more than any enemy.", None),
    # the date's 'when' clause states the question's event, or the dated noun is the question's
    ("When did François Hollande advise Putin against visiting Paris to inaugurate the Russian Orthodox center?",
     _HUMILIATION, "October 2016"),
    ("When did the Normans conquer England?", "The Norman conquest of 1066 changed England for ever.", "1066"),
    # a date on a verb is left alone
    ("When did Macron host Putin?", "Macron hosted Putin at the Palace of Versailles on May 29, 2017.",
     "May 29, 2017"),
])
def test_a_date_question_is_not_answered_by_the_date_of_another_event(question: str, text: str,
                                                                        answer: str | None) -> None:
    assert _pick(question, text) == answer


@pytest.mark.parametrize(("question", "text", "answer"), [
    # asked when it began: 'since' gives the start (SQuAD 2.0, the Rhine article)
    ("When did tides and currents similar to our current system begin?",
     "Since 7500 yr ago, a situation with tides and currents, very similar to present has existed.", "7500 yr ago"),
    ("When did the talks between the two ministries start?",
     "The two ministries have held talks every spring since 2012.", "2012"),
    # otherwise 'since' only bounds a period: it is not the date of the visit
    ("When did Macron visit Moscow?", "Macron has not visited Moscow since 2017.", None),
])
def test_since_dates_a_beginning(question: str, text: str, answer: str | None) -> None:
    assert _pick(question, text) == answer


@pytest.mark.parametrize(("question", "words"), [
    ("Who represented France at the meeting?", {"repres"}),
    ("When did Macron make his return visit to Russia after Putin invited him?", {"visit"}),
])
def test_the_questions_event_is_its_verb_or_the_noun_of_a_light_verb(question: str, words: set[str]) -> None:
    found = event_words(answerability.analyze(question))
    assert {w[:6] for w in found} == {w[:6] for w in words}


_MISSION = ("The mission of the working group is to analyze the potential value of Russo-French cooperation on Syria "
            "and of the establishment of a new platform for dialogue.")  # seed article 004


@pytest.mark.parametrize(("question", "texts", "verb"), [
    # a description question answered by the group's mission: it asks what the group concluded
    ("What did the Franco-Russian working group on Syria conclude?", [_MISSION], "conclude"),
    ("What did the Franco-Russian working group on Syria conclude?",
     [_MISSION, "In June the working group concluded that joint strikes were possible."], None),
    ("What did the Franco-Russian working group on Syria conclude?",
     ["The working group's conclusion was that Moscow and Paris could share intelligence."], None),
    ("What did the inquiry reveal about the contracts?",
     ["The inquiry was set up by parliament in 2016 to examine the contracts."], "reveal"),
    ("What did the inquiry reveal about the contracts?",
     ["Its revelation that two contracts were never signed shocked the ministry."], None),
    # a date question about a discovery, answered by a sentence that only mentions the river
    ("When did Herodotus discover the Rhine?", ["Herodotus mentioned the Rhine in the 5th century BC."], "discover"),
])
def test_a_question_asking_what_was_found_needs_a_sentence_saying_it(question: str, texts: list[str],
                                                                     verb: str | None) -> None:
    assert answerability.unstated_result(answerability.analyze(question), texts) == verb


@pytest.mark.parametrize("question", [
    # what a poll found is usually stated as a plain fact (seed article 002: 'In a 2013 BBC World Service poll, 25%
    # of French people viewed Russia's influence positively ...')
    "What did the 2013 BBC World Service poll find?",
    "How many country villages can be found in the Middle Rhine valley?",  # passive 'be found': where things are
    "When was the Rhine first discovered by the Romans?",
    "Which French ministers travelled to Moscow in September 2019?",
])
def test_other_questions_ask_for_no_result(question: str) -> None:
    assert answerability.unstated_result(answerability.analyze(question), ["Nothing relevant is said here."]) is None


@pytest.mark.parametrize(("question", "refused"), [
    ("What did the Franco-Russian working group on Syria conclude?", True),
    ("What is the mission of the Franco-Russian working group on Syria?", False),
])
def test_the_generator_refuses_a_result_no_sentence_states(question: str, refused: bool) -> None:
    text = "Working group\n\n" + _MISSION + " It was set up by the two foreign ministers in 2015."
    start = text.index("The mission")
    ev = Evidence({"w.txt": Article("w.txt", "Working group", text)}, HashEmbedder())
    hits = [Hit("w.txt", start, len(text), text[start:], 1.0, title="Working group")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    raw = "".join(gen.generate(GenerationRequest(question, question, hits, [], ev)))
    assert is_refusal(raw) is refused
