"""More ways a sentence can fail to say what the question asks, each kept in its own module.

``qa.relations.mismatch`` compares the slots of the words a question and a sentence share; the checks listed here
run after it finds no swap there, in order, and the first one to object is the mismatch. Each is a function of the
question and the sentence (both as written) returning ``(shared, slot, asked, said)``, the fields of
``qa.relations.Mismatch`` (slot ``"opposite"`` or ``"negation"`` reads "the question says X, the sentence Y"),
or None. ``qa.relations.answers_nothing`` also asks :data:`ELSEWHERE`: checks given the question's analysis that
say the sentence states its facts of another event, thing or time.

A check belongs here when it is a kind of question the slot comparison cannot see (an event said as a noun, a
phase of it, a century written as '1100s'); each keeps its own tests, built from sentences of its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qa import phases, roles

if TYPE_CHECKING:
    from qa.analysis import QuestionAnalysis

__all__ = ["CHECKS", "ELSEWHERE", "Swap", "elsewhere", "swap"]

Swap = tuple[str, str, str, str]  # shared word, slot, the question's word, the sentence's word

# (question, sentence) -> Swap | None, in the order they are tried
CHECKS: tuple[Callable[[str, str], Swap | None], ...] = (
    phases.opposite,  # the other phase, order or degree: 'end' asked, 'the begin of' said (qa.phases)
    roles.reversed_roles,  # a party the question gives, in the role it asks: 'Who did the monks teach?' (qa.roles)
)
# (analysis, sentence) -> True when the sentence's facts are of another event, thing or time
ELSEWHERE: tuple[Callable[[QuestionAnalysis, str], bool], ...] = ()


def swap(question: str, sentence: str) -> Swap | None:
    """The first objection of :data:`CHECKS` to ``sentence`` as an answer to ``question``, or None."""
    for check in CHECKS:
        if (found := check(question, sentence)) is not None:
            return found
    return None


def elsewhere(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a check of :data:`ELSEWHERE` finds ``sentence`` stating its facts of something the question does
    not ask about."""
    return any(check(analysis, sentence) for check in ELSEWHERE)
