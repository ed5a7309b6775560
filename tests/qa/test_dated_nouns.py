"""'When did X V?' answered by the date an article gives the event's noun (issue 12, SQuAD false refusals under
the similarity threshold, ``qa.dated_nouns``): "the death of Augustus in AD 14" for "When did Augustus die?". The
twins name someone else, another event or a further word, and stay unanswered. Invented sentences, real spaCy
parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings import HashEmbedder, Index, build_index
from qa.config import get_settings
from qa.dated_nouns import dated_event
from qa.evidence import Sentence
from qa.pipeline import QA

_KING = "After the king's death in 1135, a civil war broke out over the succession."
_WIFE = "After the death of the king's wife in 1135, a civil war broke out over the succession."
_ROME = "The fall of Rome in 476 ended the western empire."
_ABBEY = "Since the founding of the abbey in 1066, monks have farmed the valley."
_WAR = "At the end of the war in 1918 the bridges were rebuilt."
_FRONTIER = "From the death of Emperor Trajan in AD 117, the legions kept to the river as their frontier."


def _one(text: str) -> list[Sentence]:
    return [Sentence("a", 0, len(text), text)]


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("When did the king die?", _KING, "1135"),  # possessor
    ("When did Trajan die?", _FRONTIER, "AD 117"),  # 'of' phrase, a date with its era
    ("When did Rome fall?", _ROME, "476"),  # the verb itself as the noun
    ("When was the abbey founded?", _ABBEY, "1066"),  # passive: the patient in the 'of' phrase
    ("When did the war end?", _WAR, "1918"),
])
def test_the_date_of_the_events_noun_answers(question: str, text: str, answer: str) -> None:
    found = dated_event(question, _one(text))
    assert found is not None and found[1].text == answer and text[found[1].start:found[1].end] == answer


@pytest.mark.parametrize(("question", "text"), [
    ("When did Hadrian die?", _FRONTIER),  # someone else's death
    ("When did the king die?", _WIFE),  # the death of the king's wife
    ("When did the queen die?", _WIFE),
    ("When did the abbey close?", _ABBEY),  # another event
    ("When did the war start?", _WAR),
    ("When did Trajan die in Rome?", _FRONTIER),  # a further word: left to the threshold
    ("When did Trajan cross the river?", _FRONTIER),
])
def test_another_persons_event_or_a_further_word_answers_nothing(question: str, text: str) -> None:
    assert dated_event(question, _one(text)) is None


@pytest.mark.parametrize(("question", "answer"), [
    ("When did the king die?", "1135"), ("When did the queen die?", None)])
def test_the_generator_answers_a_dated_noun_below_the_threshold(tmp_path: Path, question: str,
                                                                answer: str | None) -> None:
    from corpus.types import Article, ArticleMeta, text_hash

    embedder = HashEmbedder()
    # a threshold no sentence reaches: only a rule that answers below it can answer
    settings = get_settings({"index": {"dir": str(tmp_path / "index")}, "answer": {"refusal_threshold": 0.99}})
    text = f"{_KING} {_ROME} The river floods every spring."
    build_index([Article("a", "a", text, ArticleMeta(), text_hash(text))], index_dir=settings.index_dir(),
                embedder=embedder, chunking=settings.chunking, index_settings=settings.index, progress=False)
    qa = QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)
    got = qa.answer(question)
    if answer is None:
        assert got.short_answer is None and got.text.startswith("The articles don't say")
    else:
        assert got.short_answer is not None and got.short_answer.text == answer
