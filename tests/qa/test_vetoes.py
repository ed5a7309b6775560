"""The hook of qa.vetoes: a check listed there is asked by relations.mismatch and answers_nothing."""

from __future__ import annotations

import pytest

from qa import relations, vetoes
from qa.answerability import analyze

QUESTION = "Who founded the abbey of Fécamp?"
SENTENCE = "The abbey of Fécamp was founded by Duke Richard I."


def test_mismatch_asks_the_checks_after_its_own_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    assert relations.mismatch(QUESTION, SENTENCE) is None
    seen: list[tuple[str, str]] = []

    def check(question: str, sentence: str) -> vetoes.Swap | None:
        seen.append((question, sentence))
        return ("founded", relations.OPPOSITE, "founded", "dissolved")

    monkeypatch.setattr(vetoes, "CHECKS", (check,))
    found = relations.mismatch(QUESTION, SENTENCE)
    assert seen == [(QUESTION, SENTENCE)]
    assert found == relations.Mismatch("founded", relations.OPPOSITE, "founded", "dissolved")
    assert found.describe() == "the question says founded, the sentence dissolved"


def test_answers_nothing_asks_the_elsewhere_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    analysis = analyze(QUESTION)
    assert not relations.answers_nothing(analysis, SENTENCE)
    monkeypatch.setattr(vetoes, "ELSEWHERE", (lambda a, s: a.question == QUESTION and "Richard" in s,))
    assert relations.answers_nothing(analysis, SENTENCE)
    assert not relations.answers_nothing(analysis, "The abbey of Fécamp was founded by William.")
