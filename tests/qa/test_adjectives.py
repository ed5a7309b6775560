"""Superlatives by two measures (issue 12, qa/adjectives.py): 'the oldest work' asked, 'the most famous work'
said; the sentence picks its thing by another measure, so it answers another question. Synonyms ('largest' /
'biggest', 'highest' / 'tallest', WordNet's adjective clusters) and a superlative against a plain adjective stay
paraphrases. Invented sentences, real spaCy parses."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import adjectives, answerability, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Plan, Scored


@pytest.mark.parametrize(("phrase", "lemma"), [
    ("oldest", "old"), ("most famous", "famous"), ("biggest", "big"), ("earliest", "early"), ("best", "good"),
    ("the largest", "large"), ("eldest", "old"), ("widest", "wide"),
    # no superlatives
    ("honest", None), ("forest", None), ("modest", None), ("famous", None), ("major", None), ("most", None),
])
def test_superlatives_and_the_adjective_they_rank_by(phrase: str, lemma: str | None) -> None:
    assert adjectives.superlative(phrase) == lemma


@pytest.mark.parametrize(("asked", "said", "apart"), [
    ("oldest", "most famous", True), ("longest", "widest", True), ("richest", "largest", True),
    # one measure in other words (one WordNet cluster, or one the other 'also sees')
    ("largest", "biggest", False), ("highest", "tallest", False), ("earliest", "oldest", False),
    ("most important", "most significant", False), ("oldest", "eldest", False),
    # a plain adjective, not a superlative: left alone
    ("oldest", "famous", False), ("main", "major", False), ("largest", "major", False),
])
def test_two_superlatives_rank_apart_unless_wordnet_calls_them_one_measure(asked: str, said: str,
                                                                          apart: bool) -> None:
    assert adjectives.ranked_apart(asked, said) is apart


@pytest.mark.parametrize(("question", "sentence", "decisive"), [
    ("What is the oldest work of Flemish painting?",
     "By far the most famous work of Flemish painting is the Ghent Altarpiece.", True),
    ("What is the longest bridge in the town?", "The widest bridge in the town crosses the harbour.", True),
    ("Which is the richest abbey in the county?", "The largest abbey in the county is Fountains.", True),
    # twins: synonyms stay a paraphrase
    ("What is the largest city on the river?", "The biggest city on the river is Cologne.", False),
    ("What is the highest tower of the castle?", "The tallest tower of the castle is the keep.", False),
    ("What is the most important port of the region?", "The most significant port of the region is Emden.",
     False),
])
def test_a_superlative_swap_is_decisive(question: str, sentence: str, decisive: bool) -> None:
    assert (relations.decisive(question, sentence) is not None) is decisive
    assert relations.opens_with_swap(question, sentence) is decisive


def _plan(question: str, *texts: str) -> Plan:
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 10, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def test_an_answer_opening_with_another_superlative_is_refused() -> None:
    """Answered with both sentences before qa.adjectives; the twin asking the sentence's own superlative stays
    answered."""
    famous = "By far the most famous work of Flemish painting is the Ghent Altarpiece."
    other = "It was commissioned by a merchant of the city and painted by two brothers."
    plan = _plan("What is the oldest work of Flemish painting?", famous, other)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("What is the most famous work of Flemish painting?", famous, other)
    assert plan.chosen and plan.chosen[0].sentence.text == famous
