"""Relations: does a sentence say what the question says about the words they share, or something else?

A question written against a sentence but changed so that the sentence no longer answers it (most of SQuAD 2.0's
unanswerable questions are such edits) keeps the sentence's words and swaps one in a dependency slot: "Who
defeated the Saxons?" asked of "The Saxons defeated the Picts" (the roles reversed), "the tallest tower of the
castle" of "the oldest tower of the castle" (another adjective), "Who joined Danish troops?" of "The Saxons joined
Frisian troops" (another people), "the width of the Elbe" of "the width of the Weser" (another name), "What did
not survive the fire?" of "The chapel survived the fire" (a negation added). Both parses (spaCy, cached) are
compared: for each content word the question shares with the sentence (same lemma), the words in the same slots
under it (subject, object, modifier, "of" or another prepositional phrase) are compared. A question word in a slot
where the sentence's mentions of the shared word hold a *different* word of the same kind (another name, another
number, another adjective) and never the question's is a swap: the sentence does not say what the question asks
about, so it answers nothing (:func:`mismatch`; ``qa.answerability.find_answer`` skips such a sentence, and a clause
answer whose quoted sentences all do so is refused: :func:`answers_nothing`). A verb or adjective the sentence has
only with an opposing prefix ("decreased" asked, "increased" said; "insignificant"/"significant") is a swap too:
a rule on the words' form; and so is WordNet's antonym of a question word the sentence lacks, said of the same
thing ('the smallest inland port' asked, 'the largest inland port' said; ``qa.wordnet.antonym_in_role``).

Guards against the parses differing more often than the facts: an adjective the sentence uses elsewhere is not
swapped (paraphrase), nor is a word the sentence ties to the shared word some other way (within two parse edges,
as its apposition, or as the subject of "X is a N"); a phrase's words match by form, a place by its people
("France"/"French"), a name with or without accents or one letter off. A word given in the question but found
nowhere in the sentence is left alone unless the sentence puts something else in the very slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import lexical, wordnet
from qa.analysis import QuestionAnalysis
from qa.constraints import contradicts, same_word
from qa.ties import parse

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["NEGATION", "Mismatch", "answers_nothing", "mismatch"]

_CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_OPPOSABLE = frozenset({"NOUN", "VERB", "ADJ", "ADV"})  # parts of speech whose WordNet antonyms are checked
# a word's slots, by the dependency that fills them: the doer (an active subject, a passive's agent), what is done
# to (an object, a passive subject), and the modifiers of a noun
_SUBJECT = "subject"
_OBJECT = "object"
_MODIFIER = "modifier"
_OF = "of"
NEGATION = "negation"
OPPOSITE = "opposite"
# prefixes that make a word's opposite ('increase'/'decrease', 'significant'/'insignificant', 'inflow'/'outflow',
# 'upstream'/'downstream'): by form, not a list of words
_OPPOSING = ("in", "im", "il", "ir", "un", "dis", "non", "de", "ex", "out", "up", "down")
_NEGATING = frozenset({"in", "im", "il", "ir", "un", "dis", "non"})
_SLOTS = {"nsubj": _SUBJECT, "dobj": _OBJECT, "nsubjpass": _OBJECT, "amod": _MODIFIER, "compound": _MODIFIER,
          "nmod": _MODIFIER, "poss": _MODIFIER}
_NAME_TAGS = frozenset({"NNP", "NNPS"})
# the recogniser's labels of names; its labels among them are too often wrong ('the Rhine' a PERSON) to tell kinds
_NAME_LABELS = frozenset({"NORP", "GPE", "LOC", "FAC", "PERSON", "ORG", "WORK_OF_ART", "EVENT", "LAW", "PRODUCT",
                          "LANGUAGE"})
_LIGHT = frozenset("be have do make take get give become one part kind type".split())  # too general to anchor on


@dataclass(frozen=True)
class Mismatch:
    """The question's word and the sentence's word in the same slot of a shared word."""

    shared: str  # the word both mention (the sentence's form)
    slot: str  # subject, object, modifier, of, '<preposition> phrase', or NEGATION
    asked: str  # the question's word in the slot
    said: str  # the sentence's word there instead

    def describe(self) -> str:
        """"the question's modifier of 'troops' is Danish, the sentence's Frisian"."""
        if self.slot in (NEGATION, OPPOSITE):
            return f"the question says {self.asked}, the sentence {self.said}"
        return f"the question's {self.slot} of '{self.shared}' is {self.asked}, the sentence's {self.said}"


def mismatch(question: str, sentence: str) -> Mismatch | None:
    """The first swap between the question and the sentence, or None when none is found.

    Args:
        question: the question as asked.
        sentence: a sentence that might answer it.

    Returns:
        A :class:`Mismatch` when, for a content word both mention, the question puts a word in one of its slots
        where every mention of it in the sentence puts another word of the same kind (and the question's word is
        not in that slot there); else None.
    """
    return _mismatch(question, sentence)


def answers_nothing(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a sentence cannot answer the question: its years contradict the question's
    (``qa.constraints.contradicts``) or it swaps a word the question gives (:func:`mismatch`). A clause answer
    (why, how, what did X do) is refused when every sentence it would quote answers nothing."""
    return contradicts(analysis, sentence) or mismatch(analysis.question, sentence) is not None


@lru_cache(maxsize=8192)
def _mismatch(question: str, sentence: str) -> Mismatch | None:
    q_doc, s_doc = parse(question), parse(sentence)
    by_lemma: dict[str, list[Token]] = {}
    for t in s_doc:
        if t.pos_ in _CONTENT:
            by_lemma.setdefault(t.lemma_.lower(), []).append(t)
    s_words = {w for t in s_doc for w in (t.lemma_.lower(), t.lower_)}
    antonym: Mismatch | None = None  # WordNet's, said when no other swap is found
    for q in q_doc:
        lemma = q.lemma_.lower()
        if antonym is None and q.pos_ in _OPPOSABLE and lemma not in s_words and not _is_wh(q) and (
                said := wordnet.antonym_in_role(q, list(s_doc))) is not None:  # 'smallest' asked, 'largest' said
            antonym = Mismatch(said.text, OPPOSITE, q.text, said.text)
        if q.pos_ not in _CONTENT or lemma in _LIGHT or _is_wh(q):
            continue
        mentions = by_lemma.get(lemma, [])
        if not mentions:
            if q.pos_ in ("VERB", "ADJ") and lemma not in s_words:  # "decreased" asked, "increased" said
                opposite = next((t for t in s_doc if t.pos_ == q.pos_ and _opposite(lemma, t.lemma_.lower(),
                                                                       adjective=q.pos_ == "ADJ")), None)
                if opposite is not None:
                    return Mismatch(opposite.text, OPPOSITE, q.text, opposite.text)
            continue
        if q.pos_ in ("VERB", "ADJ") and _negated(q) and not any(_negated(m) for m in mentions):
            return Mismatch(mentions[0].text, NEGATION, _with_negation(q), _with_negation(mentions[0]))
        slots: dict[str, list[Token]] = {}
        for slot, asked in _fillers(q):
            slots.setdefault(slot, []).append(asked)
        for slot, asked_all in slots.items():
            if any(_is_wh(t) for a in asked_all for t in a.subtree):
                continue  # 'which river', 'how many villages': the slot holds what is asked
            for asked in asked_all:
                absent = not any(_same(asked.lemma_.lower(), w) for w in s_words)
                if asked.pos_ == "ADJ" and not _is_name(asked) and not absent:
                    continue  # an adjective the sentence uses elsewhere: a paraphrase more likely than a swap
                if slot.endswith(" phrase") and not absent:
                    continue
                if _near(asked, slot, mentions, s_doc):
                    continue  # 'the Gallery of Battles at the Versailles Palace', 'sell the boats to Russia'
                said = _conflict(asked_all, slot, mentions, absent=absent)
                if said is not None:
                    return Mismatch(mentions[0].text, slot, _phrase(asked), _phrase(said))
    return antonym


def _conflict(asked: list[Token], slot: str, mentions: list[Token], *, absent: bool) -> Token | None:
    """The sentence's word in ``slot`` of a mention, when every mention fills the slot with a word of the kind of
    one of the question's words there and none with any of them ('important classical developments' agrees with
    'several important developments'), nor is the question's word what the mention is said to be ('the Elbe
    river' of 'The Elbe is a German river'). When the question's word is nowhere in the sentence, mentions
    that leave the slot empty are passed over."""
    said: Token | None = None
    for m in mentions:
        fillers = [t for s, t in _fillers(m) if s == slot]
        if not fillers and absent:  # 'a work of embroidery' beside 'the most famous work': not this one
            continue
        if not fillers or any(_matches(a, f) for a in asked for f in [*fillers, *_identity(m)]):
            return None
        other = next((f for f in fillers for a in asked if _same_kind(a, f)), None)
        if other is None:
            return None
        said = said or other
    return said


def _opposite(a: str, b: str, *, adjective: bool) -> bool:
    """Two words that differ only by opposing prefixes ('increase'/'decrease'), what is left being four letters or
    more; for adjectives also a negating prefix on one of them ('significant'/'insignificant')."""
    if a == b:
        return False
    bare = ("",) if adjective else ()
    for x in (*bare, *_OPPOSING):
        for y in (*bare, *_OPPOSING):
            if x == y or not (a.startswith(x) and b.startswith(y)) or a[len(x):] != b[len(y):] or len(a) - len(x) < 4:
                continue
            if "" not in (x, y) or {x, y} & _NEGATING:
                return True
    return False


def _negated(token: Token) -> bool:
    """'did not sign', 'is not clean', 'never signed': a negation on the word or on the verb it completes."""
    heads = [token, token.head] if token.dep_ in ("acomp", "attr", "xcomp", "ccomp") else [token]
    return any(c.dep_ == "neg" and not (c.i + 1 < len(c.doc) and c.nbor().lower_ == "only")
               for h in heads for c in h.children)  # 'not only by the rivers': no negation


def _with_negation(token: Token) -> str:
    """The word, with 'not' before it when it is negated."""
    return f"not {token.text}" if _negated(token) else token.text


def _near(asked: Token, slot: str, mentions: list[Token], doc: Doc) -> bool:
    """Whether the sentence ties the asked word to a mention in another way than the question (the parses differ
    more often than the facts): as a modifier of it directly, or within two edges of it for other slots, but not
    as the verb's other argument ('The Normans replaced the Anglo-Saxons' asked as 'Who replaced the Normans?')."""
    lemma = asked.lemma_.lower()
    reach = 1 if slot == _MODIFIER else 2
    other = {_SUBJECT: _OBJECT, _OBJECT: _SUBJECT}.get(slot)
    for m in mentions:
        swapped = {f.i for s, f in _fillers(m) if s == other}
        for t in doc:
            if _same(lemma, t.lemma_.lower()) and _distance(t, m) <= reach and not (
                    t.i in swapped or any(c.i in swapped for c in t.ancestors)):
                return True
    return False


def _distance(a: Token, b: Token) -> int:
    """Edges between two tokens of one parse (99 when they share no ancestor)."""
    up_a, up_b = [a, *a.ancestors], [b, *b.ancestors]
    for i, t in enumerate(up_a):
        if t in up_b:
            return i + up_b.index(t)
    return 99


def _identity(noun: Token) -> list[Token]:
    """What a noun is said to be the same as: its appositions, the subject of 'X is a N'."""
    out = [c for c in noun.children if c.dep_ == "appos"]
    if noun.dep_ == "appos":
        out.append(noun.head)
    if noun.dep_ == "attr":
        out += [c for c in noun.head.children if c.dep_ in ("nsubj", "nsubjpass")]
    return out


def _fillers(token: Token) -> Iterator[tuple[str, Token]]:
    """(slot, word) for the words filling a word's slots: its subject, object, modifiers and 'of' phrase, each
    with the words conjoined to it; a relative pronoun stands for the noun its clause is on."""
    passive = any(c.dep_ == "auxpass" for c in token.children)
    for child in token.children:
        slot = _SLOTS.get(child.dep_)
        if slot == _SUBJECT and passive:  # 'When was the Upper Rhine sold' parsed with an active subject
            slot = _OBJECT
        word: Token | None = child
        if child.dep_ == "agent":  # "replaced by the Normans": the doer
            slot, word = _SUBJECT, _pobj(child)
        elif child.dep_ == "prep" and child.lower_ == "of" and token.pos_ in ("NOUN", "PROPN"):
            slot, word = _OF, _pobj(child)
        elif child.dep_ == "prep":
            slot, word = f"{child.lower_} phrase", _pobj(child)
        if slot is None or word is None:
            continue
        if word.tag_ in ("WDT", "WP", "WP$") and token.dep_ == "relcl":  # "the people who gave": the people
            word = token.head
        for w in _with_conjuncts(word):
            yield slot, w


def _pobj(prep: Token) -> Token | None:
    """The object of a preposition."""
    return next((c for c in prep.children if c.dep_ == "pobj"), None)


def _with_conjuncts(token: Token) -> Iterable[Token]:
    """The word and those conjoined to it ('the Elbe and the Oder')."""
    yield token
    yield from token.conjuncts


def _same_kind(asked: Token, said: Token) -> bool:
    """Two words that could stand in each other's place: two names (or nationalities), two numbers, two
    adjectives."""
    if not (said.like_num or (said.is_alpha and len(said) > 1)):
        return False  # 'm3/s' split into pieces
    if asked.like_num or said.like_num:
        return asked.like_num and said.like_num
    if _is_name(asked) or _is_name(said):
        return _is_name(asked) and _is_name(said)
    return asked.pos_ == "ADJ" and said.pos_ == "ADJ"


def _is_name(token: Token) -> bool:
    """A proper noun or a word of a named entity, but not of a date, time or quantity ('May 29')."""
    if token.ent_type_ and token.ent_type_ not in _NAME_LABELS:
        return False
    return token.tag_ in _NAME_TAGS or bool(token.ent_type_)


def _matches(asked: Token, said: Token) -> bool:
    """The same word, or phrases sharing a content word ('the Rhine' and 'the Rhine river')."""
    a = {t.lemma_.lower() for t in _phrase_tokens(asked) if t.pos_ in _CONTENT or t.like_num}
    s = {t.lemma_.lower() for t in _phrase_tokens(said) if t.pos_ in _CONTENT or t.like_num}
    return any(_same(x, y) for x in a | {asked.lemma_.lower()} for y in s | {said.lemma_.lower()})


def _phrase_tokens(token: Token) -> list[Token]:
    """A word's phrase: its subtree, the named entity it is part of, and the noun it is a compound of ('President'
    in 'President Barack Obama')."""
    out = list(token.subtree)
    if token.ent_type_:
        out += [t for ent in token.doc.ents if ent.start <= token.i < ent.end for t in ent]
    if token.dep_ == "compound":
        out += list(token.head.subtree)
    return out


def _same(a: str, b: str) -> bool:
    """One word or its forms ('Normans'/'Norman'), a place and its people ('France'/'French'), a name spelt with or
    without accents or one letter off ('Jumièges'/'Jumieges')."""
    a, b = lexical.fold(a), lexical.fold(b)
    return same_word(a, b) or lexical.same_place(a, b) or (min(len(a), len(b)) >= 5 and _one_edit(a, b))


def _one_edit(a: str, b: str) -> bool:
    """One letter changed, added or dropped ('Wesel'/'Wessel')."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _is_wh(token: Token) -> bool:
    """A wh-word, or a word it determines ('which river')."""
    return token.tag_ in ("WDT", "WP", "WP$", "WRB") or any(t.tag_ in ("WDT", "WP", "WP$") for t in token.children
                                                             if t.dep_ in ("det", "poss"))


def _phrase(token: Token) -> str:
    """The word's phrase as written, or the word alone when the phrase is long."""
    doc: Doc = token.doc
    span = doc[token.left_edge.i: token.right_edge.i + 1]
    return span.text if len(span) <= 6 else token.text
