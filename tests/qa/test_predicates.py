"""The question's date, place or number said of another event (issue 12): SQuAD 2.0's unanswerable questions keep a
sentence's condition and swap its verb ('What year did the fleet avoid a storm?' of 'In April 1191 the fleet left
Messina'). Real spaCy parses of invented sentences of that kind, and of the answerable kind that says the event in
other words (WordNet synonyms, derived nouns, causes), which must be left alone."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, predicates, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored
from qa.ties import parse


def _at(sentence: str, answer: str) -> tuple[int, int]:
    start = sentence.index(answer)
    return start, start + len(answer)


@pytest.mark.parametrize(("question", "sentence", "answer", "said"), [
    # the date asked for is on another verb, and the question's verb is nowhere in the sentence
    ("In what year was the harbour wall lengthened?",
     "The tide scale, a measure introduced in 1921, runs from the harbour wall to the lighthouse.", "1921",
     "introduced"),
    ("When did the duke die?", "The abbot founded the abbey of Saint Giles in 1120.", "1120", "founded"),
    ("What year did the merchant fleet avoid the storm?",
     "In March 1402 the admiral left Bruges with a cargo of wool.", "March 1402", "left"),
    # the place asked for, on another verb
    ("Where did the pilgrims rest?", "The pilgrims crossed the river at Kehl before dawn.", "Kehl", "crossed"),
])
def test_the_answer_on_another_event_is_elsewhere(question: str, sentence: str, answer: str, said: str) -> None:
    found = predicates.condition_elsewhere(question, sentence, _at(sentence, answer))
    assert found is not None and found.said == said, found


@pytest.mark.parametrize(("question", "sentence", "condition"), [
    # the question's own condition, said of another event
    ("Who did the monks serve in the 12th century?", "The abbey's library grew quickly in the 12th century.",
     "12th"),
    ("What did the duke build in Lorraine?", "The bishop hunted in Lorraine every autumn.", "Lorraine"),
])
def test_the_questions_condition_on_another_event_is_elsewhere(question: str, sentence: str, condition: str) -> None:
    found = predicates.condition_elsewhere(question, sentence)
    assert found is not None and condition in found.condition, found
    assert condition in found.describe() and found.asked in found.describe()


@pytest.mark.parametrize(("question", "sentence", "answer"), [
    # a synonym
    ("When was the abbey founded?", "The abbey was established in 1120 by the duke.", "1120"),
    # a noun derived from the verb
    ("When did the duke die?", "After the duke's death in 1135, the abbey declined.", "1135"),
    # a noun derived from a synonym ('construct' for 'build')
    ("When was the bridge built?", "The construction of the stone bridge took place in 1340.", "1340"),
    # the cause said ('killed' for 'die')
    ("Where did the king die?", "The rebels killed the king at the ford of Aber.", "the ford of Aber"),
    # a phrasal verb's synonym
    ("When did the guild set up its hall?", "The guild established its hall in 1402.", "1402"),
    # the question's own verb in another form
    ("When was the canal widened?", "The widening of the canal was finished in 1890.", "1890"),
    # the date of a 'when' clause's event
    ("When did the city fall to the duke?",
     "The garrison resisted until March 1082, when the city was betrayed to the duke.", "March 1082"),
    # a date on a name, on no verb
    ("When did the poet die?", "The poet Ovid (43 BC - AD 17) wrote the Metamorphoses in Rome.", "AD 17"),
    # the same doer: maybe the same event said another way (a treaty established by being signed)
    ("When was the Treaty of Lunel established?", "The Treaty of Lunel was signed by the two counts in 1213.",
     "1213"),
    # a light verb in the question says no event in particular
    ("When did the monks make the journey?", "The monks set out for Rome in 1210.", "1210"),
])
def test_the_event_said_in_other_words_is_not_elsewhere(question: str, sentence: str, answer: str) -> None:
    assert predicates.condition_elsewhere(question, sentence, _at(sentence, answer)) is None


@pytest.mark.parametrize(("question", "sentence"), [
    # the condition is on a clause's verb, not the question's main verb (and this parse finds no subject)
    ("Which state, set up with Saxon backing in 1807, alarmed the tsar?",
     "The creation of a Saxon-backed state, the Duchy of Posen in 1807, alarmed the tsar."),
    # the sentence says the question's event with a synonym and the same date
    ("What did the dukes build in the 12th century?", "In the 12th century, the dukes constructed a stone keep."),
    # a copula holds the condition: on no event in particular
    ("Who left the city in the 11th century?", "The city was a centre of ivory carving in the 11th century."),
])
def test_a_condition_not_clearly_on_another_event_is_left_alone(question: str, sentence: str) -> None:
    assert predicates.condition_elsewhere(question, sentence) is None


def test_says_event_by_form_synonym_derivation_and_cause() -> None:
    assert predicates.says_event("shorten", parse("The river was shortened by the new cut."))
    assert predicates.says_event("found", parse("The town was established by the count."))
    assert predicates.says_event("die", parse("His death came in the winter."))
    assert predicates.says_event("die", parse("The rebels killed him."))
    assert predicates.says_event("occupy", parse("The army re-occupied the town."))
    assert not predicates.says_event("shorten", parse("The scale was introduced in 1939."))
    assert not predicates.says_event("die", parse("The duke founded the abbey."))


def test_a_clause_answer_whose_sentences_all_date_another_event_answers_nothing() -> None:
    analysis = answerability.analyze("When did the army enter the valley?")
    assert relations.answers_nothing(analysis, "The allies left the valley in 1930, after the treaty.")
    assert not relations.answers_nothing(analysis, "The army's entry into the valley came in 1936.")


def _plan(question: str, *texts: str):  # type: ignore[no-untyped-def]
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 10, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def test_a_date_of_another_event_does_not_answer_when_the_question_asks() -> None:
    plan = _plan("In what year was the harbour wall lengthened?",
                 "The tide scale, a measure introduced in 1921, runs from the harbour wall to the lighthouse.")
    assert plan.chosen == [] and plan.missing is not None  # answered '1921' without the check
    plan = _plan("In what year was the harbour wall lengthened?",
                 "The harbour wall was lengthened in 1921 to shelter the fishing fleet.")
    assert plan.chosen and plan.short is not None and plan.short.text == "1921"
