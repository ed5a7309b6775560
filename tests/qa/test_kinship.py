"""Kin asked by the other side of the tie (issue 12, SQuAD false refusals, ``qa.kinship``): 'Who was Emma's
brother?' is answered by 'Emma, sister of Duke Richard II'. The twins stay unanswered: the kin word said of
someone else, or no kin word at all. Invented sentences with real spaCy parses, through
``answerability.find_answer``."""

from __future__ import annotations

import pytest

from corpus.types import Article, ArticleMeta
from embeddings.embedder import HashEmbedder
from qa import answerability
from qa.evidence import Evidence, Sentence

_EMMA = ("The alliance was sealed by the marriage of Emma, sister of Duke Richard II of Normandy, and King Ethelred "
         "II of England.")
_ANNA = "Anna, wife of Count Baldwin, ruled the county while he was away."
_NOT = "Emma met Duke Richard II of Normandy at the court of King Ethelred."
_OTHER = "The alliance was sealed by the marriage of Judith, sister of Duke Richard II, and Count Geoffrey."


def _answer(question: str, text: str) -> str | None:
    evidence = Evidence({"d.txt": Article("d.txt", "T", text, ArticleMeta())}, HashEmbedder())
    found = answerability.find_answer(answerability.analyze(question), [Sentence("d.txt", 0, len(text), text)],
                                      [1.0], evidence, margin=0.05)
    return None if found is None or found.missing else found.entity.text


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("Who was Emma's brother?", _EMMA, "Richard II"),
    ("Who was Anna's husband?", _ANNA, "Baldwin"),
])
def test_kin_said_from_the_other_side_answers(question: str, text: str, answer: str) -> None:
    found = _answer(question, text)
    assert found is not None and found.endswith(answer)


@pytest.mark.parametrize(("question", "text"), [
    ("Who was Emma's brother?", _NOT),  # no kin word: meeting someone says nothing of kin
    ("Who was Emma's brother?", _OTHER),  # the sister is Judith, not Emma
    ("Who was Anna's father?", _ANNA),  # 'wife' is no converse of 'father'
])
def test_kin_not_said_of_the_questions_person_answers_nothing(question: str, text: str) -> None:
    assert _answer(question, text) is None
