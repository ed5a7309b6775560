"""Opposites WordNet does not list (issue 12): another compass direction of the same word, and 'least' added before
a word the sentence says plainly, are swaps of slot 'opposite' (``qa.opposed`` through ``qa.relations.mismatch``).
Real spaCy parses; invented sentences of those kinds."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, opposed, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored
from qa.ties import parse


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


@pytest.mark.parametrize(("word", "direction"), [
    ("southward", "south"), ("North", "north"), ("north-eastern", "northeast"), ("westerly", "west"),
    ("eastwards", "east"), ("Northern", "north"), ("northing", None), ("wester", None), ("", None), ("ward", None),
])
def test_the_direction_a_word_names(word: str, direction: str | None) -> None:
    assert opposed.direction(word) == direction


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    ("Which canal continued eastward to the coast?", "By then a canal had been dug that continued westward to the "
     "coast.", "eastward", "westward"),
    ("Where does the river make a sharp bend to the west?", "Below the gorge the river bends east at the old mill.",
     "west", "east"),
    ("What caused the glacier to extend its reach southward?", "Through heavy snowfall, the glacier extended its "
     "reach northward.", "southward", "northward"),
    ("What are the least important crops of the valley?", "The important crops of the valley are rye and flax.",
     "least important", "important"),
])
def test_an_unlisted_opposite_is_a_swap(question: str, sentence: str, asked: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, asked, said)
    assert relations.opens_with_swap(question, sentence)


@pytest.mark.parametrize(("question", "sentence"), [
    # the question's direction is in the sentence too (a list of directions, or the same one)
    ("Which canal continued eastward to the coast?", "A canal continued eastward to the coast and westward to "
     "the hills."),
    # 'least' said in the sentence too, or the word said of another noun
    ("What are the least important crops of the valley?", "The least important crops of the valley are oats."),
    ("What are the least important crops of the valley?", "Rye is important to the bakers of the valley."),
])
def test_no_unlisted_opposite(question: str, sentence: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is None or found.slot != relations.OPPOSITE


def test_another_direction_of_another_word_is_no_swap() -> None:
    """'flow north' of the river, 'the south bank' of the town: the directions hang off different words."""
    assert opposed.other_direction(parse("Where does the river flow north?"),
                                   parse("The river flows past the town on its south bank.")) is None
    assert opposed.other_direction(parse("Where does the river flow north?"),
                                   parse("Past the town the river flows south.")) == ("north", "south")


def test_a_clause_answer_about_the_other_direction_is_refused() -> None:
    """End to end: the sentence about the canal continuing westward answered 'continued eastward' before."""
    west = "By then a canal had been dug in the plain that continued westward and is considered the first canal."
    plan = _plan("What continued eastward and is considered the first canal?", west)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("What continued westward and is considered the first canal?", west)
    assert plan.chosen and plan.chosen[0].sentence.text == west


def test_an_opposite_verb_the_question_parse_calls_a_noun_is_a_swap() -> None:
    """'did the number of mills ... increase?' is parsed with 'increase' a noun: the sentence's verb 'decreased' is
    still its opposite (prefixes 'in'/'de'); two nouns of opposing prefixes are not compared ('income', 'outcome')."""
    found = relations.mismatch("In what year did the number of mills on the river bank increase?",
                               "Old mills burned down and the number of mills on the river banks decreased sharply.")
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, "increase", "decreased")
    found = relations.mismatch("What was the income of the abbey in that year?",
                               "The outcome of the abbey's lawsuit that year was a fine.")
    assert found is None or found.slot != relations.OPPOSITE
