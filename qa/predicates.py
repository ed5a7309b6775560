"""Predicates: is the question's date, place or number said of the question's event, or of another one?

SQuAD 2.0's unanswerable questions are often a sentence's question with its event swapped and its condition kept:
'What year did Richard's fleet avoid a storm?' asked of 'In April 1191 Richard left Messina with a large fleet',
'Who did the Normans serve under in the 10th century?' of 'the Normans ... in the 10th and 11th centuries gave their
name to Normandy'. The sentence has the date (as the answer, or as the question's own condition), but on another
verb, and never says the question's event at all. An answerable question says the event the way the sentence does or
in other words ('founded' / 'established', 'died' / 'his death', 'built' / 'the construction'): WordNet's synsets,
hypernyms one level up and derived nouns (``qa.wordnet.paraphrases``) tell those apart.

:func:`condition_elsewhere` finds such a sentence, only where the parse clearly shows it: the question's main verb is
a content verb (not 'be', 'have', 'take' and the like, nor 'begin' or 'end', said of many events), no word of the
sentence is that verb, a form of it or a paraphrase of it (in either direction), and the date, place or number is
a dependent of a content verb of the sentence, reached through nouns and prepositions only (a date beside a name,
'Augustus (63 BC - AD 14)', is on no verb and is left alone). That verb's subject must not be the question's, or
one of the two must be a birth or a death (a date of one dates no other event of the person's: 'When did Odo die?'
of 'Odo founded the priory in 1080'; 'the death of Augustus in AD 14' for 'When did Augustus found Rome?').

The same event of another subject does not count as said: a mention of the question's verb whose subject is named
and shares no word with the question's doer ('The mouths of the Rhine fell' for 'When did the Roman empire fall?';
'Harold returned' for "Harold's son"). Where the sentence does say the question's event, the date asked for still
answers nothing when it is in a later 'and'/'but' clause of another subject ('it formed part of the border ..., but
in the 10th century it was fully within the Holy Roman Empire'); a date on 'be' is then its subject's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import lexical, wordnet
from qa.analysis import QuestionAnalysis, TextSpan
from qa.answer_types import DATE, NUMBER, PLACE
from qa.constraints import same_word
from qa.ties import parse

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

__all__ = ["Elsewhere", "answer_elsewhere", "condition_elsewhere", "said_elsewhere", "says_event"]

# verbs said of too many events to name one: the question's verb must not be one, and a condition on one of these
# in the sentence is on no event in particular
_LIGHT = frozenset("be have do make take get give lay hold pay become go come begin start end stop finish continue "
                   "cease happen occur remain keep use call name know say include consider".split())
# verbs of the sentence that put a condition on nothing in particular ('was a centre in the 11th century')
_LIGHT_SAID = frozenset("be have do become remain seem".split())
# a word inside a date or name phrase, and the nouns that only say which part of a time a date is
_INSIDE = frozenset({"amod", "compound", "nummod", "det", "quantmod", "nmod", "poss"})
_PARTS = frozenset("half quarter part end beginning start middle course turn".split())
_SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
_CONDITION_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "GPE", "LOC", "FAC"})
# words saying a birth or a death (lemmas; 'born' as written): a date of one dates no other event of the person's
_BORN = frozenset("born birth births birthday".split())
_DEATH = frozenset("die death dead decease perish kill killing murder assassinate assassination execute execution "
                   "slay behead hang drown martyr martyrdom suicide".split())
# a person said by a possessor's kin or succession ('Edward's son'): not the possessor
_KIN = frozenset("son daughter child father mother parent brother sister wife husband widow heir successor "
                 "predecessor nephew niece grandson granddaughter uncle aunt cousin".split())
_PHASE = frozenset("begin start continue cease stop finish".split())
_PERSONAL = frozenset("he she they".split())
_ORDINAL_WORDS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
                           "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
                           "twenty-first".split())


@dataclass(frozen=True)
class Elsewhere:
    """The question's verb, the sentence's other verb its condition is on, and the condition."""

    asked: str  # the question's verb (its lemma)
    said: str  # the sentence's verb the condition is a dependent of (as written)
    condition: str  # the date, place or number (as the sentence writes it)

    def describe(self) -> str:
        """"the sentence says 1939 of 'introduced', not of 'shorten'"."""
        return f"the sentence says {self.condition} of '{self.said}', not of '{self.asked}'"


def condition_elsewhere(question: str, sentence: str, answer: tuple[int, int] | None = None) -> Elsewhere | None:
    """The other event a sentence puts the question's condition on, or None.

    Args:
        question: the question as asked.
        sentence: a sentence that might answer it.
        answer: the character offsets (in ``sentence``) of the candidate answer to a 'when', 'where' or 'how many'
            question, a condition the question asks for; None to check only the conditions the question gives.

    Returns:
        An :class:`Elsewhere` when the question's main verb is a content verb the sentence never says, in any
        form or other words (:func:`says_event`), and the candidate answer, or a date, place or number the
        question gives, is in the sentence on a content verb; else None.
    """
    return _elsewhere(question, sentence, answer)


@lru_cache(maxsize=8192)
def _elsewhere(question: str, sentence: str, answer: tuple[int, int] | None,
               labels: frozenset[str] = frozenset()) -> Elsewhere | None:
    verb = _event_verb(parse(question))
    if verb is None:
        return None
    doc = parse(sentence)
    main = _main_verb(parse(question))
    asked = _asked_words(main)
    nouns = {t.lemma_.lower() for t in parse(question) if t.pos_ in ("NOUN", "PROPN")}  # 'refuge' of 'return
    passive = main is not None and any(c.dep_ == "auxpass" for c in main.children)  # its doer: the 'by' phrase
    mentions = [m for m in _mentions(verb, doc, asked | _words(_arguments(main)) if passive else asked)  # from his
                if m.pos_ == "VERB" or m.lemma_.lower() not in nouns]  # refuge' is a thing the question names
    if mentions and answer is None and not labels:
        return None
    anchors: list[Token] = []
    if answer is not None:
        span = doc.char_span(answer[0], answer[1], alignment_mode="expand")
        if span is not None:
            anchors.append(span.root)
    given = len(anchors)  # the answer asked for, which a state of another subject does not give either
    anchors += _conditions_in(parse(question), doc)
    ents = [e.root for e in doc.ents if e.label_ in labels]  # a clause answer of a 'when' question: the dates
    anchors += ents  # of the sentence it would quote
    life, head = _life(main), _head_noun(main)

    def other(anchor: Token, state: bool) -> Token | None:
        on = _verb_of(anchor, state=state)
        if on is None or (mentions and not _apart(on, mentions)):
            return None
        doer = _subject_words(on, own=True)  # the same doer: maybe the same event told another way ('established'
        # / 'was signed'), unless one of the two is a birth or a death, which dates no other event of the person's
        return on if not (head in doer if head else asked & doer) or _life(on) != life else None

    if mentions:  # the question's event is said: only the date asked for, or every date of the sentence a clause
        dates = anchors[:given] if answer is not None else anchors[len(anchors) - len(ents):]  # answer would quote
        ons = [other(d, True) for d in dates]
        first = ons[0] if ons and all(ons) else None
        return None if first is None else Elsewhere(verb, first.text, _phrase(dates[0]))
    for i, anchor in enumerate(anchors):
        if (on := other(anchor, i < given)) is not None:
            return Elsewhere(verb, on.text, _phrase(anchor))
    return None


def _head_noun(verb: Token | None) -> str | None:
    """The lemma of the question's doer when it is a common noun with a name for a modifier ('the Holland empire',
    'the Roman empire'): the doer is the same only where that noun is ('the county of Holland' is no empire)."""
    subjects = _subjects(verb) if verb is not None else []
    if len(subjects) != 1 or subjects[0].pos_ != "NOUN" or subjects[0].lemma_.lower() in _KIN:
        return None
    named = any(c.dep_ in ("compound", "amod") and (c.pos_ == "PROPN" or c.text[:1].isupper())
                for c in subjects[0].children)
    return subjects[0].lemma_.lower() if named else None


def _apart(on: Token, mentions: list[Token]) -> bool:
    """Whether a date is in a later clause of its own, joined by 'and' or 'but' with a subject of its own, and every
    word saying the question's event before it ('it formed part of the border in the 9th, but in the 10th century it
    was within ...'). A date before the first clause's verb ('In 1120 the monks returned and the abbey burned')
    may be said of both."""
    if on.dep_ != "conj" or not any(c.dep_ in _SUBJECTS for c in on.children):
        return False
    start = min(_clause(on))
    return all(m.i < start for m in mentions)


def _life(word: Token | None) -> str | None:
    """'birth' or 'death' when a word says one ('was born', 'died', 'his death', 'was killed'), else None."""
    if word is None:
        return None
    if word.lower_ in _BORN or (word.lemma_.lower() == "bear" and any(c.dep_ == "auxpass" for c in word.children)):
        return "birth"
    return "death" if word.lemma_.lower() in _DEATH else None


def _asked_words(verb: Token | None) -> set[str]:
    """The words of the question's doer (:func:`_subject_words`), with the places its adjectives name ('Roman':
    'rome'); of a doer said as a person of a possessor ('Edward's son', 'his heir'), the person alone: Edward is
    not his son."""
    words = _subject_words(verb)
    if verb is None:
        return words
    subject = _subject_tokens(verb)
    if any(t.tag_ in ("WDT", "WP") and t.dep_ == "det" for t in subject):  # 'which town': asked, not given
        return set()
    kin = [t for t in subject if t.lemma_.lower() in _KIN and any(c.dep_ == "poss" for c in t.children)]
    if kin:
        return {kin[0].lemma_.lower()}
    return words | {p for t in subject if t.pos_ == "ADJ" and t.text[:1].isupper() for p in wordnet.places(t.text)}


def _subjects(verb: Token) -> list[Token]:
    """A verb's subjects: its own, or the noun a participle describes ('the abbey founded'), or, for a verb
    conjoined to another ('was sold ... and fell to France'), the first verb's."""
    own = [c for c in verb.children if c.dep_ in _SUBJECTS]
    if not own and verb.dep_ == "acl" and verb.head.pos_ in ("NOUN", "PROPN"):
        return [verb.head]
    if not own and verb.dep_ in ("conj", "xcomp") and verb.head.pos_ in ("VERB", "AUX"):
        return [c for c in verb.head.children if c.dep_ in _SUBJECTS]
    return own


def _subject_words(verb: Token | None, own: bool = False) -> set[str]:
    """The nouns and names of a verb's subject (an active's or a passive's), lower-case lemmas; wh-words left out;
    ``own``: only a subject of the verb's own, none it shares (:func:`_subjects`)."""
    if verb is None:
        return set()
    if own:
        return _words([t for c in verb.children if c.dep_ in _SUBJECTS for t in c.subtree])
    return _words(_subject_tokens(verb))


def _words(tokens: list[Token]) -> set[str]:
    return {t.lemma_.lower() for t in tokens if t.pos_ in ("NOUN", "PROPN") and t.tag_ not in ("WP", "WDT")}


def _arguments(verb: Token | None) -> list[Token]:
    """The words of a verb's 'by' phrase and objects ('invaded by William', 'conquered England')."""
    if verb is None:
        return []
    heads = [p for a in verb.children if a.dep_ == "agent" for p in a.children if p.dep_ == "pobj"]
    return [t for h in heads + [c for c in verb.children if c.dep_ in ("dobj", "obj")] for t in h.subtree]


def _subject_tokens(verb: Token) -> list[Token]:
    """The words of a verb's subjects (:func:`_subjects`), without the verb's own clause ('the abbey founded')."""
    own = {t.i for t in verb.subtree}
    return [t for c in _subjects(verb) for t in c.subtree if c.head.i == verb.i or t.i not in own]


def _other_subject(token: Token, asked: set[str]) -> bool:
    """Whether a verb of the sentence is said of a named subject that shares no word with the question's doer
    ('the mouths of the Rhine fell' for 'When did the Roman empire fall?')."""
    if token.pos_ != "VERB" or not asked:
        return False
    subject = _subject_tokens(token)
    if len(subject) == 1 and subject[0].lower_ in _PERSONAL:  # 'When Edward returned ..., he brought': the name
        named = [t for t in token.doc[:subject[0].i] if t.dep_ in _SUBJECTS and t.pos_ == "PROPN"]  # before it
        subject = list(named[-1].subtree) if named else subject
    if not any(t.pos_ == "PROPN" for t in subject):
        return False
    return not asked & _words(subject + _arguments(token))


def says_event(verb: str, doc: Doc, asked: set[str] | None = None) -> bool:
    """Whether a parsed sentence says a verb's event: a word of it is the verb in some form ('shortened',
    'shortening', 're-occupied' for 'occupy'), a WordNet paraphrase of it ('established' for 'found', 'death'
    for 'die'), or a verb of which the question's verb is a paraphrase ('flew' for 'travel'). Given the words of
    the question's doer (``asked``), a verb said of another named subject does not count (:func:`_other_subject`)."""
    return bool(_mentions(verb, doc, asked))


def _mentions(verb: str, doc: Doc, asked: set[str] | None = None) -> list[Token]:
    """The words of a sentence saying a verb's event (:func:`says_event`)."""
    forms = {verb} | wordnet.paraphrases(verb)
    stems = {lexical.stem(f) for f in forms}
    out = []
    for t in doc:
        if (not t.is_alpha and "-" not in t.text) or (asked and _other_subject(t, asked)):
            continue
        lemma = t.lemma_.lower()
        words = {lemma, t.lower_, lemma.removeprefix("re-"), lemma.removeprefix("re")} - _LIGHT
        if any(w in forms or (t.pos_ != "PROPN" and any(same_word(lexical.stem(w), s) for s in stems))
               for w in words) or (t.pos_ == "VERB" and lemma not in _LIGHT and verb in wordnet.paraphrases(lemma)):
            out.append(t)
    return out


def _clause(verb: Token) -> set[int]:
    """The token indices of a verb's own clause: its subtree without a conjoined clause with a subject of its own
    ('it formed part of the border, but in the 10th century it was within the empire')."""
    out = {t.i for t in verb.subtree}
    for c in verb.children:
        if c.dep_ == "conj" and any(g.dep_ in _SUBJECTS for g in c.children):
            out -= {t.i for t in c.subtree}
    return out


def _main_verb(doc: Doc) -> Token | None:
    """The root of the question's asking sentence ('lengthened' of 'In what year was the wall lengthened?', which
    the parser makes a clause of 'was')."""
    sents = list(doc.sents)
    if not sents:
        return None
    root = sents[-1].root
    if root.pos_ == "AUX":  # 'What year was X founded?': a clause, or a participle of the noun ('X founded')
        root = next((c for c in root.children if c.dep_ in ("ccomp", "xcomp") and c.tag_ in ("VBN", "VBD")
                     and (c.tag_ == "VBN" or any(s.dep_ in _SUBJECTS for s in c.children))), root)
    if root.pos_ == "AUX":
        root = next((a for c in root.children if c.dep_ in ("attr", "nsubj") and not _wh(c)
                     for a in c.children if a.dep_ == "acl" and a.tag_ == "VBN"), root)
    if root.lemma_.lower() in _PHASE:  # 'When did X begin to occupy the valley?': the occupation's date
        root = next((c for c in root.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), root)
    return root


def _wh(token: Token) -> bool:
    return any(t.tag_ in ("WP", "WDT", "WRB") for t in token.subtree)


def _event_verb(doc: Doc) -> str | None:
    """The lemma of the main verb of the question's asking sentence, when it is a content verb; else None."""
    root = _main_verb(doc)
    if root is None or root.pos_ != "VERB" or not root.is_alpha or _LIGHT & {root.lemma_.lower(), root.lower_}:
        return None  # 'lay siege' (parsed as 'lie') says its event with the noun
    if any(c.dep_ == "neg" for c in root.children) or not _subjects(root):
        return None  # negated, or a parse that found no subject ('Which state, set up in 1807, alarmed Russia?')
    verb = root.lemma_.lower()
    particle = [c for c in root.children if c.dep_ == "prt"]
    if particle:  # 'set up', 'carve out': the phrasal verb, when WordNet has it
        verb = f"{verb}_{particle[0].lower_}"
        return verb if wordnet.paraphrases(verb) else None
    return verb


def _conditions_in(q_doc: Doc, doc: Doc) -> list[Token]:
    """The sentence's tokens that are a date, place or number the question gives: a word of a question entity of
    those kinds holding a digit or an ordinal, or a place's name, said in the sentence as part of an entity of
    the same kind."""
    keys: dict[str, set[str]] = {}
    for ent in q_doc.ents:
        if ent.label_ not in _CONDITION_LABELS or not _on_the_verb(ent.root):
            continue
        words = {t.lower_ for t in ent if any(c.isdigit() for c in t.text) or t.lower_ in _ORDINAL_WORDS
                 or (ent.label_ in ("GPE", "LOC", "FAC") and t.pos_ == "PROPN")}
        if words:
            keys.setdefault(_kind(ent.label_), set()).update(words)
    out = []
    for ent in doc.ents:
        said = keys.get(_kind(ent.label_), set())
        out += [t for t in ent if t.lower_ in said][:1]
    return out


def _on_the_verb(token: Token) -> bool:
    """Whether a question's entity is a condition on its main verb: the object of a preposition on it ('in the 10th
    century', 'in England') or a bare adverbial ('last year'), not its subject or object, nor a condition on a
    verb of a clause ('Which state, set up in 1807, alarmed Russia?')."""
    if token.dep_ == "pobj" and token.head.dep_ == "prep":
        return token.head.head.dep_ == "ROOT"
    return token.dep_ in ("npadvmod", "tmod") and token.head.dep_ == "ROOT"


def _kind(label: str) -> str:
    return "place" if label in ("GPE", "LOC", "FAC") else "date" if label in ("DATE", "TIME") else "number"


def _verb_of(token: Token, state: bool = False) -> Token | None:
    """The content verb a token is said of by a preposition ('introduced in 1939', 'In April 1191 Richard left',
    'emerged in the first half of the 10th century'), or None: a date on a name or in a parenthesis, a subject or
    an object ('Rome accepted'), a place on a noun ('a summit in Biarritz'), a date with a 'when' clause of its own
    ('February 1082, when the city was betrayed') or a date on a light verb ('was a centre in the 11th century') is
    on no event of its own. ``state``: a date on 'be' is on its subject's state ('in the 10th century, it was
    within the empire'), returned too."""
    t = token
    while t.dep_ in _INSIDE and t.head.i != t.i:  # '10th' of 'the 10th century', 'April' of 'April 1191'
        t = t.head
    if t.lower_ == "ago" and t.dep_ == "advmod" and t.head.pos_ == "VERB":  # '11,700 years ago, the Rhine occupied'
        return None if t.head.lemma_.lower() in _LIGHT_SAID else t.head
    for _ in range(2):
        if any(c.dep_ in ("relcl", "acl") for c in t.children):
            return None  # 'February 1082, when the city was betrayed': the date of the clause's event
        if t.dep_ != "pobj" or t.head.dep_ != "prep":
            return None
        on = t.head.head
        if on.pos_ in ("VERB", "AUX"):
            if state and on.lemma_.lower() == "be":
                return on
            return None if on.lemma_.lower() in _LIGHT_SAID or not on.is_alpha else on
        if _life(on) is not None:  # 'the death of Augustus in AD 14': a birth or a death said as a noun
            return on
        if on.lemma_.lower() not in _PARTS:
            return None
        t = on  # 'in the first half of the 10th century': the half's verb
    return None


def _phrase(token: Token) -> str:
    """The entity (or else the word) a token is part of, as written."""
    for ent in token.doc.ents:
        if ent.start <= token.i < ent.end:
            return ent.text
    return token.text


def answer_elsewhere(analysis: QuestionAnalysis, sentence: str, answer: TextSpan) -> Elsewhere | None:
    """:func:`condition_elsewhere` for a candidate answer of a sentence: the candidate counts as a condition when
    the question asks for a date, place or number ('When was the bridge shortened?' of 'a scale introduced in
    1939'); for other questions only the conditions the question gives are checked."""
    asks_condition = analysis.answer_type in (DATE, PLACE, NUMBER)
    return condition_elsewhere(analysis.question, sentence, (answer.start, answer.end) if asks_condition else None)


def said_elsewhere(analysis: QuestionAnalysis, sentence: str) -> Elsewhere | None:
    """:func:`condition_elsewhere` for a sentence an answer would quote without a candidate: for a question asking
    for a date, place or number, any of the sentence's entities of the kind asked counts as the condition ('When
    did the army enter the Rhineland?' of 'The allies left the Rhineland in 1930')."""
    labels = analysis.expected_labels if analysis.answer_type in (DATE, PLACE, NUMBER) else frozenset()
    return _elsewhere(analysis.question, sentence, None, frozenset(labels))
