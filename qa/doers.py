"""Doers: the question names who did something, and the sentence names someone else as doing it.

"When did King Harold conquer England?" asked of "In 1066, Duke William conquered England, killing King Harold":
the sentence's conquest is William's; Harold is in the sentence, but not as the one who conquered, so the sentence
does not date Harold's conquest. ``qa.relations.mismatch`` compares the slots of a shared word, but passes over a
question word the sentence ties to the shared word some other way (within two parse edges), which this case is;
here the comparison is narrower and so can be stricter:

- the question asks about something other than the doer (not 'Who conquered England?'), and names the doer of its
  verb: a subject with a proper name in it ('King Harold', 'the Normans');
- every mention of that verb in the sentence names its doer (an active subject, a passive's 'by' phrase, the
  subject of the verb it is conjoined to) with a proper name of its own, sharing no name word with the question's
  doer (nor its place or people: 'Normandy'/'Normans'), and not joined to it ('Harold and his brother').

Then the question's doer did not do it in this sentence: a swap of slot 'subject'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.word_match import NAME_TAGS, is_wh, phrase, same

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["other_doer"]

_SUBJECTS = frozenset({"nsubj"})
_WHO = frozenset({"who", "whom", "whose"})


def _names(token: Token) -> list[Token]:
    """The proper-name words of a noun phrase ('A Norman named Oursel': Norman, Oursel), its relative clauses left
    out ('Alexander, whose brother David ...')."""
    out = []
    stack = [token]
    while stack:
        t = stack.pop()
        if t.tag_ in NAME_TAGS:
            out.append(t)
        stack += [c for c in t.children if c.dep_ != "relcl"]
    return out


def _doers(verb: Token) -> list[Token]:
    """The words naming who does a verb: its active subject, its passive's 'by' phrase, or the subject of the verb
    it is conjoined to when it has none of its own."""
    passive = any(c.dep_ == "auxpass" for c in verb.children)
    found = [c for c in verb.children if c.dep_ in _SUBJECTS and not passive]
    found += [p for a in verb.children if a.dep_ == "agent" for p in a.children if p.dep_ == "pobj"]
    if not found and verb.dep_ == "conj" and verb.head.pos_ == "VERB" and not passive:
        found = [c for c in verb.head.children if c.dep_ in _SUBJECTS]
    return [w for f in found for w in (f, *f.conjuncts)]


def _loosely_tied(asked: list[Token], verb: Token) -> bool:
    """Whether the sentence has the question's doer in the verb's own clause other than as what is done to ('the
    Danes burned the abbey and the Saxons rebuilt it' parsed with 'the Saxons' joined to 'the abbey'): the parse,
    more likely than the fact, differs. As the verb's object ('Who did the Normans encourage?' of 'the Normans were
    encouraged by the Lombards': the roles reversed) or in another clause ('killing King Harold') it is not."""
    own = {verb.i, verb.head.i} if verb.dep_ == "conj" else {verb.i}  # a conjoined verb shares the first's doer
    for t in verb.doc:
        if not _same_name(asked, [t]):
            continue
        clause = next((a for a in t.ancestors if a.pos_ in ("VERB", "AUX")), None)
        if clause is not None and clause.i in own and t.dep_ not in ("dobj", "nsubjpass"):
            return True
    return False


def _same_name(a: list[Token], b: list[Token]) -> bool:
    return any(same(x.lemma_.lower(), y.lemma_.lower()) or same(x.lower_, y.lower_) for x in a for y in b)


def other_doer(question: Doc, sentence: Doc) -> tuple[str, str, str] | None:
    """(the verb as the sentence says it, the question's doer, the sentence's) when the question names the doer of
    a verb that every mention of it in the sentence gives to another named doer; else None."""
    for verb in question:
        if verb.pos_ != "VERB" or any(c.dep_ == "auxpass" for c in verb.children):
            continue
        subjects = [c for c in verb.children if c.dep_ in _SUBJECTS]
        if len(subjects) != 1 or any(is_wh(t) or t.lower_ in _WHO for t in subjects[0].subtree):
            continue  # 'Who conquered England?', 'How many allies signed it?' ask for the doer
        asked = _names(subjects[0])
        if not asked:
            continue
        mentions = [t for t in sentence if t.pos_ == "VERB" and t.lemma_.lower() == verb.lemma_.lower()]
        if not mentions:
            continue
        said: list[Token] = []
        for m in mentions:
            doers = _doers(m)
            names = [n for d in doers for n in _names(d)]
            if not names or _same_name(asked, names) or _loosely_tied(asked, m):
                break
            said.append(doers[0])
        else:
            return mentions[0].text, phrase(subjects[0]), phrase(said[0])
    return None
