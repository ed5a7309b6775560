"""Kin asked by the other side of the tie: 'Who was Emma's brother?' is answered by 'Emma, sister of Duke Richard
II': the sentence names Emma's sibling with the kin word that Emma is to him. A kin word of the sentence stands for
the question's kin word when it is one of its converses (brother: sister, brother, sibling; husband: wife ...) and
the question's own person (the possessor of the kin word, 'Emma' of "Emma's brother") is that word's person in the
sentence: its apposition, possessor or head, one parse edge away. The other party of the tie is then within
``qa.ties``'s usual distance of that word.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["converse_mentions"]

_SIBLING = ("brother", "sister", "sibling")
_PARENT = ("father", "mother", "parent")
_CHILD = ("son", "daughter", "child")
_SPOUSE = ("husband", "wife", "spouse")
# a kin word -> the words the other person of the tie is called (the converse), lemmas
_CONVERSE: dict[str, tuple[str, ...]] = {
    **{w: _SIBLING for w in _SIBLING},
    **{w: _CHILD for w in _PARENT},
    **{w: _PARENT for w in _CHILD},
    **{w: _SPOUSE for w in _SPOUSE},
    "fiancee": ("fiancé", "fiance"), "fiancée": ("fiancé", "fiance"),
    "fiance": ("fiancée", "fiancee"), "fiancé": ("fiancée", "fiancee"),
}


def converse_mentions(role: str, question: Doc, sentence: Doc) -> list[Token]:
    """The sentence's kin words that state the question's kin tie from its other side, or [].

    Args:
        role: the question's kin word as asked ('brother'), its lemma.
        question: the question's parse.
        sentence: the sentence's parse.

    Returns:
        The sentence's tokens of a converse kin word ('sister' of 'Emma, sister of Duke Richard II') one parse
        edge away from a word naming the question's possessor of ``role`` ('Emma'); empty when ``role`` is no kin
        word or the question names nobody whose kin it asks.
    """
    converse = _CONVERSE.get(role.lower())
    if converse is None:
        return []
    owners = {t.lower_ for q in question if q.lemma_.lower() == role.lower()
              for c in q.children if c.dep_ == "poss" for t in c.subtree if t.is_alpha and t.pos_ == "PROPN"}
    if not owners:
        return []
    return [t for t in sentence if t.lemma_.lower() in converse and t.lemma_.lower() != role.lower()
            and any(n.lower_ in owners for n in (t.head, *t.children))]
