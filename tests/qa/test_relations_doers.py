"""Doers (issue 12): the question names who did something and every mention of that verb in the sentence names
another doer ('When did the Saxons burn the abbey?' of 'the abbey was burned by the Danes'): a swap of slot
'subject' (``qa.doers`` through ``qa.relations.mismatch``), also when the question's doer is in the sentence in
another clause. Real spaCy parses; invented sentences of that kind."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, doers, relations
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


@pytest.mark.parametrize(("question", "sentence", "asked", "said"), [
    # another doer of a passive ('by' phrase), the question's doer absent
    ("What did Henrik sell to the abbey?", "In 1201 the mill was sold to the abbey by Count Aldric.", "Henrik",
     "Count Aldric"),
    # the question's doer in the sentence, but in another clause ('becomes the Vardar', 'killing King Harold')
    ("What does the Vardar change its name to?", "Below the lake, the Kessel changes its name and becomes the Vardar.",
     "the Vardar", "the Kessel"),
    ("When did King Harold conquer the town?", "In 1066, Duke William conquered the town, killing King Harold at "
     "the gate.", "King Harold", "Duke William"),
])
def test_another_named_doer_of_the_verb_is_a_swap(question: str, sentence: str, asked: str, said: str) -> None:
    assert doers.other_doer(parse(question), parse(sentence)) is not None
    found = relations.mismatch(question, sentence)
    assert found is not None and (found.slot, found.asked, found.said) == ("subject", asked, said)


@pytest.mark.parametrize(("question", "sentence"), [
    # the question's doer is one of the doers
    ("When did the Saxons burn the abbey?", "In 1140 the Saxons and the Danes burned the abbey."),
    # the doer is no name ('they'): who 'they' are is not known here
    ("When did the Saxons burn the abbey?", "In 1140 they burned the abbey to the ground."),
    # the question asks for the doer
    ("Who burned the abbey?", "In 1140 the abbey was burned by the Danes."),
    ("How many Saxon earls signed the charter?", "The charter, signed by 30 Danish earls, was a first."),
    # the same name said another way ('A Dane named Oursel'), or a people and its land
    ("Where did Oursel lead the Franks?", "A Dane named Oursel led a force of Franks into the valley."),
    ("When did the Normans build the castle?", "In 1070 Normandy's dukes built the castle on the hill."),
])
def test_no_other_doer(question: str, sentence: str) -> None:
    assert doers.other_doer(parse(question), parse(sentence)) is None


def test_the_question_doer_joined_to_the_verbs_object_by_the_parse_is_no_swap() -> None:
    """'the Danes burned the abbey and the Saxons rebuilt it' is parsed with 'the Saxons' joined to 'the abbey':
    the Saxons are in the verb's clause, not in another role, so no other doer is claimed."""
    assert doers.other_doer(parse("When did the Saxons rebuild the abbey?"),
                            parse("In 1140 the Danes burned the abbey and the Saxons rebuilt it.")) is None


def test_a_question_whose_only_sentence_has_another_doer_is_refused() -> None:
    """End to end: 'the Vardar' was the short answer to what the Vardar changes its name to before."""
    kessel = "Below the lake, the Kessel changes its name and becomes the Vardar."
    plan = _plan("What does the Vardar change its name to?", kessel)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("What does the Kessel change its name to?", kessel)
    assert plan.chosen and plan.chosen[0].sentence.text == kessel
