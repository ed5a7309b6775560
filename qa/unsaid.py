"""Unsaid events: a 'what' question asks for a party to its verb's event, and the sentence never says that event.

'What exposed the former coasts of Europe?' asked of 'Meltwater drowned the former coasts of Europe', 'What flowed
through the tundra?' of 'A tundra stretched across middle Europe': the sentence gives every word the question gives
but tells another event of them, so what it names did not do or undergo what the question asks about. SQuAD 2.0
makes many unanswerable questions this way, swapping the sentence's verb and keeping the rest.

:func:`unsaid_in` finds such a sentence where the parse clearly shows it:

- the question asks 'what' or 'which' (the word itself or a noun it determines) for the subject, the object or the
  object of a preposition of its main verb, read through two misparses of the small model: a base form after 'did'
  taken for a noun ('What type of arch did the Normans invent?') and a passive's 'by' hung on its subject ('What
  were the northern Alps flooded by?');
- that verb is a content verb (not 'be', 'have', 'take', 'use', 'change', 'contain' and the like, nor one said of
  where a thing is: 'locate'), neither negated nor phrasal, with no clause asked about ('accuse X of doing what');
- the sentence has every content word the question gives outside its wh-phrase (it is about the question's things);
- no word of the sentence says the verb, in any form or in WordNet's other words for it, either way round
  (``qa.predicates.says_event``: 'founded' / 'established', 'built' / 'the construction', 'travel' / 'flew');
- the sentence does not name a thing of the asked kind ('What flood impacted the Meuse?' of 'the St. Elizabeth's
  flood': maybe the answer, its event in words WordNet does not link).

Dates are another module's (``qa.predicates``): questions asking when, where or how many are left to it. Hooked in
``qa.vetoes.ELSEWHERE``: a clause answer is refused when every sentence it would quote leaves the event unsaid
(``qa.relations.answers_nothing``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from qa import wordnet
from qa.predicates import says_event
from qa.ties import parse

if TYPE_CHECKING:
    from spacy.tokens import Token

    from qa.analysis import QuestionAnalysis

__all__ = ["asked_event", "asked_noun", "given_words", "unsaid", "unsaid_in"]

# verbs said of too many events to name one, or of where or when a thing is rather than of something it does
_LIGHT = frozenset("be have do make take get give lay hold pay become go come begin start end stop finish continue "
                   "cease happen occur remain keep use call name know say include consider locate situate find "
                   "see show seem appear stand lie mean refer involve contain consist want need let help try "
                   "allow cause lead bring put set tend believe think claim expect suggest change turn".split())
_SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj"})
_ARGUMENTS = frozenset({"nsubj", "nsubjpass", "dobj", "attr", "dative", "oprd"})
_WH = frozenset({"what", "which"})
_GENERAL = frozenset("kind type sort part one".split())  # no thing of their own


def asked_event(question: str) -> str | None:
    """The lemma of the content verb whose subject, object or prepositional object a 'what'/'which' question asks
    for ('invent' of 'What type of arch did the Normans invent?'), or None: another wh-word, a light verb
    ('What did X have?'), a negated verb, a phrasal verb ('set up': left to ``qa.predicates``), or a parse where
    the wh-phrase hangs elsewhere."""
    return _asked_event(question)


@lru_cache(maxsize=4096)
def _asked_event(question: str) -> str | None:
    doc = parse(question)
    wh = [t for t in doc if t.lower_ in _WH and t.tag_ in ("WP", "WDT")]
    if len(wh) != 1:
        return None
    verb = _verb_of(wh[0])
    if verb is None or verb.dep_ != "ROOT":
        verb = _stranded_passive(wh[0])
    if verb is None or not verb.is_alpha:
        return None
    # after 'did' the verb is in its base form, which the parser may take for a noun ('did the monks invent') or
    # lemmatise as another verb ('did the duke found' -> 'find')
    lemma = verb.lower_ if any(c.dep_ == "aux" and c.lemma_ == "do" for c in verb.children) else verb.lemma_.lower()
    if lemma in _LIGHT or any(c.dep_ in ("neg", "prt", "ccomp", "xcomp") for c in verb.children) or any(
            t.dep_ == "pcomp" for t in verb.subtree):
        return None  # 'accuse X of doing what': the event asked about is the clause's
    return lemma


def _verb_of(wh: Token) -> Token | None:
    """The verb the wh-word (or the noun it determines) is the subject, object or prepositional object of."""
    t = wh.head if wh.dep_ == "det" else wh
    if t.dep_ == "pobj" and t.head.dep_ in ("prep", "agent"):
        t = t.head
    elif t.dep_ not in _ARGUMENTS:
        return None
    head = t.head
    if head.i == t.i or not (head.pos_ == "VERB" or (head.tag_ in ("NN", "VB") and _do_support(head))):
        return None
    return head


def _stranded_passive(wh: Token) -> Token | None:
    """'What were the northern Alps flooded by?', which the parser reads as 'what were the Alps', 'flooded by'
    hanging on the Alps: the participle whose preposition is left at the end with no object."""
    root = wh.head if wh.dep_ in ("attr", "nsubj") else None
    if root is None or root.dep_ != "ROOT" or root.lemma_ != "be":
        return None
    return next((v for c in root.children if c.dep_ in ("nsubj", "attr") and c.i != wh.i for v in c.children
                 if v.dep_ == "acl" and v.tag_ == "VBN" and any(p.dep_ in ("agent", "prep") and not list(p.children)
                                                               for p in v.children)), None)


def _do_support(token: Token) -> bool:
    """'did the monks invent': a base form after 'did', whatever the parser calls it, when WordNet has the verb."""
    return any(c.dep_ == "aux" and c.lemma_ == "do" for c in token.children) and bool(
        wordnet.paraphrases(token.lower_))


def unsaid_in(question: str, sentence: str) -> str | None:
    """The question's verb when ``sentence`` gives every word the question gives but never says its event (see the
    module's docstring), else None.

    Args:
        question: the question as asked.
        sentence: a sentence that might answer it.
    """
    verb = asked_event(question)
    if verb is None:
        return None
    doc = parse(sentence)
    words = given_words(question)
    said = {w for t in doc for w in (t.lemma_.lower(), t.lower_)}
    if not words or not words <= said or asked_noun(question) in said or says_event(verb, doc):
        return None  # 'What flood impacted the Meuse?' of 'St. Elizabeth's flood': a flood named, maybe the answer
    return verb


def asked_noun(question: str) -> str:
    """The noun a 'what'/'which' word determines, lower-case lemma ('flood' of 'What flood impacted the Meuse?'),
    '' for none or a word of no kind of its own ('What type of arch': 'arch')."""
    doc = parse(question)
    wh = next((t for t in doc if t.lower_ in _WH and t.tag_ in ("WP", "WDT")), None)
    if wh is None or wh.dep_ != "det" or wh.head.pos_ not in ("NOUN", "PROPN"):
        return ""
    noun = wh.head
    if noun.lemma_.lower() in _GENERAL:  # 'What type of arch': the 'of' phrase's noun
        noun = next((g for c in noun.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj"), noun)
    return noun.lemma_.lower() if noun.lemma_.lower() not in _GENERAL else ""


def given_words(question: str) -> frozenset[str]:
    """The content words a 'what' question gives outside its wh-phrase and its main verb, lower-case lemmas
    ('coast', 'europe', 'former' of 'What exposed the former coasts of Europe?')."""
    doc = parse(question)
    wh = next((t for t in doc if t.lower_ in _WH and t.tag_ in ("WP", "WDT")), None)
    if wh is None:
        return frozenset()
    phrase = wh.head if wh.dep_ == "det" else wh
    inside = {t.i for t in phrase.subtree} if phrase.dep_ != "ROOT" else {wh.i}
    return frozenset(t.lemma_.lower() for t in doc if t.i not in inside and t.dep_ != "ROOT"
                     and t.pos_ in ("NOUN", "PROPN", "ADJ", "NUM") and t.lemma_.lower() not in _GENERAL)


def unsaid(analysis: QuestionAnalysis, sentence: str) -> bool:
    """:data:`qa.vetoes.ELSEWHERE`'s form of :func:`unsaid_in`: True when the sentence tells of the question's
    things another event than the one asked about. Only for a question answered by a clause or a description: a
    name, date or number question is judged by its candidate, which may sit in the next sentence ('What
    anniversary does the exhibition at the castle celebrate?' of 'The exhibition will run in the castle until
    May. The event celebrates the 300th anniversary of ...')."""
    return not analysis.expects_entity and unsaid_in(analysis.question, sentence) is not None
