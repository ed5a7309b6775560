"""Roles (issue 12): the question names a party of its verb in one role and the sentence has that party in the role
the question asks for, another party in the role the question gives it ('Who did the monks teach?' of 'The monks
were taught by a Greek scholar'): the sentence says it the other way round, so it answers nothing (``qa.roles``
through ``qa.vetoes.CHECKS`` and ``qa.relations.mismatch``), and a candidate below it from a sentence that does not
state the question's verb at all answers another question (``qa.roles.outranked``). Real spaCy parses; invented
sentences of each kind, and their answerable twins."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, relations, roles, vetoes
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored

COINAGE = "The king replaced the old coinage with silver pennies struck at York."
INFLUENCE = "The Saxons had a lasting influence on the Welsh language after their arrival in 600."
TAUGHT = "The monks were taught by a Greek scholar named Theodore."
BRIDGE = "The bridge was damaged by a storm in 1342."


@pytest.mark.parametrize(("question", "sentence", "slot", "asked", "said"), [
    # a passive's 'by' phrase: the question's doer is what is done to
    ("Who did the monks teach?", TAUGHT, "subject", "the monks", "a Greek scholar named Theodore"),
    ("Whom did the Danes attack in 865?", "In 865 the Danes were attacked by a large army of Saxons.", "subject",
     "Danes", "a large army of Saxons"),
    ("What did the bridge damage?", BRIDGE, "subject", "bridge", "a storm"),
    # a do-support question parsed with its subject as an object; the asked party after a stranded preposition
    ("Who did the Welsh language have a lasting influence on?", INFLUENCE, "subject", "the Welsh language",
     "The Saxons"),
    ("What did the mill supply with water?", "The river supplied the mill with water.", "subject", "mill",
     "The river"),
    # what is done to swapped with the thing it is replaced with
    ("What was replaced with the old coinage?", COINAGE, "with phrase", "the old coinage", "silver pennies"),
    # a noun of the verb, its 'of' and 'by' phrases
    ("Who did the Danes invade?", "The invasion of the Danes by the Saxons began in 865.", "subject", "the Danes",
     "the Saxons"),
    # the question's doer is what the sentence's doer acts on
    ("Which city did the Romans capture?", "The city of Trier captured the Roman general.", "subject", "the Romans",
     "The city of Trier"),
])
def test_a_party_in_the_asked_role_is_a_swap(question: str, sentence: str, slot: str, asked: str,
                                             said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (slot, asked, said)


def test_the_slot_comparison_alone_misses_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vetoes, "CHECKS", ())
    for question, sentence in [("Who did the monks teach?", TAUGHT), ("What did the bridge damage?", BRIDGE),
                               ("Who did the Welsh language have a lasting influence on?", INFLUENCE),
                               ("What was replaced with the old coinage?", COINAGE)]:
        assert relations.mismatch(question, sentence) is None


@pytest.mark.parametrize(("question", "sentence"), [
    # the answerable twins: the same sentences asked the right way round
    ("Who taught the monks?", TAUGHT),
    ("Who did the Greek scholar teach?", TAUGHT),
    ("What did the storm damage?", BRIDGE),
    ("Who had a lasting influence on the Welsh language?", INFLUENCE),
    ("What did the Saxons have a lasting influence on?", INFLUENCE),
    ("What was the old coinage replaced with?", COINAGE),
    ("What was replaced with silver pennies?", COINAGE),
    ("What supplied the mill with water?", "The river supplied the mill with water."),
    # a passive answered the right way round, asked actively or with its 'by' left at the end
    ("Who founded the abbey?", "The abbey was founded by Duke Richard in 1001."),
    ("Who was the abbey founded by?", "The abbey was founded by Duke Richard in 1001."),
    ("Who did the Saxons defeat?", "The Picts were defeated by the Saxons near the river."),
    # verbs whose parties are said either way round, and 'with' beside the doer
    ("Who did the Danes meet with?", "The Saxons met with the Danes at the ford."),
    ("Who did the Danes trade with?", "The Saxons traded with the Danes for centuries."),
    ("Who did the Danes work with?", "The Saxons worked with the Danes on the bridge."),
    ("Who did the Danes marry?", "The Saxon princess married the Danish king in 1012."),
    ("Who invaded the Danes?", "The invasion of the Danes by the Saxons began in 865."),
    ("Who did the Saxons invade?", "The invasion of the Danes by the Saxons began in 865."),
    # the question's party is not in the sentence, or no other party is named in its role
    ("Who did the Frisians defeat?", "The Saxons defeated the Picts near the river."),
    ("Who did the Picts defeat?", "The Picts were defeated near the river in 843."),
    # what a thing is called is no party ('known as')
    ("What is the glacial valley known as?", "It flows through a wide glacial valley known as the Rhine Valley."),
])
def test_no_swap(question: str, sentence: str) -> None:
    assert roles.reversed_roles(question, sentence) is None


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


BELOW = "Some say the monks later came from Byzantine Greece, but only a few did."


def test_a_candidate_below_a_reversed_sentence_that_lacks_the_verb_is_refused() -> None:
    plan = _plan("Who did the monks teach?", TAUGHT, BELOW)
    assert plan.short is None and plan.chosen == []


def test_the_twin_asked_the_right_way_round_is_answered() -> None:
    plan = _plan("Who taught the monks?", TAUGHT, BELOW)
    assert plan.short is not None and "Theodore" in plan.short.text


def test_a_candidate_below_that_states_the_verb_is_left_to_the_other_checks() -> None:
    sentences = [Sentence("d.txt", 0, len(TAUGHT), TAUGHT),
                 Sentence("d.txt", 0, 40, "Later the monks taught the Frisian boys.")]
    assert not roles.outranked("Who did the monks teach?", sentences, 1)
    assert roles.outranked("Who did the monks teach?", [sentences[0], Sentence("d.txt", 0, 10, BELOW)], 1)


TOWER = "After the Saxons had built the tower, they built the chapel."
VISIT = "Before visiting Paris, the king visited Rome in 1410."


@pytest.mark.parametrize(("question", "sentence", "slot", "asked", "said"), [
    # two events of one verb in the other order: the question's 'after' thing is the sentence's main event
    ("Who built the chapel after the tower?", "The Saxons built the tower after they had built the chapel.",
     "after phrase", "the tower", "the chapel"),
    ("Who visited Paris before Rome?", VISIT, "before phrase", "Rome", "Paris"),
    # asking for the other event: the sentence's is the one before, not after
    ("What did the Saxons build after the chapel?", TOWER, "after phrase", "the chapel", "the tower"),
])
def test_two_events_in_the_other_order_are_a_swap(question: str, sentence: str, slot: str, asked: str,
                                                  said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (slot, asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    ("Who visited Rome before Paris?", VISIT),
    ("What did the Saxons build after the tower?", TOWER),
    ("Who built the tower after the chapel?", "The Saxons built the tower after they had built the chapel."),
])
def test_two_events_in_the_order_asked_are_no_swap(question: str, sentence: str) -> None:
    assert roles.reversed_roles(question, sentence) is None


@pytest.mark.parametrize(("question", "sentence", "shared", "asked", "said"), [
    # the owner the question gives what is done to ('the customs of the Normans') is the sentence's doer, and
    # what is done to has another owner
    ("Who adopted the customs of the Normans?", "The Normans soon adopted the customs of the Franks.", "customs",
     "the Normans", "the Franks"),
    ("Who killed the son of Harold?", "Harold killed the son of Godwin in 1055.", "son", "Harold", "Godwin"),
])
def test_an_owner_in_the_asked_role_is_a_swap(question: str, sentence: str, shared: str, asked: str,
                                              said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.shared, found.slot, found.asked, found.said) == (shared, "of", asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    ("Who adopted the customs of the Franks?", "The Normans soon adopted the customs of the Franks."),
    ("Who killed the son of Godwin?", "Harold killed the son of Godwin in 1055."),
    ("Who did the son of Godwin kill?", "Harold was killed by the son of Godwin."),
    ("Who did the descendants of Rollo replace?", "The descendants of Rollo replaced the Norse gods."),
])
def test_an_owner_in_its_own_place_is_no_swap(question: str, sentence: str) -> None:
    assert roles.reversed_roles(question, sentence) is None


RELATIVE = "The Saxons, who attacked the Danes in 865, were later defeated."
PARTICIPLE = "The Danes, defeated by the Saxons at the river, fled north."


@pytest.mark.parametrize(("question", "sentence", "slot", "asked", "said"), [
    # a 'by' put first in the question; a relative clause's subject; a participle's noun
    ("By whom were the Danes attacked?", "The Danes attacked the Saxons in 865.", "object", "the Danes", "the Saxons"),
    ("Who did the Danes attack?", RELATIVE, "subject", "Danes", "Saxons"),
    ("Who did the Danes defeat at the river?", PARTICIPLE, "subject", "the Danes", "the Saxons"),
])
def test_a_swap_said_in_a_clause(question: str, sentence: str, slot: str, asked: str, said: str) -> None:
    found = roles.reversed_roles(question, sentence)
    assert found is not None and found[1:] == (slot, asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    ("By whom were the Saxons attacked?", "The Danes attacked the Saxons in 865."),
    ("Who attacked the Danes?", RELATIVE),
    ("Who defeated the Danes at the river?", PARTICIPLE),
    ("Who did the Saxons defeat at the river?", PARTICIPLE),
])
def test_a_clause_said_the_right_way_round(question: str, sentence: str) -> None:
    assert roles.reversed_roles(question, sentence) is None
