"""Centuries and decades written with digits against ordinal centuries (qa.periods, qa.constraints.contradicts):
'the 1100s' is the 12th century, not the 11th, though an ordinal century's bounds are counted both ways; "the
1000's" is a century too; periods of many years a question joins ('in the 1300's and 1400's') must each be met.
"""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability
from qa.evidence import Evidence, Sentence
from qa.periods import meet, periods


@pytest.mark.parametrize(("text", "spans"), [
    ("the 1100s", [(1100, 1199)]),  # a century: not also the year 1100
    ("in the 1000's", [(1000, 1099)]),
    ("in the 1990’s", [(1990, 1999)]),
    ("in the 10th and 11th centuries", [(1000, 1100), (900, 1000)]),
    ("the 10th, 11th and 12th centuries", [(1100, 1200), (900, 1000), (1000, 1100)]),
    ("between the 10th and 13th centuries", [(1200, 1300), (900, 1300)]),
    ("from the 12th to 15th centuries", [(1400, 1500), (1100, 1500)]),
    ("in the 5th and 4th centuries BC", []),
])
def test_periods_written_with_digits_and_ordinal_centuries(text: str, spans: list[tuple[int, int]]) -> None:
    assert periods(text) == spans


def test_two_periods_of_many_years_sharing_one_bound_year_do_not_meet() -> None:
    assert not meet((1100, 1199), (1000, 1100))  # the 1100s, the 11th century
    assert meet((1100, 1100), (1000, 1100))  # the year 1100 is in the 11th century counted one way
    assert meet((1990, 1999), (1995, 1995))
    assert meet((1100, 1199), (1100, 1200))  # the 1100s, the 12th century


@pytest.mark.parametrize(("question", "text", "contradicts"), [
    # a century written with digits is the next ordinal century
    ("Which abbey was a centre of manuscript painting in the 1200s?",
     "The abbey of Corbie was a centre of manuscript painting in the 12th century.", True),
    ("Which abbey was a centre of manuscript painting in the 1100s?",
     "The abbey of Corbie was a centre of manuscript painting in the 12th century.", False),
    ("Which port traded in salt in the 1300s?", "Guérande traded in salt in the 13th century.", True),
    ("Which port traded in salt in the 1300s?", "Guérande traded in salt in the 14th century.", False),
    ("Which port traded in salt in 1300?", "Guérande traded in salt in the 13th century.", False),  # a year at a bound
    # the apostrophe form, and periods the question joins: each must be met
    ("Who ruled the county in the 1300's and 1400's?", "The counts of Foix ruled the county in the 13th and "
     "14th centuries.", True),
    ("Who ruled the county in the 1200's and 1300's?", "The counts of Foix ruled the county in the 13th and "
     "14th centuries.", False),
    ("Which band was popular in the 1990's?", "Oasis was popular in 1995.", False),
    ("Which band was popular in 1995?", "Oasis was popular in the 1990s.", False),
    # years joined are two occasions: one sentence may answer one of them
    ("Where did the two leaders meet in 2017 and in 2019?", "The two leaders met at Versailles in May 2017.", False),
    # 'between the 12th and 15th centuries' is one span, which holds the 1300s
    ("What did the monks copy in the 1300s?", "The monks copied Bibles between the 12th and 15th centuries.", False),
])
def test_a_century_or_decade_asked_against_the_periods_said(question: str, text: str, contradicts: bool) -> None:
    assert answerability.contradicts(answerability.analyze(question), text) is contradicts


def _found(question: str, text: str) -> str | None:
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    found = answerability.find_answer(answerability.analyze(question), [Sentence("d.txt", 0, len(text), text)], [1.0],
                                      ev, margin=0.1)
    return None if found is None else text[found.entity.start:found.entity.end]


def test_a_sentence_of_another_century_gives_no_answer_and_its_twin_does() -> None:
    text = "In the 13th and 14th centuries Gaston Phoebus and his heirs ruled the county."
    assert _found("Who ruled the county in the 1300's and 1400's?", text) is None
    assert _found("Who ruled the county in the 1200's and 1300's?", text) == "Gaston Phoebus"
    ivory = "Lombard Salerno was a centre of ivory carving in the 11th century."
    assert _found("Which city was a centre of ivory carving in the 1100s?", ivory) is None
    assert _found("Which city was a centre of ivory carving in the 1000s?", ivory) == "Salerno"
