"""A meaning or translation question answered by the gloss a sentence gives right after the question's own term
(issue 12, SQuAD false refusals, ``qa.gloss``); the unanswerable twins (another term, the tail of a longer name,
another language, a question that does not ask for a meaning, a word the sentence does not give) stay unanswered.
Invented sentences, and the extractive generator end to end."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import gloss
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal

_LAKES = ("The basin holds two parts: the Grossweiher (\"great pond\"), the Kleinweiher ('little pond'), and a "
          "channel between them called the Weiherbach.")
_DELTA = "Downstream the branch continues as Oude Vaart (\"Old Channel\"), then as Nieuwe Vaart (\"New Channel\")."
_HILL = "The village sits below the Mons Acutus (Latin for \"sharp mountain\"), a limestone ridge."
_FORT = "Its main stronghold was Castrum Novum, meaning 'new fort', built on the river bank."


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("What does Grossweiher mean?", _LAKES, "great pond"),
    ("What does the word Kleinweiher translate to?", _LAKES, "little pond"),  # single quotes
    ("What is the English translation of Oude Vaart?", _DELTA, "Old Channel"),
    ("What is the translation of Nieuwe Vaart?", _DELTA, "New Channel"),
    ("What does Mons Acutus mean in Latin?", _HILL, "sharp mountain"),  # the language named by the gloss
    ("What does Castrum Novum mean?", _FORT, "new fort"),
    ("What is the meaning of \"Castrum Novum\"?", _FORT, "new fort"),
])
def test_a_meaning_question_is_answered_by_the_gloss_after_its_term(question: str, text: str, answer: str) -> None:
    found = gloss.gloss_answer(question, text)
    assert found is not None and found.text == answer and text[found.start: found.end] == answer


@pytest.mark.parametrize(("question", "text"), [
    ("What does Weiherbach mean?", _LAKES),  # named, never glossed
    ("What does Mittelweiher mean?", _LAKES),  # another term
    ("What does Vaart mean?", _DELTA),  # the tail of 'Oude Vaart', not the term glossed
    ("What is the German translation of Oude Vaart?", _DELTA),  # a language the sentence does not name
    ("What does Mons Acutus mean in Greek?", _HILL),  # another language than the gloss's
    ("Where is the Grossweiher?", _LAKES),  # not a meaning question
    ("What did Grossweiher mean in 1850?", _LAKES),  # a date the sentence does not give
    ("What does Castrum Novum's original name mean?", _FORT),  # more than the term
])
def test_a_twin_the_sentence_does_not_gloss_gets_no_answer(question: str, text: str) -> None:
    assert gloss.gloss_answer(question, text) is None


def test_another_sentence_glossing_the_term_differently_leaves_it_unanswered() -> None:
    other = "Some maps call it the Grossweiher (\"big marsh\")."
    assert gloss.gloss_answer("What does Grossweiher mean?", _LAKES, [other]) is None
    assert gloss.gloss_answer("What does Grossweiher mean?", _LAKES, ["The Grossweiher (\"great pond\") is deep."])


def test_a_term_another_sentence_names_bare_is_left_to_the_threshold() -> None:
    """SQuAD 2.0 labels 'What does the word Seerhein translate to?' unanswerable: it was written against 'into the
    Rheinrinne ("Rhine Gutter") and Seerhein', which names the term without a gloss."""
    bare = "Most of the water flows into the Oberweiher (\"upper pond\") and the Grossweiher."
    assert gloss.gloss_answer("What does Grossweiher mean?", _LAKES, [bare]) is None
    assert gloss.gloss_answer("What does Oberweiher mean?", bare, [_LAKES]) is not None
    # the tail of a longer name elsewhere is not the term named bare; the same gloss elsewhere is no doubt
    assert gloss.gloss_answer("What does Oude Vaart mean?", _DELTA, ["The Nieuwe Oude Vaart is a canal."])
    assert gloss.gloss_answer("What does Oude Vaart mean?", _DELTA, ["The Oude Vaart (\"Old Channel\") floods."])


def _generate(question: str, text: str) -> str:
    """The extractive answer over a one-sentence article, the refusal threshold set above the cosine of the question
    and the sentence (the similarity rule alone refuses)."""
    body = "Notes\n\n" + text
    start = body.index(text)
    evidence = Evidence({"n.txt": Article("n.txt", "Notes", body)}, HashEmbedder())
    hits = [Hit("n.txt", start, len(body), text, 1.0, title="Notes")]
    cosine = ExtractiveGenerator(AnswerSettings()).score(question, hits, evidence)[0].similarity
    settings = AnswerSettings(refusal_threshold=cosine + 0.3, answerability=True)
    return "".join(ExtractiveGenerator(settings).generate(GenerationRequest(question, question, hits, [], evidence)))


def test_the_generator_answers_with_the_gloss_instead_of_refusing() -> None:
    """End to end: before ``qa.gloss`` the threshold refused ('The articles don't say what Grossweiher means');
    now the short answer is the gloss, cited, then the sentence giving it."""
    raw = _generate("What does Grossweiher mean?", _LAKES)
    assert not is_refusal(raw) and raw.startswith("great pond [1].") and "(\"great pond\")" in raw
    assert is_refusal(_generate("What does Weiherbach mean?", _LAKES))
    assert is_refusal(_generate("What is the German translation of Oude Vaart?", _DELTA))
