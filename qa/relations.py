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
answer whose quoted sentences all do so is refused: :func:`answers_nothing`; one whose first sentence says the
opposite or names another thing beside the same noun, too: :func:`opens_with_swap`). A candidate found below a
sentence that swaps a word the question gives (:func:`decisive`), in a sentence lacking that word, is refused too
(:func:`outranked`): the question was asked of the sentence above, which does not answer it.

A verb or adjective the sentence has only with an opposing prefix ("decreased" asked, "increased" said;
"insignificant"/"significant") is a swap too: a rule on the words' form; and so is WordNet's antonym of a
question word the sentence lacks, said of the same thing ('the smallest inland port' asked, 'the largest inland
port' said; ``qa.wordnet.antonym_in_role``).

Also swaps: the same thing after the opposite preposition on the same word ('fled from Italy' asked, 'fled to
Italy' said; 'after the conquest'/'before the Conquest'; 'What sea does it flow out of?' of 'it flows into the North
Sea'); another name in a slot beside a word both share ('the first Byzantine mercenary', 'the first Norman
mercenaries'); two names that name different things though they share words ('the Lower Rhine'/'the Upper Rhine',
'the Old Rhine Bridge'/'the Rhine'; ``qa.word_match.distinct_names``); the doer of a verb conjoined to another ('The
Normans settled … and built castles' for 'built by the Irish'), and of a light verb with the same object ('took the
title'). Where the question's word fills a slot of another shared word, the sentence's mention in that same slot is
the one compared ('absorbed into the Anglo-Saxon language', not the Anglo-Norman language absorbed). A sentence
without the measure a 'how wide/long' or 'how many N' question asks for (``qa.measures``: no length, a point in
time for a span, no count of N) is a swap too, of slot :data:`MEASURE` (not :func:`decisive`).

Guards against the parses differing more often than the facts: an adjective the sentence uses elsewhere is not
swapped (paraphrase), nor is a word the sentence ties to the shared word some other way (within two parse edges,
as its apposition, or as the subject of "X is a N"); a phrase's words match by form, a place by its people
("France"/"French"), a name with or without accents or one letter off. A word given in the question but found
nowhere in the sentence is left alone unless the sentence puts something else in the very slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import adjectives, doers, measures, opposed, predicates, vetoes, wordnet
from qa.analysis import QuestionAnalysis
from qa.constraints import contradicts
from qa.ties import parse
from qa.word_match import CONTENT as _CONTENT
from qa.word_match import NAME_LABELS as _NAME_LABELS
from qa.word_match import distinct_names as _distinct_names
from qa.word_match import is_name as _is_name
from qa.word_match import is_wh as _is_wh
from qa.word_match import matches as _matches
from qa.word_match import numeric as _numeric
from qa.word_match import phrase as _phrase
from qa.word_match import same as _same
from qa.word_match import same_kind as _same_kind

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

    from qa.evidence import Sentence

__all__ = ["NEGATION", "Mismatch", "answers_nothing", "decisive", "mismatch", "opens_with_swap", "outranked"]

_OPPOSABLE = frozenset({"NOUN", "VERB", "ADJ", "ADV"})  # parts of speech whose WordNet antonyms are checked
# a word's slots, by the dependency that fills them: the doer (an active subject, a passive's agent), what is done
# to (an object, a passive subject), and the modifiers of a noun
_SUBJECT = "subject"
_OBJECT = "object"
_MODIFIER = "modifier"
_OF = "of"
NEGATION = "negation"
OPPOSITE = "opposite"
MEASURE = "measure"  # 'how wide' asked, no length given (qa.measures)
# prefixes that make a word's opposite ('increase'/'decrease', 'significant'/'insignificant', 'inflow'/'outflow',
# 'upstream'/'downstream'): by form, not a list of words
_OPPOSING = ("in", "im", "il", "ir", "un", "dis", "non", "de", "ex", "out", "up", "down")
_NEGATING = frozenset({"in", "im", "il", "ir", "un", "dis", "non"})
_SLOTS = {"nsubj": _SUBJECT, "dobj": _OBJECT, "nsubjpass": _OBJECT, "amod": _MODIFIER, "compound": _MODIFIER,
          "nmod": _MODIFIER, "poss": _MODIFIER}
# prepositions that put a thing at the other end of a motion or of time ('from'/'to', 'before'/'after')
_OPPOSED_PREPOSITIONS = {"from": {"to", "into", "towards", "toward"}, "to": {"from", "out"}, "into": {"from", "out"},
                         "out": {"into", "to"}, "before": {"after"}, "after": {"before"}, "above": {"below"},
                         "below": {"above"}}
# a verb's phrases naming a party to it or an end of its motion, which a subject or object swapped into: not 'with'
# (who met with whom is said either way round) nor places and times
_ROLE_PHRASES = frozenset({"from phrase", "into phrase", "to phrase", "out phrase", "onto phrase"})
_MISPARSED = {"VERB", "NOUN"}  # a question's last verb the parse calls a noun ('did it increase?')
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
        if self.slot == MEASURE:
            return f"the question asks {self.asked}, the sentence gives {self.said}"
        slot = f"'{self.slot}' phrase" if self.slot == _OF else (
            f"'{self.slot.removesuffix(' phrase')}' phrase" if self.slot.endswith(" phrase") else self.slot)
        return f"the question's {slot} of '{self.shared}' is {self.asked}, the sentence's {self.said}"


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
    if (lacks := measures.unmeasured(question, sentence)) is not None:  # 'how wide' of 'three bodies of water'
        return Mismatch(lacks[0], MEASURE, *lacks)
    found = _mismatch(question, sentence)  # else another named doer of the question's verb (qa.doers):
    doer = None if found else doers.other_doer(parse(question), parse(sentence))
    if found is None and doer is None and (other := vetoes.swap(question, sentence)) is not None:
        return Mismatch(*other)  # the checks of qa.vetoes
    return found if doer is None else Mismatch(doer[0], _SUBJECT, doer[1], doer[2])


def answers_nothing(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a sentence cannot answer the question: its years contradict it, it swaps a word the question gives
    (:func:`mismatch`), it dates another event (``qa.predicates``) or ``qa.vetoes.ELSEWHERE`` objects. A clause
    answer (why, how, what did X do) is refused when every sentence it would quote answers nothing."""
    return (contradicts(analysis, sentence) or mismatch(analysis.question, sentence) is not None
            or predicates.said_elsewhere(analysis, sentence) is not None or vetoes.elsewhere(analysis, sentence))


_ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth last".split())


def decisive(question: str, sentence: str) -> Mismatch | None:
    """A swap (:func:`mismatch`) that is not two words for one thing: another doer, thing done to, or party
    ('built by the Irish'/'the Normans built'), the opposite or a negation, or another modifier that is a name,
    number or ordinal ('the third Crusade'/'the First Crusade') or an antonym ('the shortest river'/'the longest
    river'), or superlatives by two measures ('the oldest work'/'the most famous work'; ``qa.adjectives``). Two
    plain adjectives ('main'/'major' tributaries) or synonyms ('largest'/'biggest') are not: maybe a paraphrase."""
    swap = _mismatch(question, sentence)
    if swap is None or swap.slot != _MODIFIER:
        return swap
    kinds = {_modifier_kind(swap.asked), _modifier_kind(swap.said)}
    if len(kinds) == 1 and kinds != {""}:
        return swap
    return swap if adjectives.ranked_apart(swap.asked, swap.said) or any(wordnet.opposed(
        a, b, pos) for a in _adjective_forms(swap.asked) for b in _adjective_forms(swap.said) for pos in "ar") else None


def _modifier_kind(phrase: str) -> str:
    """'number' for a number or ordinal ('third', 'First', '1990s'), 'name' for a capitalised word ('the Dutch
    border'), else ''."""
    words = phrase.split()
    words = words[words[0].lower() == "the":] or words
    if any(any(c.isdigit() for c in w) or w.lower() in _ORDINALS for w in words):
        return "number"
    return "name" if any(w[:1].isupper() for w in words) else ""


def _adjective_forms(word: str) -> set[str]:
    """The lemmas a modifier may be: itself, its last hyphenated part, less '-est'/'-er' ('shortest' -> 'short',
    'biggest' -> 'big', 'second-longest' -> 'long', 'earliest' -> 'early')."""
    out = set()
    for w in {word.lower(), word.lower().rsplit("-", 1)[-1], word.lower().split()[-1]}:
        out.add(w)
        for suffix in ("est", "er"):
            if w.endswith(suffix) and len(w) > len(suffix) + 2:
                stem = w[: -len(suffix)]
                out |= {stem, stem + "e", stem[:-1] + "y" if stem.endswith("i") else stem,
                        stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem}
    return out


def opens_with_swap(question: str, sentence: str) -> bool:
    """Whether the sentence a clause answer (or an entity question left to the threshold) quotes first swaps a word
    the question gives so that it is about another thing: says the opposite of it ('strong tidal currents' for
    'What can weak tidal currents do?'; :data:`OPPOSITE`), or names another one beside the same noun ('Norman
    art' for 'How has British art survived?'; a :func:`decisive` modifier). Other swaps of the first sentence
    alone (a negation, another doer) refuse too many answerable questions: a clause answer is refused for
    those only when every sentence it quotes swaps (:func:`answers_nothing`)."""
    swap = mismatch(question, sentence)
    if swap is None:
        return False
    return swap.slot == OPPOSITE or (swap.slot == _MODIFIER and decisive(question, sentence) is not None)


def outranked(question: str, sentences: Sequence[Sentence], index: int) -> Mismatch | None:
    """A swap that leaves the candidate found in ``sentences[index]`` (ranked best first) without the
    question's thing: a sentence ranked above it says of the question's thing another one, decisively
    (:func:`decisive`: a modifier, 'of' phrase, the opposite or a negation; not another doer or party, more
    often another event than the question's), and the candidate's sentence lacks a word of the question's the
    swap is about, within two parse edges of the word the swap is on when it has that word ('Byzantine Greece'
    beside 'Norman mercenary origin' does not say 'Byzantine mercenary'). 'What is the shortest river in
    Germany?' with 'The Rhine is the longest river in Germany' first and 'The biggest city on the river Rhine is
    Cologne' below: the question was asked of the first sentence, which does not answer it; 'Cologne' answers
    another question. None otherwise."""
    if index <= 0:
        return None
    doc = parse(sentences[index].text)
    for sentence in sentences[:index]:
        swap = decisive(question, sentence.text)
        if swap is None or swap.slot in (_SUBJECT, _OBJECT) or swap.slot.endswith(" phrase"):
            continue  # another doer or party: more often another event than the question's
        asked = [t for t in parse(swap.asked) if t.is_alpha and not _is_wh(t)]
        words = [t for t in asked if t.pos_ in (*_CONTENT, "ADV")] or asked  # 'right' parsed alone: no adjective
        shared = [t for t in doc if _same(t.lemma_.lower(), _lemma(swap.shared))]
        if words and not all(any(_same(w.lemma_.lower(), t.lemma_.lower()) or w.lower_ == t.lower_
                                 for t in doc if not shared or any(_distance(t, m) <= 2 for m in shared))
                             for w in words):
            return swap
    return None


def _lemma(word: str) -> str:
    """The lemma of a word (of a phrase's last word), parsed alone."""
    doc = parse(word)
    return doc[len(doc) - 1].lemma_.lower() if len(doc) else word.lower()


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
        if q.pos_ not in _CONTENT or _is_wh(q) or (lemma in _LIGHT and not _anchored(q, by_lemma)):
            continue
        mentions = by_lemma.get(lemma, [])
        if lemma in _LIGHT:  # 'took the title': the mentions with the same object
            mentions = [m for m in mentions if _anchored(m, {_object_lemma(q): [q]})]
        if not mentions:
            if q.pos_ in ("VERB", "ADJ", "NOUN") and lemma not in s_words:  # "decreased" asked, "increased" said
                opposite = next((t for t in s_doc if (t.pos_ == q.pos_ != "NOUN" or {t.pos_, q.pos_} == _MISPARSED)
                                 and _opposite(lemma, t.lemma_.lower(), adjective=q.pos_ == "ADJ")), None)
                if opposite is not None:
                    return Mismatch(opposite.text, OPPOSITE, q.text, opposite.text)
            continue
        if q.pos_ in ("VERB", "ADJ") and _negated(q) and not any(_negated(m) for m in mentions):
            return Mismatch(mentions[0].text, NEGATION, _with_negation(q), _with_negation(mentions[0]))
        mentions = _aligned(q, mentions, by_lemma) or mentions
        flipped = _flipped_preposition(q, mentions)
        if flipped is not None:
            return flipped
        slots: dict[str, list[Token]] = {}
        for slot, asked in _fillers(q):
            slots.setdefault(slot, []).append(asked)
        for slot, asked_all in slots.items():
            if any(_is_wh(t) for a in asked_all for t in a.subtree):
                continue  # 'which river', 'how many villages': the slot holds what is asked
            for asked in asked_all:
                # a name or number is weighed against the question's names or numbers there alone: 'the first
                # Byzantine mercenary' is not 'the first Norman mercenary' for sharing 'first'
                named = _is_name(asked) or _numeric(asked)
                group = [a for a in asked_all if _is_name(a) or _numeric(a)] if named else asked_all
                absent = not any(_same(asked.lemma_.lower(), w) for w in s_words)
                if asked.pos_ == "ADJ" and not _is_name(asked) and not absent:
                    continue  # an adjective the sentence uses elsewhere: a paraphrase more likely than a swap
                if slot.endswith(" phrase") and not absent:
                    continue
                if _near(asked, slot, mentions, s_doc):
                    continue  # 'the Gallery of Battles at the Versailles Palace', 'sell the boats to Russia'
                said = _conflict(group, slot, mentions, absent=absent)
                if said is not None and len(group) < len(asked_all) and (
                        not (said.ent_type_ in _NAME_LABELS or _numeric(said))
                        or any(_same(a.lemma_.lower(), said.lemma_.lower()) for a in asked_all)):  # "Defense Minister"
                    said = _conflict(asked_all, slot, mentions, absent=absent)
                if said is not None:  # said as the question's word it stands in for ('their' is no adjective)
                    shown = next((a for a in group if _same_kind(a, said)), asked)
                    return Mismatch(mentions[0].text, slot, _phrase(shown), _phrase(said))
    pair = None if antonym else opposed.other_direction(q_doc, s_doc) or opposed.least_added(q_doc, s_doc)
    return antonym if pair is None else Mismatch(pair[1], OPPOSITE, *pair)  # 'southward'/'northward' (qa.opposed)


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


def _aligned(q: Token, mentions: list[Token], by_lemma: dict[str, list[Token]]) -> list[Token]:
    """The mentions that fill the slot the question's word fills, of a mention of the word it fills it for: of
    'The Anglo-Norman language was absorbed into the Anglo-Saxon language', the language absorbed into, for 'What
    was absorbed into the Anglo-Norman language?'. Empty when the word fills no slot or no mention fills that one."""
    head = q.head.head if q.dep_ == "pobj" else q.head  # 'absorbed' of 'absorbed into the language'
    if head.i == q.i or head.pos_ not in _CONTENT:
        return []
    role = next((s for s, f in _fillers(head) if f.i == q.i), None)
    if role is None:
        return []
    heads = by_lemma.get(head.lemma_.lower(), [])
    return [m for m in mentions if any(f.i == m.i for h in heads for s, f in _fillers(h) if s == role)]


def _preposition_phrases(token: Token) -> Iterator[tuple[str, Token | None]]:
    """(preposition, its object or None when the preposition is left at the end of a question) for a word's
    prepositional phrases; 'out of' is one preposition, 'out'."""
    for c in token.children:
        if c.dep_ != "prep" and not (c.dep_ in ("prt", "advmod") and c.lower_ == "out"):
            continue
        obj = _pobj(c)
        if c.lower_ == "out":
            of = next((g for g in c.children if g.lower_ == "of"), None)
            if of is None:
                continue
            obj = _pobj(of)
        yield c.lower_, obj


def _flipped_preposition(q: Token, mentions: list[Token]) -> Mismatch | None:
    """The question's word with a prepositional phrase whose thing the sentence puts, on the same word, after the
    opposite preposition: 'fled from southern Italy' asked, 'fled to southern Italy' said; 'after the conquest',
    'before the Conquest'; 'What sea does the Rhine flow out of?' of 'The Rhine flows into the North Sea' (the
    question's wh-phrase is the object a preposition left at its end stands for). Not when the sentence also has the
    question's preposition on that word ('from Basel to Mainz')."""
    for p1, x in _preposition_phrases(q):
        opposed = _OPPOSED_PREPOSITIONS.get(p1)
        if not opposed:
            continue
        if x is None:  # stranded: the wh-phrase's noun ('what sea') is what the preposition is about
            x = next((t for t in q.children if t.dep_ in ("dobj", "nsubj", "nsubjpass") and _is_wh(t)
                      and t.pos_ in ("NOUN", "PROPN")), None)
            if x is None:
                continue
        elif _is_wh(x):
            continue
        for m in mentions:
            phrases = list(_preposition_phrases(m))
            if any(p == p1 for p, _ in phrases):
                continue
            for p2, y in phrases:
                if p2 in opposed and y is not None and _matches_head(x, y):
                    asked = _phrase(x)
                    asked = asked[:1].lower() + asked[1:] if _is_wh(x) else asked  # 'flow out of what lake'
                    return Mismatch(m.text, OPPOSITE, f"{q.text} {_spelt(p1)} {asked}",
                                    f"{m.text} {_spelt(p2)} {_phrase(y)}")
    return None


def _spelt(preposition: str) -> str:
    return "out of" if preposition == "out" else preposition


def _matches_head(asked: Token, said: Token) -> bool:
    """The same thing: the two phrases' head words are one word, or phrases sharing a content word."""
    return _same(asked.lemma_.lower(), said.lemma_.lower()) or (not _is_wh(asked) and _matches(asked, said))


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


def _object_lemma(token: Token) -> str:
    return next((c.lemma_.lower() for c in token.children if c.dep_ == "dobj"), "")


def _anchored(verb: Token, by_lemma: dict[str, list[Token]]) -> bool:
    """A light verb ('take', 'have') whose object is a word of the other text: 'take the title'."""
    obj = _object_lemma(verb)
    return bool(obj) and obj not in _LIGHT and bool(by_lemma.get(obj))


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
        # the verb's other argument, or the thing at one end of its motion ('The Rhine emerges from Lake
        # Constance' asked as 'Where does Lake Constance emerge from?'): the roles reversed, not a looser tie
        swapped = {f.i for s, f in _fillers(m) if s == other or (
            slot in (_SUBJECT, _OBJECT) and s in _ROLE_PHRASES)}
        for t in doc:
            if _same(lemma, t.lemma_.lower()) and not _distinct_names(asked, t) and _distance(t, m) <= reach and not (
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
        elif child.dep_ == "prep":  # 'out of southern Italy': the object of 'of'
            of = next((g for g in child.children if g.dep_ == "prep" and g.lower_ == "of"), None)
            slot, word = f"{child.lower_} phrase", _pobj(child) or (None if of is None else _pobj(of))
        if slot is None or word is None:
            continue
        if word.tag_ in ("WDT", "WP", "WP$") and token.dep_ == "relcl":  # "the people who gave": the people
            word = token.head
        for w in _with_conjuncts(word):
            yield slot, w
    if token.dep_ == "conj" and token.pos_ == "VERB" and token.head.pos_ == "VERB" and not any(
            c.dep_ in ("nsubj", "nsubjpass", "agent") for c in token.children):
        # 'The Normans settled in the east and also built castles': the first verb's subject is the second's
        for c in token.head.children:
            if c.dep_ == "nsubj" and c.tag_ not in ("WDT", "WP", "WP$"):
                for w in _with_conjuncts(c):
                    yield (_OBJECT if passive else _SUBJECT), w


def _pobj(prep: Token) -> Token | None:
    """The object of a preposition."""
    return next((c for c in prep.children if c.dep_ == "pobj"), None)


def _with_conjuncts(token: Token) -> Iterable[Token]:
    """The word and those conjoined to it ('the Elbe and the Oder')."""
    yield token
    yield from token.conjuncts
