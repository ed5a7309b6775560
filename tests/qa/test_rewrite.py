"""The follow-up rewrite (qa/rewrite.py): which questions are follow-ups, the choice of a pronoun's referent on
hand-made mentions and the small text helpers (fast); references resolved on the real spaCy parse over a varied
list of follow-ups, none of them from the eval sets (slow)."""

from __future__ import annotations

import pytest

from qa.rewrite import (
    DATE,
    GROUP,
    PERSON,
    PLACE,
    THING,
    Mention,
    first_sentence,
    is_followup,
    pick_referent,
    rewrite_followup,
)
from qa.rewrite import _gerund as gerund

HISTORY = [
    {"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
    {"role": "assistant", "content": "Florence Parly and Jean-Yves Le Drian visited Moscow. [1]"},
]


def test_followups_are_told_from_standalone_questions() -> None:
    assert is_followup("And who did they meet on the Russian side?", HISTORY)
    assert is_followup("And in 2020?", HISTORY)
    assert is_followup("What did the ministers discuss?", HISTORY)  # a description of an earlier turn's noun
    assert not is_followup("How many people were killed in the Paris attacks?", HISTORY)
    assert not is_followup("And who did they meet?", None)
    assert rewrite_followup("And who did they meet?", None) == "And who did they meet?"
    q = "How many people were killed in the Paris attacks?"
    assert rewrite_followup(q, HISTORY) == q  # searched as asked, without loading a parser


def test_first_sentence_of_the_previous_answer_without_markers() -> None:
    assert first_sentence("Macron hosted Putin at Versailles. [1] They talked about Syria. [2]") == (
        "Macron hosted Putin at Versailles.")
    assert first_sentence("He called for “a broad coalition.” Western leaders scoffed. [1]") == (
        "He called for “a broad coalition.”")
    assert first_sentence("The articles don't say who won.") == ""


MACRON = Mention("Macron", PERSON)
PUTIN = Mention("Putin", PERSON)
SMITH = Mention("Julianne Smith", PERSON, answers=True)
FRANCE_RUSSIA = Mention("France and Russia", GROUP, plural=True)
RUSSIA = Mention("Russia", PLACE)
MINISTERS = Mention("Florence Parly and Jean-Yves Le Drian", GROUP, plural=True, answers=True)
PUPPY = Mention("the Alsatian puppy", THING, head="puppy", answers=True)
ATTACKS = Mention("the Paris attacks", THING, head="attack", plural=True)
MAY = Mention("May 2017", DATE, prep="in")


def test_pronouns_pick_the_most_salient_mention_that_agrees() -> None:
    assert pick_referent("he", [MAY, MACRON, PUTIN]) == MACRON
    assert pick_referent("his", [RUSSIA, MACRON], possessive=True) == MACRON
    assert pick_referent("it", [MACRON, ATTACKS, PUPPY, RUSSIA]) == PUPPY
    assert pick_referent("it", [MACRON, RUSSIA]) == RUSSIA  # no thing named: a country will do
    assert pick_referent("they", [RUSSIA, ATTACKS, FRANCE_RUSSIA]) == FRANCE_RUSSIA  # coordinated names first
    assert pick_referent("they", [RUSSIA, ATTACKS]) == RUSSIA  # a country before a plural noun
    assert pick_referent("they", [Mention("French ministers", THING, head="minister", plural=True), MINISTERS]) == (
        MINISTERS)  # the people the previous answer named, before the question's "French ministers"
    assert pick_referent("she", [MAY, RUSSIA]) is None  # no person: left as it is
    assert pick_referent("there", [RUSSIA]) is None  # not a pronoun this picks


def test_ambiguous_references_are_left_alone() -> None:
    # "What message did she want him to carry?" after a question naming Obama and Hollande: "him" is either
    mentions = [SMITH, Mention("Obama", PERSON), Mention("Hollande", PERSON)]
    assert pick_referent("she", mentions) == SMITH
    assert pick_referent("him", mentions, used={"Julianne Smith"}) is None
    assert pick_referent("him", [SMITH, PUTIN], used={"Julianne Smith"}) == PUTIN
    # "When did the ships reach their new owner?": their = the ships
    assert pick_referent("their", [FRANCE_RUSSIA], possessive=True, own_subject=True) is None


@pytest.mark.parametrize("lemma, form", [("call", "calling"), ("invade", "invading"), ("stop", "stopping"),
                                         ("die", "dying"), ("see", "seeing"), ("visit", "visiting"),
                                         ("turn", "turning"), ("meet", "meeting")])
def test_gerund(lemma: str, form: str) -> None:
    assert gerund(lemma) == form
