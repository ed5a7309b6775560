"""Swaps on every path (issue 12): a sentence that swaps a word the question gives refuses the question whichever
path would have answered it. A candidate found below such a sentence ('the shortest river' asked, 'the longest
river' said first, a name from a sentence without 'shortest' below: ``relations.outranked``), and a clause
answer whose first sentence names another thing beside the same noun ('British art' asked, 'Norman art' said:
``relations.opens_with_swap``). Two words for one thing ('largest'/'biggest') and another doer, which is more
often another event, are not decisive. Real spaCy parses; invented sentences of those kinds."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored


def _plan(question: str, *texts: str):  # type: ignore[no-untyped-def]
    """The plan for a question whose retrieved sentences are ``texts``, best first."""
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 20, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.12))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def _sentences(*texts: str) -> list[Sentence]:
    return [Sentence("d.txt", 0, len(t), t) for t in texts]


@pytest.mark.parametrize(("question", "sentence"), [
    # an antonym of the asked superlative on the same noun
    ("What is the shortest canal in Sweden?", "The Gota Canal is the longest canal in Sweden."),
    # another ordinal beside the same noun
    ("Who led the third siege of the fortress?", "Count Aldric led the second siege of the fortress."),
    # another people beside the same noun
    ("How much grain crosses the Polish border?", "Most grain crosses the Czech border by rail."),
])
def test_a_decisive_swap(question: str, sentence: str) -> None:
    assert relations.decisive(question, sentence) is not None


@pytest.mark.parametrize(("question", "sentence"), [
    # two plain adjectives that may name one thing: a paraphrase as likely as a swap
    ("What is the largest town the canal runs through?", "The biggest town on the canal is Hallen."),
    ("Which lake feeds the main streams of the valley?", "The Vatten lake feeds the major streams of the valley."),
    # a plain adjective against a name: not words of one kind
    ("When did the two kings sign the defensive treaty?", "The Anglo-Danish treaty of 1801 bound the two kings."),
])
def test_two_words_for_one_thing_are_not_decisive(question: str, sentence: str) -> None:
    assert relations.decisive(question, sentence) is None


def test_a_candidate_below_a_sentence_with_the_antonym_is_outranked() -> None:
    question = "What is the shortest canal in Sweden?"
    longest = "The Gota Canal is the longest canal in Sweden."
    city = "The biggest town on the Gota Canal is Motala, with a population of more than 40,000 people."
    assert relations.outranked(question, _sentences(longest, city), 1) is not None
    # the candidate's sentence says 'shortest' itself: it may answer
    shortest = "The shortest canal in Sweden is the Soder Canal, dug in 1819 near the town of Motala."
    assert relations.outranked(question, _sentences(longest, shortest), 1) is None
    # the sentence with the antonym ranked below the candidate: it does not displace it
    assert relations.outranked(question, _sentences(city, longest), 0) is None


def test_another_doer_above_the_candidate_does_not_outrank_it() -> None:
    """'visiting Paris' above a dated sentence on the visit to the palace: another event, not a swap of it."""
    question = "On what date did the duke visit the palace?"
    other = "The king later advised the duke against visiting Paris in the spring."
    dated = "The duke and the king enter the hall of the palace on Thursday, November 12, 1812."
    assert relations.outranked(question, _sentences(other, dated), 1) is None


def test_a_name_found_below_a_sentence_about_the_opposite_is_refused() -> None:
    """End to end: the best sentence says 'longest' of the canal; a town named lower down in a sentence without
    'shortest' was the answer before."""
    longest = "Hallen lies on the longest canal in Sweden."
    city = "Motala lies on a canal in Sweden."  # 'Motala' before
    plan = _plan("Which town lies on the shortest canal in Sweden?", longest, city)
    assert plan.chosen == [] and plan.short is None and plan.missing is not None
    # the sentence below says 'shortest' itself: answered from it
    shortest = "Motala lies on the shortest canal in Sweden, dug in 1819."
    plan = _plan("Which town lies on the shortest canal in Sweden?", longest, shortest)
    assert plan.chosen and plan.chosen[0].sentence.text == shortest
    assert plan.short is not None and plan.short.text == "Motala"


def test_a_clause_answer_whose_first_sentence_names_another_thing_beside_the_noun_is_refused() -> None:
    norman = "Norman art survives mostly in stonework and in metalwork such as capitals and baptismal fonts."
    other = "Art of the period also survives in a few illuminated manuscripts kept at the abbeys."
    plan = _plan("How has British art survived in the abbeys?", norman, other)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("How has Norman art survived in the abbeys?", norman, other)
    assert plan.chosen and plan.chosen[0].sentence.text == norman


def test_a_first_sentence_with_a_negation_only_alone_does_not_refuse_a_clause_answer() -> None:
    """A negation the first sentence lacks ('Why did the duke not sign?' of 'the duke considered signing'): how
    the question frames a fact the sentence gives as well; refused only when every quoted sentence swaps."""
    first = "At the time, the duke seriously considered signing the treaty, and was only stopped by his council."
    assert not relations.opens_with_swap("Why did the duke not sign the treaty?", first)


def test_the_asked_word_elsewhere_in_the_candidates_sentence_does_not_save_it() -> None:
    """'shortest' said of a distance, not of the canal: the candidate's sentence does not say it of the canal."""
    question = "Which town lies on the shortest canal in Sweden?"
    longest = "Hallen lies on the longest canal in Sweden."
    elsewhere = "Motala lies on a canal in Sweden, at the shortest distance from the lake of all the towns."
    assert relations.outranked(question, _sentences(longest, elsewhere), 1) is not None
    tied = "Motala lies on the shortest canal in Sweden, dug in 1819."
    assert relations.outranked(question, _sentences(longest, tied), 1) is None


def test_a_modifier_the_parse_does_not_call_an_adjective_alone_is_still_compared() -> None:
    """'right' parsed on its own is an interjection: still the word the candidate's sentence must hold."""
    question = "When the river took a right turn what did it create?"
    left = "During the ice ages the river took a left turn, creating a wide lake below the hills."
    other = "The valley is a World Heritage Site (2002), with more than forty castles."
    assert relations.outranked(question, _sentences(left, other), 1) is not None
