"""Ties in a sentence's parse between a candidate answer and what the question asks about.

"What was the name of the puppy": the candidate must sit near a mention of "puppy" in the sentence's dependency
parse, or be the subject of a verb that gives it the role ("X was named ..."). "Who was the Russian ambassador":
the name must be tied to a mention of the role (or a verb made from it: "led" for "leader").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from qa.analysis import Entity, QuestionAnalysis, load_pipeline
from qa.answer_types import NAME_LABELS, NOUN_TYPES, ORGANISATION, PERSON, THING
from qa.constraints import same_word
from qa.evidence import Sentence

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_TIE_DISTANCE = 2  # edges between the focus noun and a "name of X" candidate in the sentence's parse
_GENERIC_ROLES = frozenset("person people man woman member head one guest host".split())
_ROLE_VERBS = frozenset("be become remain elevate name appoint make crown elect call title proclaim promote".split())


def asks_name_of(analysis: QuestionAnalysis) -> bool:
    """'What was the name of the puppy', 'what is the dog called': a name of a thing the question names."""
    return analysis.answer_type == THING and analysis.expected_labels == NAME_LABELS and bool(analysis.focus_head)


def held_by_role(analysis: QuestionAnalysis, sentence: Sentence, found: list[Entity]) -> list[Entity]:
    """For a question about who holds a role ('Who was the Russian ambassador to France?', 'Which ministers ...'),
    the candidates tied to a mention of the role in the sentence's parse, when there are any. 'Who was the
    ambassador' asks for nothing but the role: a sentence that never mentions it (nor a verb it is made from:
    'led' for 'leader') answers nothing, whoever it names. A question that also says what the person did ('Which
    ministers travelled ...') may be answered by a sentence that names the doer without the role."""
    role = analysis.focus_head
    if analysis.answer_type not in (PERSON, ORGANISATION) or role in _GENERIC_ROLES:
        return found
    if NOUN_TYPES.get(role, ("",))[0] != PERSON:
        return found
    doc = parse(sentence.text)
    mentions = [t for t in doc if same_word(role, t.lemma_.lower())]
    if not mentions:
        return [] if analysis.wh_word in ("who", "whom") else found
    tied = [e for e in found if (span := doc.char_span(e.start, e.end, alignment_mode="expand")) is not None
            and any(_distance(span.root, m) <= _TIE_DISTANCE for m in mentions)]
    return tied or found


@lru_cache(maxsize=4096)
def parse(text: str) -> Doc:
    """A sentence's full parse, cached (sentences come back with every question about them)."""
    return load_pipeline()(text)


def tied_to_focus(analysis: QuestionAnalysis, sentence: Sentence, found: Sequence[Entity]) -> list[Entity]:
    """The candidates within ``_TIE_DISTANCE`` parse edges of a mention of the focus noun in the sentence, or given
    the role it names by the verb they are the subject of (:func:`_holds_role`)."""
    doc = parse(sentence.text)
    focus = [t for t in doc if t.lemma_.lower() == analysis.focus_head]
    if not focus:
        return []
    tied = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        if span is not None and any(_distance(span.root, f) <= _TIE_DISTANCE or _holds_role(span.root, f)
                                    for f in focus):
            tied.append(e)
    return tied


def _holds_role(name: Token, focus: Token) -> bool:
    """'X was elevated to the dignity of count of Y', 'X became king of Z': the name is the subject of a verb that
    gives it the role the focus names, however far down the verb's phrase the focus sits."""
    verb = name.head
    return (name.dep_ in ("nsubj", "nsubjpass") and verb.lemma_.lower() in _ROLE_VERBS
            and verb in focus.ancestors)


def _distance(a: Token, b: Token) -> int:
    """Edges between two tokens of one parse."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    for i, t in enumerate(up_a):
        if t in up_b:
            return i + up_b.index(t)
    return 99
