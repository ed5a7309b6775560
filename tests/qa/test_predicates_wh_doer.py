"""A doer asked with 'which/what N' is the answer, not a doer the question gives: a date condition met by the
sentence's own verb is not 'the date of another subject' (qa.predicates)."""

from __future__ import annotations

import pytest

from qa import answerability, predicates


@pytest.mark.parametrize("question", ["Which town won the final in 1954?", "What town won the final in 1954?",
                                      "Who won the final in 1954?"])
def test_a_wh_doer_is_asked_not_given(question: str) -> None:
    assert predicates.said_elsewhere(answerability.analyze(question), "Bern won the final in 1954.") is None


def test_a_named_doer_of_another_clause_is_still_another_subject() -> None:
    analysis = answerability.analyze("When did the Roman empire fall?")
    assert predicates.said_elsewhere(analysis, "The mouths of the Rhine fell to the Burgundians in the 15th century.")
