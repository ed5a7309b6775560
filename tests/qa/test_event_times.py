"""A 'when' question answered by an event, not a date (issue 12, SQuAD false refusals, ``qa.event_times``): a
sentence restating the question whole, its only new part a time phrase naming an event, answers it; the
unanswerable twins (another name, another treaty, another verb, a negation) stay unanswered. Invented sentences
with real spaCy parses, and the extractive generator end to end."""

from __future__ import annotations

import pytest

from corpus.types import Article, ArticleMeta
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, event_times
from qa.analysis import sentence_entities
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal

_TREATY = "At the end of World War I, the Rhineland was subject to the Treaty of Versailles."
_BRIDGE = "The town lost its only bridge after the Second World War."
_CHURCH = "During the Hundred Years' War, the abbey church was burned by English soldiers."


def _event(question: str, text: str) -> str | None:
    evidence = Evidence({"d.txt": Article("d.txt", "T", text, ArticleMeta())}, HashEmbedder())
    found = event_times.event_answer(answerability.analyze(question), Sentence("d.txt", 0, len(text), text),
                                     evidence, sentence_entities([text])[0])
    return None if found is None else found.text


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("When was Rhineland subject to the Treaty of Versailles?", _TREATY, "the end of World War I"),
    ("When did the town lose its only bridge?", _BRIDGE, "after the Second World War"),  # 'lost' says 'lose'
    ("When was the abbey church burned by English soldiers?", _CHURCH, "Hundred Years' War"),
])
def test_a_when_question_restated_with_an_event_is_answered_by_it(question: str, text: str, answer: str) -> None:
    found = _event(question, text)
    assert found is not None and found.endswith(answer)


@pytest.mark.parametrize(("question", "text"), [
    ("When was Alsace subject to the Treaty of Versailles?", _TREATY),  # another place
    ("When was the Rhineland subject to the Treaty of Westphalia?", _TREATY),  # another treaty
    ("When did the town rebuild its only bridge?", _BRIDGE),  # another verb
    ("When did the town not lose its only bridge?", _BRIDGE),  # negated
    ("When was the abbey church burned by French soldiers?", _CHURCH),  # another doer
    ("Who was subject to the Treaty of Versailles?", _TREATY),  # not a 'when' question
])
def test_a_twin_the_sentence_does_not_restate_gets_no_event(question: str, text: str) -> None:
    assert _event(question, text) is None


def _generate(question: str, text: str, *, below: float) -> str:
    """The extractive answer over a one-sentence article, the refusal threshold set ``below`` the cosine of the
    question and the sentence (negative: above it)."""
    body = "Notes\n\n" + text
    start = body.index(text)
    evidence = Evidence({"n.txt": Article("n.txt", "Notes", body)}, HashEmbedder())
    hits = [Hit("n.txt", start, len(body), text, 1.0, title="Notes")]
    cosine = ExtractiveGenerator(AnswerSettings()).score(question, hits, evidence)[0].similarity
    settings = AnswerSettings(refusal_threshold=cosine + below, answerability=True)
    return "".join(ExtractiveGenerator(settings).generate(GenerationRequest(question, question, hits, [], evidence)))


@pytest.mark.parametrize("below", [0.05, -0.05])  # the analysis decides; a little below the threshold (qa.stated)
def test_the_generator_answers_with_the_event_instead_of_refusing(below: float) -> None:
    """End to end: before ``qa.event_times`` the analysis found no date and refused ('they say: At the end of
    World War I, ...'); now the short answer is the event's time phrase."""
    raw = _generate("When was Rhineland subject to the Treaty of Versailles?", _TREATY, below=below)
    assert not is_refusal(raw) and raw.startswith("the end of World War I")
    assert is_refusal(_generate("When was Alsace subject to the Treaty of Versailles?", _TREATY, below=below))
