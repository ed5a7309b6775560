"""Ties in a sentence's parse between a candidate answer and what the question asks about.

"What was the name of the puppy": the candidate must sit near a mention of "puppy" in the sentence's dependency
parse, or be the subject of a verb that gives it the role ("X was named ..."). "Who was the Russian ambassador":
the name must be tied to a mention of the role (or a verb made from it: "led" for "leader"). "Who represented
France at the meeting": a place used as a place ("held ... in Paris") is no 'who' unless the sentence states the
question's event. "What did the working group conclude?" asks for a result: a sentence without 'concluded' or
'conclusion' (its mission, its plans) does not say it (:func:`result_verb`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from qa import kinship, lexical
from qa.analysis import Entity, QuestionAnalysis
from qa.analysis import parse as analysis_parse
from qa.answer_types import DATE, NAME_LABELS, NOUN_TYPES, ORGANISATION, PERSON, RESULT_VERBS, THING
from qa.constraints import same_word, terms
from qa.evidence import Sentence

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_TIE_DISTANCE = 2  # edges between the focus noun and a "name of X" candidate in the sentence's parse
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_WHERE_PREPS = frozenset("in at near inside outside within throughout".split())  # 'held ... in Paris': a place
_LIGHT_VERBS = frozenset("be do have make take hold get give go come happen become".split())
_GENERIC_ROLES = frozenset("person people man woman member head one guest host".split())
_ROLE_VERBS = frozenset("be become remain elevate name appoint make crown elect call title proclaim promote".split())


def asks_name_of(analysis: QuestionAnalysis) -> bool:
    """'What was the name of the puppy', 'what is the dog called': a name of a thing the question names."""
    return analysis.answer_type == THING and analysis.expected_labels == NAME_LABELS and bool(analysis.focus_head)


def held_by_role(analysis: QuestionAnalysis, sentence: Sentence, found: list[Entity]) -> list[Entity]:
    """For a question about who holds a role ('Who was the Russian ambassador to France?', 'Which ministers ...'),
    the candidates tied to a mention of the role in the sentence's parse, when there are any. 'Who was the
    ambassador' asks for nothing but the role: a sentence that never mentions it (nor a verb it is made from:
    'led' for 'leader') answers nothing, whoever it names. A question that also says what the person did ('Which
    ministers travelled ...') may be answered by a sentence that names the doer without the role."""
    role = analysis.focus_head
    if analysis.answer_type not in (PERSON, ORGANISATION) or role in _GENERIC_ROLES:
        return found
    if NOUN_TYPES.get(role, ("",))[0] != PERSON:
        return found
    doc = parse(sentence.text)
    mentions = [t for t in doc if same_word(role, t.lemma_.lower())]
    mentions = mentions or kinship.converse_mentions(role, parse(analysis.question), doc)  # 'Emma, sister of X'
    if not mentions:
        return [] if analysis.wh_word in ("who", "whom") else found
    tied = [e for e in found if (span := doc.char_span(e.start, e.end, alignment_mode="expand")) is not None
            and any(_distance(span.root, m) <= _TIE_DISTANCE for m in mentions)]
    return tied or found


def places_as_places(analysis: QuestionAnalysis, sentence: Sentence, found: list[Entity]) -> list[Entity]:
    """For 'who'/'whom', the candidates less the place names used as places: the object of 'in', 'at', 'near' ...
    ('The last meeting ... was held on October 31, 2012 in Paris' does not say who represented France).

    A place name still answers 'who' as an actor ('Russia annexed Crimea', 'sold to Russia'). And when the
    sentence states the question's event (:func:`event_words`: its verb, or the noun of 'make a visit'), nothing is
    taken away: the one who did it may be a phrase no recogniser types ('France granted asylum ... to a victim of
    homophobic persecution in Chechnya' for 'Who did France grant asylum to?'). Measured (seed_dev, seed_dev2, the
    SQuAD 2.0 sample): refusal recall 0.714 -> 0.786, 0.568 and 0.278 unchanged, no other figure moves; without the
    event exception, seed_dev2 lost an answer that contained the gold.
    """
    if analysis.wh_word not in ("who", "whom") or not any(e.label in _PLACE_LABELS for e in found):
        return found
    doc = parse(sentence.text)
    if states_event(analysis, doc):
        return found
    kept = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        if (e.label in _PLACE_LABELS and span is not None and span.root.dep_ == "pobj"
                and span.root.head.lower_ in _WHERE_PREPS):
            continue
        kept.append(e)
    return kept


def dates_of_the_event(analysis: QuestionAnalysis, sentence: Sentence, found: list[Entity]) -> list[Entity]:
    """For a date question, the candidates less the dates of another event: a date that dates a noun ('the
    humiliation of October 2016', 'the 2016 humiliation') dates that noun's event, and answers only when the noun
    (or the verb of a 'when' clause on the date: 'October 2016, when Hollande advised Putin ...') is a word of the
    question. A date on a verb is left alone (the question's verb is often said another way).

    Measured (seed_dev, seed_dev2, SQuAD 2.0 sample): refusal recall 0.857, 0.568 unchanged, 0.300 -> 0.303; false
    refusals 0.097, 0.113 unchanged, 0.091 -> 0.093; contains 0.722, 0.629 unchanged, 0.769 -> 0.767. Requiring
    the verb a date hangs on to be the question's too refused answerable questions (seed_dev short exact 0.361 ->
    0.292, seed_dev2 false refusals 0.113 -> 0.129): not done.
    """
    if analysis.answer_type != DATE or not found:
        return found
    asked = terms(analysis.question)

    def is_asked(t: Token) -> bool:
        return any(same_word(lexical.stem(t.lemma_.lower()), a) for a in asked)

    doc = parse(sentence.text)
    kept = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        root = span.root if span is not None else None
        noun = None
        if root is not None and root.dep_ == "pobj" and root.head.lower_ == "of" and root.head.head.pos_ == "NOUN":
            noun = root.head.head
        elif root is not None and root.dep_ in ("compound", "nmod", "amod", "poss") and root.head.pos_ == "NOUN":
            noun = root.head
        if (root is not None and noun is not None and not is_asked(noun)
                and not any(c.dep_ == "relcl" and is_asked(c) for c in root.children)):
            continue
        kept.append(e)
    return kept


def event_words(analysis: QuestionAnalysis) -> frozenset[str]:
    """The stems of the question's event: the main verb of its asking sentence ('represent' for 'Who represented
    France ...?'), or for a light verb ('make his return visit', 'hold talks') the nouns and clauses it takes."""
    doc = parse(analysis.question)
    root = list(doc.sents)[-1].root
    if root.lemma_.lower() not in _LIGHT_VERBS:
        return frozenset({lexical.stem(root.lemma_.lower())})
    return frozenset(lexical.stem(c.lemma_.lower()) for c in root.children
                     if (c.dep_ in ("dobj", "attr") and c.pos_ == "NOUN") or c.dep_ in ("xcomp", "ccomp", "acomp"))


def states_event(analysis: QuestionAnalysis, doc: Doc) -> bool:
    """Whether a parsed sentence has a word of the question's event (:func:`event_words`; the same word once
    stemmed, or a form of it: 'represented', 'representative')."""
    words = event_words(analysis)
    return any(same_word(lexical.stem(t.lemma_.lower()), w) for t in doc for w in words)


def result_verb(analysis: QuestionAnalysis) -> str | None:
    """The verb (lemma) of a question that asks what an act of finding out found ('What did the working group
    conclude?', 'When did Herodotus discover the Rhine?'; ``RESULT_VERBS``), in the active voice: 'can be found'
    locates, 'was discovered' dates a thing more than an act. None for any other question."""
    for t in parse(analysis.question):
        if (t.pos_ == "VERB" and t.lemma_.lower() in RESULT_VERBS and t.tag_ != "VBN"
                and not any(c.dep_ in ("auxpass", "nsubjpass", "prt") for c in t.children)):
            return t.lemma_.lower()
    return None


def states_result(verb: str, text: str) -> bool:
    """Whether a sentence says what was found with the question's verb or its noun ('concluded', 'the
    conclusion', 'found that'), by the parse's lemmas."""
    forms = {verb, *RESULT_VERBS.get(verb, ())}
    return any(t.lemma_.lower() in forms for t in parse(text))


@lru_cache(maxsize=4096)
def parse(text: str) -> Doc:
    """A sentence's full parse, cached (sentences come back with every question about them)."""
    return analysis_parse(text)


def tied_to_focus(analysis: QuestionAnalysis, sentence: Sentence, found: Sequence[Entity]) -> list[Entity]:
    """The candidates within ``_TIE_DISTANCE`` parse edges of a mention of the focus noun in the sentence, or given
    the role it names by the verb they are the subject of (:func:`_holds_role`)."""
    doc = parse(sentence.text)
    focus = [t for t in doc if t.lemma_.lower() == analysis.focus_head]
    if not focus:
        return []
    tied = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        if span is not None and any(_distance(span.root, f) <= _TIE_DISTANCE or _holds_role(span.root, f)
                                    for f in focus):
            tied.append(e)
    return tied


def _holds_role(name: Token, focus: Token) -> bool:
    """'X was elevated to the dignity of count of Y', 'X became king of Z': the name is the subject of a verb that
    gives it the role the focus names, however far down the verb's phrase the focus sits."""
    verb = name.head
    return (name.dep_ in ("nsubj", "nsubjpass") and verb.lemma_.lower() in _ROLE_VERBS
            and verb in focus.ancestors)


def _distance(a: Token, b: Token) -> int:
    """Edges between two tokens of one parse."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    for i, t in enumerate(up_a):
        if t in up_b:
            return i + up_b.index(t)
    return 99
