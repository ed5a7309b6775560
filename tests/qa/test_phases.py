"""The opposite phase, order or degree (issue 12, ``qa.phases`` through ``qa.vetoes.CHECKS``): a sentence that says
the other end of what the question asks ('When did the drought end?' of 'At the beginning of the drought ...') is
a swap of slot 'opposite', so it answers nothing; answerable twins of each sentence stay unswapped. Real spaCy
parses; invented sentences of each kind."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, phases, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored
from qa.ties import parse

SWAPS = [
    # begin/end, as a verb or a noun, in either direction
    ("When did the drought end?", "At the beginning of the drought in 1921, the wells ran dry.", "end", "beginning"),
    ("When did the strike begin?", "The miners returned to work at the end of the strike in 1985.", "begin", "end"),
    ("When did the town stop minting coins?", "The town began minting coins of its own in 1350.", "stop", "began"),
    ("When did the monks finish the cathedral?", "The monks started the cathedral in 1248.", "finish", "started"),
    # a bound of the asked phase on another subject is not the asked thing's ('from 1940' is the occupation's)
    ("When did the war begin?", "The occupation lasted from 1940 until the end of the war in 1945.", "begin", "end"),
    # the direction of a change
    ("How much did the price of wheat rise in 1846?", "In 1846 the price of wheat fell by a third.", "rise", "fell"),
    ("When did the population of the island decline?", "The population of the island grew quickly after 1850.",
     "decline", "grew"),
    ("Where do the two roads split?", "The two roads merge at the old toll house.", "split", "merge"),
    # each class word of the question weighed alone: 'begin' is said, 'decline' is not ('grow' is)
    ("When did the population of the town begin to decline?", "The population of the town began to grow in 1800.",
     "decline", "grow"),
    ("What were the marshes flooded by?", "The marshes were drained by a network of dykes.", "flooded", "drained"),
    # order in time or space
    ("What was the main export after the war?", "Until the war, wool was the main export.", "after war",
     "Until war"),
    ("What did the guild build before the fire?", "Since the fire, the guild has built three halls.", "before fire",
     "Since fire"),
    ("What was built before the old king died?", "After the old king died, the monks built a chapel.",
     "before old king", "After old king"),  # a conjunction's clause: its subject
    ("What happened to the mill after 1904?", "From 1850 to 1904 the mill ground flour for the abbey.", "after 1904",
     "to 1904"),
    ("What style came after the Baroque?", "Mannerism precedes the Baroque in most accounts.", "after Baroque",
     "precedes Baroque"),
    ("What lies after Arles and Nîmes?", "Between Arles and Nîmes lies a wide plain.", "after Arles", "Between Arles"),
    ("What village lies away from the lake?", "The village of Brenz lies near the lake.", "away lake", "near lake"),
    # comparison and degree
    ("Which lake has warmer water than the sea?", "The lake has cooler water than the sea, though its warmer "
     "shallows draw fish.", "warmer water", "cooler water"),
    ("Which valleys are densely forested?", "The upper valleys are sparsely forested.", "densely forested",
     "sparsely forested"),
]

TWINS = [
    # the asked phase said too, in any form, or its bound on the same thing
    ("When did the drought end?", "The drought, which began in 1921, ended in 1923 after heavy rains."),
    ("When did the siege end?", "The siege began in March; its ending came in June."),
    ("When did the drought end?", "The drought began in 1921 and lasted until 1923."),
    ("When did the strike end?", "The strike began in May and ran from 12 May to 30 June."),
    ("When did the war begin?", "The war lasted from 1939 until its end in 1945."),
    # a phase verb with a verb after it names that verb's event: 'began to decline' is no 'end'
    ("When did the empire end?", "The empire began to decline in the third century."),
    # the same direction said; the opposite said of another thing
    ("How much did the price of wheat rise in 1846?", "In 1846 the price of wheat rose by a third."),
    ("How much did the price of wheat rise in 1846?", "In 1846 the price of rye fell by a third."),
    ("Where do the two roads split?", "The two roads split at the old toll house and merge again at the bridge."),
    ("When did the population of the town begin to decline?", "The population of the town began to decline in 1800."),
    ("What were the marshes flooded by?", "The marshes were flooded by the sea and later drained by dykes."),
    # the asked side said, or an adverb of it; 'between' is part of 'after 1990'; 'A precedes X' answers 'before X'
    ("What was the main export after the war?", "After the war, timber was the main export."),
    ("What was the main export after the war?", "Until the war, wool was the main export, and later timber."),
    ("What was built after 1990?", "Between 1990 and 1995 the city built a stadium."),
    ("What was built before the old king died?", "After the death of the old king, the monks built a chapel."),
    ("After 1935, who was forbidden to enter the zone?", "Until 1935 the allies held it, and after that no army."),
    ("What style came before the Baroque?", "Mannerism precedes the Baroque in most accounts."),
    ("Who was the ship named after?", "Before the launch, the ship was named after the admiral."),
    # the same comparative or degree said of the noun
    ("Which lake has warmer water than the sea?", "The lake has warmer water than the sea."),
    ("Which valleys are densely forested?", "The upper valleys are densely forested."),
]


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), SWAPS)
def test_the_opposite_phase_order_or_degree_is_a_swap(question: str, sentence: str, asked: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == (relations.OPPOSITE, asked, said)
    assert relations.opens_with_swap(question, sentence)
    assert relations.answers_nothing(answerability.analyze(question), sentence)


@pytest.mark.parametrize(("question", "sentence"), TWINS)
def test_answerable_twins_are_no_swap(question: str, sentence: str) -> None:
    assert phases.opposite(question, sentence) is None


@pytest.mark.parametrize(("word", "kind"), [
    ("ended", "end"), ("beginning", "start"), ("dropped", "down"), ("merged", "join"), ("growth", "up"),
    ("dropping", "down"), ("Lower", None), ("valley", None),
])
def test_the_class_of_a_phase_or_change_word(word: str, kind: str | None) -> None:
    doc = parse(f"The {word} of the river." if word in ("beginning", "growth", "valley") else f"It {word} there."
                if word not in ("Lower", "dropping") else f"The {word} Rhine.")
    token = next(t for t in doc if t.text == word)
    assert phases.phase_class(token) == kind


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


@pytest.mark.parametrize(("question", "twin", "sentence"), [
    ("When did the drought end?", "When did the drought begin?",
     "At the beginning of the great drought in 1921, the wells of the valley ran dry."),
    ("What was the main export of the port after the war?", "What was the main export of the port before the war?",
     "Until the war, wool was the main export of the port."),
])
def test_end_to_end_the_other_end_is_refused_and_the_twin_answered(question: str, twin: str, sentence: str) -> None:
    plan = _plan(question, sentence)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan(twin, sentence)
    assert plan.chosen and plan.chosen[0].sentence.text == sentence
