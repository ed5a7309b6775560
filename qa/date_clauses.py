"""Which date of a sentence answers a date question: the one on the question's own verb.

A sentence often dates two events, each in its clause: 'The allies left the Rhineland in 1930 and the German army
re-occupied it in 1936.' Asked 'When did the German army re-occupy the Rhineland?', the answer is the date on
're-occupied' (1936), however near the other date stands to the question's names (:func:`on_the_verb`).

'What year' is answered by a year, not a century or a decade ('since the 20th century': :func:`one_year`).

A date question is answered only by a date: when no quoted sentence holds a date of the question's event, a quoted
sentence dating another event ('In April 1191 Richard left Messina' for 'What year did Richard's fleet avoid a
storm?', ``qa.predicates``) gives none, and the answer, however close its first sentence, is no answer
(:func:`dates_the_event`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa import lexical, predicates
from qa.analysis import Entity, QuestionAnalysis, TextSpan
from qa.answer_types import DATE
from qa.constraints import contradicts, same_word
from qa.ties import parse

if TYPE_CHECKING:
    from spacy.tokens import Token

__all__ = ["asked_dates", "dates_the_event", "on_the_verb", "one_year", "undated"]

_LIGHT = frozenset("be have do".split())
_DATE_WORD = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
                        r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?", re.IGNORECASE)


def asked_dates(analysis: QuestionAnalysis, text: str, found: Sequence[Entity]) -> list[Entity]:
    """The candidates that may answer a date question as asked: for 'what year', only those giving one year
    (:func:`one_year`); of those, the ones on the question's verb (:func:`on_the_verb`)."""
    if analysis.answer_type == DATE and analysis.focus_head == "year":
        found = [e for e in found if one_year(e.text)]
    if analysis.answer_type == DATE and found:
        found = [e for e in found if not of_the_named(analysis, text, e)]
    return on_the_verb(analysis, text, found)


def of_the_named(analysis: QuestionAnalysis, text: str, e: Entity) -> bool:
    """Whether a date set off right after a name ('the Last Glacial Maximum, ca. 22,000–14,000 yr BP,', 'the
    Little Ice Age (1300–1850)') dates what that name names and not what the question asks: the question's verb is
    a content verb the sentence never says (``qa.predicates.says_event``) and either the question does not name
    that thing ('When were the Alps formed?') or it asks for something within it ('When did the Last Glacial
    Maximum peak?'). Such a date answers when the thing was, began or ended ('When was the Last Glacial Maximum?',
    'When did the last glacial end?'), and a person's, a people's or an organisation's years are left alone
    ('Augustus (63 BC – AD 14)': his life or rule)."""
    m = _SET_OFF.search(text[:e.start])
    verb = _question_verb(analysis.question)
    if m is None or verb is None or verb in ("be", "have", "do"):
        return False
    doc = parse(text)
    name = doc.char_span(m.start(1), m.end(1), alignment_mode="expand")
    if name is None or name.root.ent_type_ in ("PERSON", "ORG", "NORP", "GPE", "DATE", "TIME") or predicates.says_event(
            verb, doc) or any(t.lemma_.lower() == verb for t in doc):  # 'Thursday, November 26, 2015': one date
        return False  # and 'the end of the Pleistocene (~11,600 BP)' says when the last glacial ended
    named = [t.lemma_.lower() for t in doc[:name.end] if (t.ent_iob_ != "O" or t.is_title) and not t.is_stop][-4:]
    asked = {t.lemma_.lower() for t in parse(analysis.question)}
    if not any(w in asked for w in named):
        return True  # another thing's date
    # something within it: only a period's span has a within ('the Edict of Fontainebleau (1685)' was declared then)
    return verb not in _SPAN_VERBS and bool(_RANGE.search(e.text))


_RANGE = re.compile(r"\d\s*[–—-]\s*\d|\bto\b|\buntil\b|\bbetween\b", re.IGNORECASE)  # '22,000–14,000 yr BP'


# a name, then the date set off by a comma or a bracket ('the Last Glacial Maximum, ca. 22,000 BP')
_SET_OFF = re.compile(r"([A-Z][\w'’-]*)\s*(?:,|\()\s*(?:ca\.|c\.|circa|about|around|~)?\s*$")
# verbs a period's date answers: when it was, began or ended, and a life, a reign, a rule
_SPAN_VERBS = frozenset("be have do occur happen exist take begin start end last finish stop cease continue remain "
                        "form found establish create rise emerge fall collapse dissolve die bear live rule reign "
                        "span cover run".split())


def _question_verb(question: str) -> str | None:
    """The lemma of the question's main verb, also where the parser takes it for a noun after 'did' ('When did the
    Last Glacial Maximum peak?'), or None."""
    doc = parse(question)
    words = [t for t in doc if not t.is_punct]
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    if root.lemma_.lower() == "do" and words and words[-1].pos_ == "NOUN" and words[-1].tag_ == "NN":
        return words[-1].lower_
    if root.pos_ == "AUX":
        root = next((c for c in root.children if c.pos_ == "VERB"), root)
    return root.lemma_.lower() if root.pos_ == "VERB" else None


def one_year(date: str) -> bool:
    """Whether a date is close enough to a year to answer 'What year ...?': not a century or millennium alone ('the
    20th century', 'the 1100s'). A decade ('in the 1950s') is how texts often date an event, and the closest answer
    they give: it answers (on XQuAD, 'In what year was the Interstate Highway System created?' is answered so)."""
    return not _MANY_YEARS.search(date) or bool(_A_YEAR.search(date))


_MANY_YEARS = re.compile(r"\bcentur(?:y|ies)\b|\b1[0-9]00['’]?s\b|\bmillenni", re.IGNORECASE)
_A_YEAR = re.compile(r"(?<![\d,.])(?:1[0-9]{3}|20[0-9]{2})(?![\d'’s])")


def on_the_verb(analysis: QuestionAnalysis, text: str, found: Sequence[Entity]) -> list[Entity]:
    """For a date question, the candidates that hang on the question's verb when some do and others hang on
    another verb of the sentence ('in 1936' on 're-occupied', not 'in 1930' on 'left'); else all of them.

    A candidate hangs on the verb it depends on through prepositions and nouns ('in April 1191' on 'left'); the
    question's verb is any content verb of the question, compared by lemma or stem ('re-occupy' / 're-occupied').
    """
    if analysis.answer_type != DATE or len(found) < 2:
        return list(found)
    asked = _asked_verbs(analysis.question)
    if not asked:
        return list(found)
    doc = parse(text)
    on: list[Entity] = []
    off: list[Entity] = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        verb = _verb_of(span.root) if span is not None else None
        if verb is None:
            continue
        (on if _is_asked(verb, asked) else off).append(e)
    return on if on and off else list(found)


def dates_the_event(analysis: QuestionAnalysis, text: str) -> bool:
    """Whether a sentence pins a date (``lexical.pins_date``) that may be the date of the question's event: one not
    on another event's verb (``qa.predicates.answer_elsewhere``), in a sentence whose years do not contradict the
    question's. A dateline ('9 Sep, 2019 09:12') dates the article's report, and so the event it reports."""
    if not lexical.pins_date(text) or contradicts(analysis, text):
        return False
    return any(predicates.answer_elsewhere(analysis, text, TextSpan(m.group(0), m.start(), m.end())) is None
               for m in _DATE_WORD.finditer(text))


def undated(analysis: QuestionAnalysis, texts: Sequence[str]) -> bool:
    """Whether a date question ('when', 'what year'; not 'since when', which asks for a bound) would be answered by
    sentences (``texts``, the ones quoted) none of which dates its event (:func:`dates_the_event`): a close sentence
    with no date at all, and dates of other events, answer nothing."""
    return (analysis.answer_type == DATE and analysis.expects_entity and bool(_POINT.search(analysis.question))
            and not _ASKED_BOUND.search(analysis.question) and not any(dates_the_event(analysis, t) for t in texts))


_ASKED_BOUND = re.compile(r"\b(?:until|till|since|before|after) when\b", re.IGNORECASE)
# a question asking for a point in time in so many words; not 'the longest time', 'how long', 'what time' (a span
# or a time of day, which no year gives)
_POINT = re.compile(r"\bwhen\b|\b(?:what|which) (?:years?|dates?|days?|months?|centur(?:y|ies)|decades?)\b",
                    re.IGNORECASE)


def _asked_verbs(question: str) -> set[str]:
    """The lemmas of the question's content verbs."""
    return {t.lemma_.lower() for t in parse(question)
            if t.pos_ == "VERB" and t.is_alpha and t.lemma_.lower() not in _LIGHT}


def _is_asked(verb: Token, asked: set[str]) -> bool:
    lemma = verb.lemma_.lower()
    return lemma in asked or any(same_word(lexical.stem(lemma), lexical.stem(a)) for a in asked)


def _verb_of(token: Token) -> Token | None:
    """The verb a date depends on through nouns, numbers and prepositions, or None (a date beside a name)."""
    seen = 0
    while token.pos_ not in ("VERB", "AUX") and token.dep_ != "ROOT" and seen < 8:
        if token.dep_ in ("appos", "conj", "relcl", "acl"):
            return None
        token = token.head
        seen += 1
    return token if token.pos_ in ("VERB", "AUX") else None
