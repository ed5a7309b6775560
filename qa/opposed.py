"""Opposites WordNet does not list: another compass direction said of the same thing ('continued southward' asked,
'continued northward' said; 'a turn to the south' asked, 'turns north' said), and 'least' put before a word the
sentence says plainly ('the least dominant sectors' asked, 'the dominant sectors' said).

A direction word is compared only when the question's direction is nowhere in the sentence and the sentence's
direction word hangs off the same word as the question's (its head, prepositions passed through: 'turn' of 'a
turn to the south' and of 'it turns north'). ``qa.relations.mismatch`` reports either as an opposite.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["direction", "least_added", "other_direction"]

_DIRECTION = re.compile(r"^(north|south)?-?(east|west)?(?:ward|wards|ern|erly|ernmost)?$")


def direction(word: str) -> str | None:
    """The compass direction a word names ('southward' -> 'south', 'north-eastern' -> 'northeast'), or None."""
    m = _DIRECTION.match(word.lower())
    if m is None or not (m.group(1) or m.group(2)):
        return None
    return (m.group(1) or "") + (m.group(2) or "")


def _anchor(token: Token) -> Token:
    """The word a token hangs off, prepositions passed through ('turn' for 'south' in 'a turn to the south')."""
    head = token.head
    while head.pos_ == "ADP" and head.head is not head:
        head = head.head
    return head


def other_direction(question: Doc, sentence: Doc) -> tuple[str, str] | None:
    """(the question's direction word, the sentence's) when the question gives a direction the sentence never
    says and the sentence says another one of the same word; else None."""
    said_directions = {d for t in sentence if (d := direction(t.text)) is not None}
    for q in question:
        asked = direction(q.text)
        if asked is None or asked in said_directions or q.head is q:
            continue
        anchor = _anchor(q).lemma_.lower()
        for t in sentence:
            said = direction(t.text)
            if said is not None and said != asked and t.head is not t and _anchor(t).lemma_.lower() == anchor:
                return q.text, t.text
    return None


def least_added(question: Doc, sentence: Doc) -> tuple[str, str] | None:
    """('least dominant', 'dominant') when the question puts 'least' before an adjective the sentence says of the
    same noun without 'least' (nor 'less', 'fewest', a negation); else None."""
    for q in question:
        if q.lower_ != "least" or q.head is q or q.head.pos_ != "ADJ":
            continue
        adjective = q.head
        for t in sentence:
            if t.pos_ == "ADJ" and t.lemma_.lower() == adjective.lemma_.lower() and t.head.lemma_.lower() == (
                    adjective.head.lemma_.lower()) and not any(
                    c.lower_ in ("least", "less", "not", "never", "fewest") for c in t.children):
                return f"least {adjective.text}", t.text
    return None
