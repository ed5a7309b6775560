"""When two words of two parses are the same word, the same name, or words of one kind: what ``qa.relations``
compares the slots of a question and a sentence with. A word matches its forms ('Normans'/'Norman'), a place its
people ('France'/'French'), a name with or without accents or one letter off; phrases match by a content word they
share ('the Rhine', 'the Rhine river'), but two names that name different things do not ('the Lower Rhine', 'the
Upper Rhine'; 'the Old Rhine Bridge', 'the Rhine')."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa import lexical
from qa.constraints import same_word

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["CONTENT", "KIND_WORDS", "NAME_LABELS", "NAME_TAGS", "distinct_names", "is_name", "is_wh", "matches",
           "name_words", "numeric", "one_edit", "phrase", "phrase_tokens", "same", "same_kind"]

CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
NAME_TAGS = frozenset({"NNP", "NNPS"})
# the recogniser's labels of names; its labels among them are too often wrong ('the Rhine' a PERSON) to tell kinds
NAME_LABELS = frozenset({"NORP", "GPE", "LOC", "FAC", "PERSON", "ORG", "WORK_OF_ART", "EVENT", "LAW", "PRODUCT",
                         "LANGUAGE"})
# words naming the kind of a named place, not the place: 'the Rhine river' is the Rhine
KIND_WORDS = frozenset("river lake sea ocean city town village state county province country island islands mount "
                       "mountain mountains the".split())


def same_kind(asked: Token, said: Token) -> bool:
    """Two words that could stand in each other's place: two names (or nationalities), two numbers, two
    adjectives."""
    if not (said.like_num or (said.is_alpha and len(said) > 1)):
        return False  # 'm3/s' split into pieces
    if asked.like_num or said.like_num:
        return asked.like_num and said.like_num
    if is_name(asked) or is_name(said):
        return is_name(asked) and is_name(said)
    return asked.pos_ == "ADJ" and said.pos_ == "ADJ"


def numeric(token: Token) -> bool:
    """A number, not an ordinal adjective ('first' is like a number to the tokenizer)."""
    return token.like_num and token.pos_ != "ADJ" and token.ent_type_ != "ORDINAL"


def is_name(token: Token) -> bool:
    """A proper noun or a word of a named entity, but not of a date, time or quantity ('May 29')."""
    if token.ent_type_ and token.ent_type_ not in NAME_LABELS:
        return False
    return token.tag_ in NAME_TAGS or bool(token.ent_type_)


def matches(asked: Token, said: Token) -> bool:
    """The same word, or phrases sharing a content word ('the Rhine' and 'the Rhine river'), but not two names
    that differ (:func:`_distinct_names`: 'the Lower Rhine' and 'the Upper Rhine')."""
    if distinct_names(asked, said):
        return False
    a = {t.lemma_.lower() for t in phrase_tokens(asked) if t.pos_ in CONTENT or t.like_num}
    s = {t.lemma_.lower() for t in phrase_tokens(said) if t.pos_ in CONTENT or t.like_num}
    return any(same(x, y) for x in a | {asked.lemma_.lower()} for y in s | {said.lemma_.lower()})


def name_words(token: Token) -> tuple[set[str], str]:
    """The words of the name a token heads or is part of, with the compounds before it ('Lower', 'Rhine' of 'the
    Lower Rhine region' for 'Rhine'), less words of kind ('river', 'lake'); and the name's last word."""
    words = [token]
    frontier = [token]
    while frontier:
        t = frontier.pop()
        for c in t.children:
            if c.dep_ == "compound" and c.i < t.i and (c.tag_ in NAME_TAGS or c.like_num):
                words.append(c)
                frontier.append(c)
    if token.ent_type_ in NAME_LABELS:
        words += [t for ent in token.doc.ents if ent.start <= token.i < ent.end for t in ent
                  if t.i <= token.i and (t.tag_ in NAME_TAGS or t.like_num)]
    lemmas = {lexical.fold(t.lower_) for t in words} - KIND_WORDS
    return lemmas, lexical.fold(token.lower_)


def distinct_names(a: Token, b: Token) -> bool:
    """Two names that name different things: no name word in common ('Anglo-Norman', 'Anglo-Saxon'), or each has a
    word the other lacks ('the Lower Rhine',
    'the Upper Rhine'; 'Henry II', 'Henry III'), or one is the other and more, ending in a name word of its own
    ('the Old Rhine Bridge', 'the Rhine'). 'Lake Constance' and 'Constance', 'the river Rhine' and 'the Rhine' are
    one name."""
    if not (a.tag_ in NAME_TAGS and b.tag_ in NAME_TAGS):
        return False
    (wa, ha), (wb, hb) = name_words(a), name_words(b)
    if not wa or not wb or wa == wb:
        return False
    if not (wa & wb):  # no word in common: 'the Anglo-Norman language', 'the Anglo-Saxon language'
        if any(t.dep_ in ("compound", "amod", "nmod") and t.head.pos_ == "PROPN" for t in (a, b)):
            return False  # parts of one name: 'Nicolas Sarkozy', 'President of France Sarkozy'
        around = {lexical.fold(t.lower_) for t in phrase_tokens(b) if t.tag_ in NAME_TAGS}
        return not any(same(x, y) for x in wa for y in wb | around)  # 'the Alsace on the banks of the Upper Rhine'
    if not (wa <= wb or wb <= wa):
        return True
    bigger, head = (wb, hb) if wa < wb else (wa, ha)
    return head in bigger - (wa & wb) and head not in KIND_WORDS


def phrase_tokens(token: Token) -> list[Token]:
    """A word's phrase: its subtree, the named entity it is part of, and the noun it is a compound of ('President'
    in 'President Barack Obama')."""
    out = list(token.subtree)
    if token.ent_type_:
        out += [t for ent in token.doc.ents if ent.start <= token.i < ent.end for t in ent]
    if token.dep_ == "compound":  # the noun phrase up to its head, not what follows it ('... to serve as a ...')
        head = token.head
        out += list(head.doc[head.left_edge.i: head.i + 1])
    return out


def same(a: str, b: str) -> bool:
    """One word or its forms ('Normans'/'Norman'), a place and its people ('France'/'French'), a name spelt with or
    without accents or one letter off ('Jumièges'/'Jumieges')."""
    a, b = lexical.fold(a), lexical.fold(b)
    return same_word(a, b) or lexical.same_place(a, b) or (min(len(a), len(b)) >= 5 and one_edit(a, b))


def one_edit(a: str, b: str) -> bool:
    """One letter changed, added or dropped ('Wesel'/'Wessel')."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def is_wh(token: Token) -> bool:
    """A wh-word, or a word it determines ('which river')."""
    return token.tag_ in ("WDT", "WP", "WP$", "WRB") or any(t.tag_ in ("WDT", "WP", "WP$") for t in token.children
                                                             if t.dep_ in ("det", "poss"))


def phrase(token: Token) -> str:
    """The word's phrase as written, or the word alone when the phrase is long."""
    doc: Doc = token.doc
    span = doc[token.left_edge.i: token.right_edge.i + 1]
    return span.text if len(span) <= 6 else token.text
