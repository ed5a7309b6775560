"""Relations (issue 12): a sentence that puts another word in the slot the question fills does not answer it (the
edits that make SQuAD 2.0's unanswerable questions: roles reversed, another people, another adjective, another
name, a negation added). Real spaCy parses; invented sentences of those kinds."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored


@pytest.mark.parametrize(("question", "sentence", "slot", "said"), [
    # the roles reversed: the sentence's doer is the question's object
    ("Who defeated the Saxons?", "The Saxons defeated the Picts at the river ford.", "object", "the Picts"),
    # another people on the same noun
    ("Who joined Danish troops in the siege?", "Some Saxons joined Frisian troops in the siege of the town.",
     "modifier", "Frisian"),
    # another adjective on the same noun, one the sentence uses nowhere else (an opposite: no lexicon needed)
    ("What is the tallest tower of the castle called?", "The oldest tower of the castle is called the Keep.",
     "modifier", "oldest"),
    ("What do weak winds carry across the plain?", "Strong winds carry sand across the plain each spring.",
     "modifier", "Strong"),
    # another name in the 'of' phrase
    ("How is the width of the Elbe measured?", "The width of the Weser is measured in metres from bank to bank.",
     "of", "the Weser"),
    # another direction in a prepositional phrase of the same verb
    ("What is the valley bounded in the North by?",
     "The valley is bounded in the West by an old dyke and in the East by a canal.", "in phrase", "the West"),
])
def test_a_word_swapped_in_a_slot_is_a_mismatch(question: str, sentence: str, slot: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None, question
    assert (found.slot, found.said) == (slot, said)
    assert said in found.describe()


def test_a_negation_the_sentence_does_not_have_is_a_mismatch() -> None:
    found = relations.mismatch("Which chapel did not survive the fire?", "The chapel of Saint Anne survived the fire.")
    assert found is not None and found.slot == relations.NEGATION
    assert found.describe() == "the question says not survive, the sentence survived"


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    # a verb or adjective the sentence has only with the opposite prefix (by form: no lexicon)
    ("What decreased the price of salt after the war?", "The price of salt was increased after the war.",
     "decreased", "increased"),
    ("Which tolls were included in the treaty?", "The river tolls were excluded from the treaty.",
     "included", "excluded"),
    ("Which crossings were impossible in winter?", "Only two crossings were possible in winter.",
     "impossible", "possible"),
])
def test_a_word_the_sentence_has_only_as_its_opposite_is_a_mismatch(question: str, sentence: str, asked: str,
                                                                      said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    # a prefix that does not make an opposite ('inform'/'form'), or both words in the sentence
    ("Who informed the king of the revolt?", "The rebels formed a council after the revolt."),
    ("What increased the price of salt?", "The tax increased the price of salt, though it decreased later."),
    # the same roles, asked either way round, or in the passive
    ("Who did the Saxons defeat?", "The Saxons defeated the Picts at the river ford."),
    ("Who was defeated by the Saxons?", "The Saxons defeated the Picts at the river ford."),
    ("Who joined Danish troops in the siege?", "Danish troops were joined by the Saxons in the siege of 991."),
    # the same modifier (among others), or an adjective the sentence uses elsewhere: a paraphrase
    ("What is the oldest tower of the castle called?", "The oldest tower of the castle is called the Keep."),
    ("Which important reforms did the abbot begin?",
     "The abbot began several important reforms of the monastery's rule."),
    ("What major roads cross the valley?", "Two roads cross the valley, both of them major routes to the coast."),
    # the name spelt without its accent, or a place given as its people
    ("Who made Robert of Jumieges abbot?", "The duke made Robert of Jumièges abbot in 1037."),
    ("When did the French fleet land at Dover?", "The fleet of the French landed at Dover in 1217."),
    # 'not only' negates nothing; a negation in both
    ("What shaped the delta?", "The delta was shaped not only by the rivers but also by the tides."),
    ("Which chapel did not survive the fire?", "Only the chapel of Saint Anne did not survive the fire."),
    # what is asked sits in the slot ('which', 'how many')
    ("Which river did the Saxons cross?", "The Saxons crossed the Elbe near Hamburg."),
    ("How many ships did the king build?", "The king built twelve ships at Dover."),
])
def test_what_the_sentence_says_in_the_same_slots_is_no_mismatch(question: str, sentence: str) -> None:
    assert relations.mismatch(question, sentence) is None


_SAXONS = "The Saxons defeated the Picts at the river ford in 685."


def _plan(question: str, text: str):  # type: ignore[no-untyped-def]
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored = [Scored(1, Sentence("d.txt", 0, len(text), text), 1.0, similarity=0.9)]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def test_a_sentence_with_the_roles_reversed_answers_nothing() -> None:
    plan = _plan("Who defeated the Saxons at the river ford?", _SAXONS)  # answered 'the Picts' without the check
    assert plan.chosen == [] and plan.missing is not None


def test_a_sentence_with_the_roles_asked_answers() -> None:
    plan = _plan("Who did the Saxons defeat at the river ford?", _SAXONS)
    assert plan.chosen and plan.short is not None and _SAXONS[plan.short.start:plan.short.end].endswith("Picts")


_WHY = "The Saxons defeated the Picts at the river ford because the Picts had crossed the river in the dark."


def test_a_clause_answer_whose_sentences_all_swap_a_word_is_refused() -> None:
    plan = _plan("Why did the Saxons defeat the Danes at the river ford?", _WHY)  # answered with _WHY without it
    assert plan.chosen == [] and plan.missing is not None


def test_a_clause_answer_from_a_sentence_that_says_it_is_given() -> None:
    plan = _plan("Why did the Saxons defeat the Picts at the river ford?", _WHY)
    assert [c.sentence.text for c in plan.chosen] == [_WHY]


@pytest.mark.parametrize(("question", "sentence", "expected"), [
    ("Why did the Saxons defeat the Danes?", _WHY, True),
    ("Why did the Saxons defeat the Picts in 1066?", "In 1016 the Saxons defeated the Picts at the ford.", True),
    ("Why did the Saxons defeat the Picts?", _WHY, False),
])
def test_a_sentence_answers_nothing_when_it_swaps_a_word_or_contradicts_a_year(question: str, sentence: str,
                                                                               expected: bool) -> None:
    assert relations.answers_nothing(answerability.analyze(question), sentence) is expected
