"""The opposite phase, order or direction: a sentence that says the other end of what the question asks.

Three kinds, each a rule a linguist would state in one sentence:

- **Phase and direction of change** (:func:`other_phase`): the question puts a word of one class on a thing ('When
  did the Holocene *end*?', 'How high did the sea level *rise*?', 'When did the rivers *diverge*?') and the sentence
  puts only a word of the opposite class on the same thing ('At the *begin* of the Holocene', 'sea level
  *dropped*', 'the rivers *merged*'), said as a verb or a noun. Classes: begin/end, rise/fall, join/part,
  fill/empty ('flooded'/'drained'). Not when the sentence has a word of the asked class anywhere, in any form, nor
  (for a phase) a bound of it ('until 1918' for an end, 'from 1914' or 'since 1914' for a beginning, unless that
  bound is on a verb with another subject). A phase verb with a verb after it names that verb's event, not its
  subject's: 'the empire began to decline' says nothing of the empire's beginning or end.
- **Order in time or space** (:func:`other_order`): the question's 'after X' where the sentence has X only after a
  word of the other side ('until X', 'before X', 'from … to X'; 'precedes X': its subject comes before X), or
  'before X' where it has 'since X', 'after X', 'from X (onwards)', 'follows X'; 'after A and B' where the sentence
  has 'between A and B'; 'away from X' where it has 'near X'. A conjunction's clause stands for its subject ('after
  the war ended': the war). Not when the sentence says the asked side of X, nor has a word or adverb of the asked
  side anywhere ('then', 'later', 'earlier', 'after that').
- **Comparison and degree** (:func:`other_degree`): a comparative the sentence has reversed on the same noun ('a
  lighter color' asked, 'a darker color' said; 'less' for 'more'), WordNet's antonym or 'more'/'less', even when
  the asked word is said of another noun ('the lighter load'); and an adverb of degree reversed on the same word
  ('sparsely populated' asked, 'heavily populated' said).

:func:`opposite` runs the three for ``qa.vetoes.CHECKS``: the swap is of slot 'opposite', so a clause answer whose
first sentence says the opposite is refused (``qa.relations.opens_with_swap``) and an entity answer skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from qa import wordnet
from qa.ties import parse
from qa.word_match import is_wh as _is_wh

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["opposite", "other_degree", "other_order", "other_phase", "phase_class"]

OPPOSITE = "opposite"  # qa.relations.OPPOSITE (not imported: relations imports vetoes, which imports this)

# classes of words by the phase or direction they name, verbs and the nouns that say them
_CLASSES: dict[str, frozenset[str]] = {
    "start": frozenset("begin beginning start commence commencement onset outset inception".split()),
    "end": frozenset("end ending finish stop cease cessation conclude conclusion terminate termination halt".split()),
    "up": frozenset("rise increase grow growth climb expand expansion mount swell soar raise heighten".split()),
    "down": frozenset("fall drop decline decrease shrink sink diminish dwindle lessen contract contraction plummet "
                      "plunge reduce reduction lower recede subside".split()),
    "join": frozenset("merge merger join converge convergence unite combine fuse confluence".split()),
    "part": frozenset("diverge divergence split separate separation divide fork bifurcate".split()),
    "fill": frozenset("flood fill inundate inundation submerge".split()),
    "empty": frozenset("drain drainage empty".split()),
}
_OTHER = {"start": "end", "end": "start", "up": "down", "down": "up", "join": "part", "part": "join", "fill": "empty",
          "empty": "fill"}
_PHASES = frozenset({"start", "end"})
# words that give a phase's bound without naming it: 'lasted until 1918' says when it ended
_BOUNDS = {"end": frozenset({"until", "till", "through", "to"}), "start": frozenset({"from", "since"})}
_THING_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "compound", "poss", "nmod"})
_CONTENT = frozenset({"NOUN", "PROPN", "VERB"})

# order: prepositions (and verbs, by their object) that put the thing asked about after or before X
_AFTER = frozenset({"after", "since", "following"})
_BEFORE = frozenset({"before", "until", "till", "prior"})
_AFTER_VERBS = frozenset({"follow", "succeed", "postdate"})  # 'A follows X': A after X
_BEFORE_VERBS = frozenset({"precede", "predate", "antedate"})
_SIDE_ADVERBS = {"after": frozenset("then later afterwards afterward thereafter subsequently onwards onward".split()),
                 "before": frozenset("earlier previously formerly beforehand".split())}
_SIDE_WORDS = {"after": _AFTER, "before": _BEFORE}
_NEAR = frozenset({"near", "beside", "by", "next", "close", "nearby"})
_FAR = frozenset({"away"})  # not "far": "How far is Bonn from Cologne?" asks a distance
# adverbs of degree that oppose in pairs WordNet does not list ('heavily'/'sparsely' populated)
_DENSE = frozenset({"heavily", "densely", "thickly"})
_SPARSE = frozenset({"sparsely", "thinly", "lightly"})


def phase_class(token: Token) -> str | None:
    """The class of phase or change a verb or noun names ('ended' -> 'end', 'beginning' -> 'start', 'dropped' ->
    'down'), or None. 'lower' and 'close' count as verbs only ('the Lower Rhine' names no change)."""
    if token.pos_ not in ("VERB", "NOUN"):
        return None
    lemma = token.lemma_.lower()
    if token.pos_ == "NOUN" and lemma == "lower":
        return None
    stem = token.lower_.removesuffix("ing")  # 'the sea level dropping', parsed a noun
    stems = {lemma, token.lower_, stem, stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem}
    return next((c for c, words in _CLASSES.items() if stems & words), None)


def opposite(question: str, sentence: str) -> tuple[str, str, str, str] | None:
    """``qa.vetoes.CHECKS``: (the sentence's word, 'opposite', the question's, the sentence's) when the sentence
    says the other phase, order or degree of what the question asks (:func:`other_phase`, :func:`other_order`,
    :func:`other_degree`); else None."""
    q_doc, s_doc = parse(question), parse(sentence)
    pair = other_phase(q_doc, s_doc) or other_order(q_doc, s_doc) or other_degree(q_doc, s_doc)
    return None if pair is None else (pair[1], OPPOSITE, pair[0], pair[1])


def _content(token: Token) -> bool:
    return token.pos_ in _CONTENT and not _is_wh(token) and token.tag_ not in ("WP", "WDT", "PRP", "PRP$")


def _with_parts(token: Token) -> Iterable[Token]:
    """A noun, its compounds, its 'of' phrase's noun and the words conjoined to it, and theirs ('the formation of
    the Holocene delta': formation, delta, Holocene)."""
    yield token
    for c in token.children:
        if c.dep_ in ("compound", "conj"):
            yield from _with_parts(c)
        elif c.dep_ == "prep" and c.lower_ == "of":
            yield from (p for g in c.children if g.dep_ == "pobj" for p in _with_parts(g))


def _things(word: Token) -> tuple[set[str], bool]:
    """(the lemmas of what a phase or change word is said of, whether it is an event of a verb after it): its
    subject, object, compounds, possessor and 'of' phrase; the verb after it alone when it has one ('stop forming':
    'form'; 'began to decline': 'decline', not its subject); the noun a relative clause is on."""
    event = next((c for c in word.children if c.dep_ in ("xcomp", "ccomp") and c.pos_ == "VERB"), None)
    found: list[Token] = []
    if event is not None:
        found.append(event)
        found += [g for c in event.children if c.dep_ in ("dobj", "nsubjpass") for g in _with_parts(c)]
    else:
        for c in word.children:
            if c.dep_ in _THING_DEPS or (c.dep_ == "prep" and c.lower_ == "of"):
                found += [g for h in ([c] if c.dep_ != "prep" else [g for g in c.children if g.dep_ == "pobj"])
                          for g in _with_parts(h)]
        if word.dep_ in ("xcomp", "relcl", "acl") and word.head is not word:  # 'continued to rise', 'which ended'
            head = word.head
            found += [g for c in head.children if c.dep_ in ("nsubj", "nsubjpass") for g in _with_parts(c)] \
                if head.pos_ in ("VERB", "AUX") else list(_with_parts(head))
    return {t.lemma_.lower() for t in found if _content(t) and t.i != word.i}, event is not None


def _same_thing(asked: set[str], said: set[str]) -> bool:
    """A word of one thing is a word of the other, or one names the other's verb as a noun ('forming' and
    'the formation')."""
    if asked & said:
        return True
    return any(s in wordnet.paraphrases(a) or a in wordnet.paraphrases(s) for a in asked for s in said
               if len(a) > 3 and len(s) > 3)


def other_phase(question: Doc, sentence: Doc) -> tuple[str, str] | None:
    """(the question's phase or change word, the sentence's) when the sentence puts the opposite one on the same
    thing and says the asked one nowhere (nor, for a phase, a bound of it on that thing); else None."""
    for q in question:
        asked = phase_class(q)
        if asked is None or _negated(q):
            continue
        if any(phase_class(t) == asked for t in sentence):
            continue  # the asked phase is said somewhere: the sentence may well answer
        q_things, _ = _things(q)
        if not q_things:
            continue
        for t in sentence:
            if phase_class(t) != _OTHER[asked] or _negated(t):
                continue
            s_things, _ = _things(t)
            if s_things and _same_thing(q_things, s_things) and not _bound(asked, sentence, q_things, t):
                return q.text, t.text
    return None


def _bound(asked: str, sentence: Doc, things: set[str], said: Token) -> bool:
    """Whether the sentence gives the asked phase's bound ('lasted until 1918' for an end, 'since 1914' for a
    beginning; 'to' only after 'from'), on a verb that is not about another subject ('The glacial ran from 74,000'
    gives the glacial's beginning, not the Pleistocene's)."""
    for t in sentence:
        if t.dep_ != "prep" or t.lower_ not in _BOUNDS.get(asked, ()) or t.head.i == said.i:
            continue
        if t.lower_ == "to" and t.head.lower_ != "from" and not any(c.lower_ == "from" for c in t.head.children):
            continue  # 'to' bounds only after 'from': 'ran from 12 May to 30 June', 'from 1914 to 1918'
        head = t.head.head if t.head.lower_ == "from" else t.head
        subjects = [c for c in head.children if c.dep_ in ("nsubj", "nsubjpass") and _content(c)]
        if not subjects or any(s.lemma_.lower() in things for c in subjects for s in _with_parts(c)):
            return True
    return False


def _negated(token: Token) -> bool:
    return any(c.dep_ == "neg" for c in token.children)


def _key(token: Token, *, shown: bool = False) -> str:
    """A phrase's words lower case (as written when ``shown``), articles and the words conjoined to it left out
    ('the early 1980s' -> 'early 1980s'; 'Bingen' of 'Bingen and Bonn')."""
    cut = {t.i for c in token.children if c.dep_ in ("conj", "cc") for t in c.subtree}
    return " ".join(t.text if shown else t.lower_ for t in token.subtree
                    if t.i not in cut and t.pos_ not in ("DET", "PUNCT"))


def _objects(prep: Token) -> list[Token]:
    """A preposition's objects, with those conjoined ('after Bingen and Bonn': both); 'prior to X' gives X; a
    conjunction's clause gives its subject ('after the war ended': the war)."""
    out = [c for c in prep.children if c.dep_ == "pobj"]
    if prep.dep_ == "mark":
        out += [c for c in prep.head.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ in ("NOUN", "PROPN")]
    for c in prep.children:
        if c.dep_ == "prep" and c.lower_ in ("to", "from") and prep.lower_ in ("prior", "away", "next", "close"):
            out += [g for g in c.children if g.dep_ == "pobj"]
    return [w for o in out for w in (o, *o.conjuncts)]


def _sides(doc: Doc) -> list[tuple[str, Token, Token]]:
    """(side, the word that says it, X) for each thing a word puts the asked-about thing after, before, between,
    near or far from: 'until X' ('before'), 'from X onwards' ('after'), 'from … to X' ('before'), 'precedes X'
    ('before'), 'between X and Y', 'near X', 'away from X'."""
    out: list[tuple[str, Token, Token]] = []
    for t in doc:
        word = t.lower_
        side = ("after" if word in _AFTER else "before" if word in _BEFORE else "between" if word == "between"
                else "near" if word in _NEAR and t.dep_ == "prep" or word in ("next", "close") and t.pos_ == "ADJ"
                else "far" if word in _FAR else None)
        if word == "from" and t.pos_ == "ADP":
            side = "after"  # 'from X (onwards)': X and after
            out += [("before", c, g) for c in t.children if c.dep_ == "prep" and c.lower_ == "to"
                    for g in _objects(c)]  # 'from 1421 to 1904': up to 1904
        if side is not None:
            out += [(side, t, x) for x in _objects(t)]
        if t.pos_ == "VERB" and t.lemma_.lower() in _AFTER_VERBS | _BEFORE_VERBS:
            verb_side = "after" if t.lemma_.lower() in _AFTER_VERBS else "before"
            for c in t.children:
                if c.dep_ == "dobj":
                    obj = next((g for p in c.children if p.dep_ == "prep" and p.lower_ == "of"
                                for g in p.children if g.dep_ == "pobj"), c) if c.lower_ in ("that", "those") else c
                    out.append((verb_side, t, obj))
    return out


def _same_place(a: Token, b: Token) -> bool:
    return _key(a) == _key(b) or (a.lemma_.lower() == b.lemma_.lower() and a.pos_ != "NUM" and b.pos_ != "NUM")


def other_order(question: Doc, sentence: Doc) -> tuple[str, str] | None:
    """('after the early 1980s', 'Until the early 1980s') when the question asks what is after (before, away from)
    X and the sentence says only the other side of X (before, after, between, near); else None."""
    said = _sides(sentence)
    opposite_side = {"after": ("before", "between"), "before": ("after", "between"), "far": ("near",),
                     "near": ("far",)}
    for side, word, x in _sides(question):
        if side not in opposite_side or _is_wh(x) or word.head.lemma_.lower() in ("name", "look", "take", "call"):
            continue
        if word.pos_ == "VERB":
            continue  # 'What followed X?' is the other end of 'A preceded X' (qa.relations knows the antonyms)
        if side in _SIDE_ADVERBS and any(t.lower_ in _SIDE_ADVERBS[side] | _SIDE_WORDS[side] for t in sentence):
            continue  # 'and later timber', 'until 1935 and after that'
        same = [(s, w, y) for s, w, y in said if _same_place(x, y)]
        if not same or any(s == side for s, _, _ in same):
            continue
        for s, w, y in same:
            if s not in opposite_side[side]:
                continue
            if s == "between" and not (x.conjuncts or x.dep_ == "conj"):
                continue  # 'after 1990' of 'between 1990 and 1995': partly after; 'after A and B' is not between
            return f"{word.text} {_key(x, shown=True)}", f"{w.text} {_key(y, shown=True)}"
    return None


def other_degree(question: Doc, sentence: Doc) -> tuple[str, str] | None:
    """('lighter color', 'darker color') when the sentence says of the question's noun the opposite comparative
    and never the asked one; ('sparsely populated', 'heavily populated') for an adverb of degree; else None."""
    for q in question:
        if q.dep_ == "amod" and (q.tag_ in ("JJR", "RBR") or _more(q)) and q.head.pos_ in ("NOUN", "PROPN"):
            noun = q.head.lemma_.lower()
            mods = [t for t in sentence if t.dep_ == "amod" and t.head.lemma_.lower() == noun]
            if any(t.lemma_.lower() == q.lemma_.lower() for t in mods):
                continue
            for t in mods:
                if (t.tag_ in ("JJR", "RBR") or _more(t)) and (wordnet.opposed(q.lemma_, t.lemma_, "a") or (
                        t.lemma_.lower() == q.lemma_.lower() and _more(t) != _more(q))):
                    return f"{q.text} {q.head.text}", f"{t.text} {t.head.text}"
        degree = _DENSE if q.lower_ in _DENSE else _SPARSE if q.lower_ in _SPARSE else None
        if degree is not None and q.dep_ == "advmod":
            other = _SPARSE if degree is _DENSE else _DENSE
            heads = [t for t in sentence if t.lemma_.lower() == q.head.lemma_.lower()]
            on = [c for h in heads for c in h.children if c.dep_ == "advmod"]
            if heads and not any(c.lower_ in degree for c in on):
                found = next((c for c in on if c.lower_ in other), None)
                if found is not None:
                    return f"{q.text} {q.head.text}", f"{found.text} {found.head.text}"
    return None


def _more(token: Token) -> str:
    """'more' or 'less' before an adjective ('more important'), else ''."""
    return next((c.lower_ for c in token.children if c.dep_ == "advmod" and c.lower_ in ("more", "less")), "")
