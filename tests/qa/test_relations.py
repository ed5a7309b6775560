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


@pytest.mark.parametrize(("question", "sentence", "said"), [
    # another people beside a shared word ('first'): a name is weighed against the question's names alone
    ("Who was the first Danish abbot to rule the monastery?",
     "The first Frisian abbot to rule the monastery was Odo, in 1012.", "Frisian"),
    # the doer of a verb conjoined to another is that verb's subject
    ("Which bridges were built by the Saxons?",
     "The Franks settled along the river and later built two stone bridges near the ford.", "The Franks"),
    # two names that share a word but name different things
    ("How old is the Lower Weser bridge?", "The Upper Weser bridge is two hundred years old.", "Upper Weser"),
    ("What is the width of the Old Elbe Canal?",
     "The width of the Elbe is measured from the Old Elbe Canal to the sea.", "the Elbe"),
    # the mention that fills the question's slot is the one compared: the language absorbed into
    ("Which dialect was absorbed into the Old Frisian language?",
     "The Old Frisian language was later absorbed into the Low Saxon language of the towns.", "Low Saxon"),
    # a light verb with the same object ('take the title') is the same event: its doer is compared
    ("What title did Odo II take in Frisia?", "Bruno took the title of Count of Frisia, as vassal to Odo III.",
     "Bruno"),
    # the roles reversed across a phrase: what the river emerges from is not the doer
    ("Where does Lake Tegern emerge from?", "The Weissach emerges from Lake Tegern and flows north.",
     "The Weissach"),
])
def test_another_name_in_the_slot_is_a_mismatch(question: str, sentence: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None, question
    assert found.said == said
    assert said in found.describe()


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    # the same thing at the other end of a motion or of time
    ("Who fled from the old abbey?", "After the fire, the monks fled to the old abbey by night.",
     "fled from the old abbey", "fled to the old abbey"),
    ("Who traded with the Danes after the siege of York?",
     "Even before the siege of York, the Saxons had traded with the Danes.",
     "traded after the siege of York", "traded before the siege of York"),
    # a preposition left at the end of the question: its object is the wh-phrase's noun
    ("What lake does the stream flow out of?", "The stream flows east into a small lake near the village.",
     "flow out of what lake", "flows into a small lake"),
])
def test_the_opposite_preposition_on_the_same_thing_is_a_mismatch(question: str, sentence: str, asked: str,
                                                                  said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, asked, said)
    assert found.describe() == f"the question says {asked}, the sentence {said}"


@pytest.mark.parametrize(("question", "sentence"), [
    # a title word the question gives in lower case ('defence'), beside a people the sentence does not name
    ("Who is the Danish defence minister?", "Defence Minister Lars Holm spoke on Monday."),
    # one name with or without the word for its kind, or with a modifier the question leaves out
    ("How long is the Weser river?", "The Weser is 452 kilometres long."),
    ("How deep is Lake Tegern?", "Tegern is 72 metres deep at its deepest point."),
    ("Where does the Weser flow?", "The Lower Weser flows into the North Sea at Bremerhaven."),
    # the second verb has its own subject; the same preposition as well as the other one; a symmetric 'with'
    ("Who built the bridges?", "The Franks settled along the river and the Saxons built two bridges."),
    ("Where does the road run from Bremen?", "The road runs from Bremen to Hamburg along the river."),
    ("Who did the abbot meet with?", "The king met with the abbot at the ford."),
    # another name whose phrase holds the question's ('the county on the bank of the Upper Weser'); the parts of one
    # person's name
    ("Who sold the Upper Weser to Bremen?",
     "The county on the left bank of the Upper Weser was sold to Bremen in 1380."),
    ("What did Nicolas Sarkozy say about the deal?", "President of France Sarkozy said the deal would go ahead."),
])
def test_names_prepositions_and_conjoined_verbs_that_agree_are_no_mismatch(question: str, sentence: str) -> None:
    assert relations.mismatch(question, sentence) is None


@pytest.mark.parametrize(("question", "sentence", "said"), [
    # a phrase of two prepositions ('out of'): its object is compared
    ("Who drove the Danes out of Frisia?", "Odo finally drove the Danes out of northern Saxony in 996.",
     "northern Saxony"),
])
def test_the_object_of_a_two_word_preposition_is_compared(question: str, sentence: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and found.said == said, found


def test_a_swap_is_described_by_the_question_word_the_sentence_word_stands_in_for() -> None:
    found = relations.mismatch("When did the Saxons gain their separate identity?",
                               "The distinct identity of the Saxons emerged in the 9th century.")
    assert found is not None
    assert found.describe() == "the question's modifier of 'identity' is separate, the sentence's distinct"
