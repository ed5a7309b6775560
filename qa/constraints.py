"""The question's constraints in a sentence: which of its names, dates and places a sentence mentions, whether its
years contradict the question's, whether it is about the question at all.

A constraint is a name, place or date the question gives (not a number spelled as a word, not the asked-for type
noun), and for "how many N" the counted noun N. Mentions are compared by stemmed words, a name with its adjective
("Russia"/"Russian"). Dates are compared by period (``qa.periods``): "in 2019" asked, "in 2017" said contradicts.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa import lexical, periods
from qa.analysis import Entity, QuestionAnalysis
from qa.answer_types import DATE, NOUN_TYPES, PLACE, TYPE_LABELS

_YEAR_IN = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?![\d,])")
BOUNDING_WORDS = frozenset("until till before after since".split())  # "the first time since 2012": a span


def counted_noun(analysis: QuestionAnalysis) -> bool:
    """'How many visitors ...', 'how much money ...': the question counts a noun right after its wh-words."""
    if analysis.wh_word not in ("how many", "how much") or analysis.focus is None:
        return False
    before = analysis.question[:analysis.focus.start].lower().split()
    return before[-2:] == analysis.wh_word.split()


def terms(text: str) -> set[str]:
    """Stemmed words of a text, hyphenated words split: what a mention is compared by."""
    out = set()
    for w in lexical.words(text):
        out |= {lexical.stem(p) for p in w.split("-") if p and p not in lexical.STOPWORDS}
    return out


def same_word(a: str, b: str) -> bool:
    """One word, or a name and its adjective ('Russia'/'Russian', 'Frankish'/'Franks'): a shared start of four
    letters or more that leaves at most three letters over ('lead'/'leader')."""
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 4 and max(len(a), len(b)) - n <= 3


def constraint_terms(analysis: QuestionAnalysis) -> list[tuple[str, set[str], set[str]]]:
    """(the constraint as asked, its words, its years) for each constraint a sentence that answers should mention:
    the names, places and dates of the question (not numbers spelled as words, not the asked-for type noun), and
    for 'how many N' the counted noun N."""
    out = []
    for c in without_type_noun(analysis).constraints:
        if c.label in ("CARDINAL", "ORDINAL") and not any(ch.isdigit() for ch in c.text):
            continue  # 'the two ships', 'the first visit': often said another way
        words = terms(c.text)
        if words:
            out.append((c.text, words, set(_YEAR_IN.findall(c.text))))
    if counted_noun(analysis):
        out.append((analysis.focus_head, {lexical.stem(analysis.focus_head)}, set()))
    return out


def without_type_noun(analysis: QuestionAnalysis) -> QuestionAnalysis:
    """'... with what Lake?': the capitalised type noun is what is asked for, not a name the question gives."""
    head = analysis.focus_head
    kept = tuple(c for c in analysis.constraints if c.text.lower() != head
                 and not re.fullmatch(rf"(?:what|which|whose)\s+{re.escape(head)}s?", c.text.lower()))  # 'what year'
    return analysis if len(kept) == len(analysis.constraints) else replace(analysis, constraints=kept)


def unmet(analysis: QuestionAnalysis, text: str) -> tuple[str, ...]:
    """The constraints of the question (see ``constraint_terms``) the text does not mention.

    A name is mentioned when one of its words is ('Putin' for 'Vladimir Putin', 'Russia' for 'Russian'); a date
    when its year is (or, without a year, half its words are), a decade or century written with digits when a
    period of the text meets it ('the 1100s': 'in the 12th century', 'in 1150').
    """
    have = terms(text)
    out = []
    written = {c.text: _written(analysis.question, c) for c in analysis.constraints if c.label in TYPE_LABELS[DATE]}
    for asked, words, years in constraint_terms(analysis):
        if years:
            ok = years <= have or (asked in written and _stretch(written[asked]) and any(
                periods.meet(w, s) for w in periods.periods(written[asked]) for s in periods.periods(text)))
        elif any(ch.isdigit() for ch in asked):
            ok = 2 * sum(w in have for w in words) >= len(words)
        else:
            ok = any(same_word(w, h) or lexical.same_place(w, h) for w in words for h in have)  # 'French': France
        if not ok:
            out.append(asked)
    return tuple(out)


def about_question(analysis: QuestionAnalysis, text: str) -> bool:
    """Whether a sentence mentions one of the question's constraints (if any) and its focus noun, unless a date's or
    place's ('year', 'area': the answer stands in for it). One that does not leaves no answer in doubt."""
    if (asked := constraint_terms(analysis)) and len(unmet(analysis, text)) == len(asked):
        return False
    head = analysis.focus_head
    return not head or NOUN_TYPES.get(head, ("",))[0] in (DATE, PLACE) or any(
        same_word(lexical.stem(head), h) for h in terms(text))


def contradicts(analysis: QuestionAnalysis, text: str) -> bool:
    """Whether the text's years contradict the question's: it dates things, only by other periods than the one asked
    about ('in 2019' asked, '... in 2017' said; 'in the 10th century' asked, '... in 1072' said; 'in the 1100s'
    asked, 'in the 11th century' said; ``qa.periods``). A date that bounds the question ('before the 2019 talks',
    'since 2012') is not the date of what is asked. Periods of many years the question joins with 'and' ("in the
    1000's and 1100's") must each be met: a sentence on the 10th and 11th centuries says nothing of the 1100s. Years
    joined ('in 2017 and in 2019') are two occasions, each may be answered by a sentence of its own."""
    q = analysis.question
    dates = [c for c in analysis.constraints if c.label in TYPE_LABELS[DATE] and not _bounds(q, c.start)]
    written = [_written(q, c) for c in dates]
    joined = {i for i in range(1, len(dates)) if _JOINED.fullmatch(q[dates[i - 1].end:dates[i].start])
              and all(_stretch(written[j]) for j in (i - 1, i))}
    each = {j for i in joined for j in (i - 1, i)}
    return periods.contradicts([w for i, w in enumerate(written) if i not in each], text,
                               each=[w for i, w in enumerate(written) if i in each])


def _written(question: str, date: Entity) -> str:
    """A date of the question as written: "1000's" where the recogniser's date is '1000'."""
    m = _DECADE_END.match(question, date.end)
    return question[date.start:date.end + len(m.group(0))] if m else date.text


def _stretch(date: str) -> bool:
    """Whether a date is a period of many years ('the 1100s', 'the 11th century'), not a year."""
    spans = periods.periods(date)
    return bool(spans) and all(lo < hi for lo, hi in spans)


# "the 1000's": the recogniser's date is '1000', the decade or century is written on; "the 1000's and 1100's"
_DECADE_END = re.compile(r"['’]?s\b")
_JOINED = re.compile(r"(?:['’]?s)?,?\s+and\s+(?:the\s+|in\s+(?:the\s+)?)?", re.IGNORECASE)


def after_publication(analysis: QuestionAnalysis, published: str | None, text: str) -> bool:
    """Whether the question asks about a year after the article was published (``published``: its ISO date, from
    its dateline; ``corpus.meta``) and the sentence gives no period of its own nor looks ahead: an article of 2017
    saying 'Macron and Putin met in Versailles' does not say where they met in 2018."""
    if not published or not published[:4].isdigit() or periods.periods(text) or _AHEAD.search(text):
        return False
    asked = [p for c in analysis.constraints if c.label in TYPE_LABELS[DATE] and not _bounds(analysis.question, c.start)
             for p in periods.periods(c.text)]
    return bool(asked) and all(lo > int(published[:4]) for lo, _ in asked)


_ORDINALS = ("second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_ORDINAL_SAID = {w: re.compile(rf"\b(?:{w}|{n}(?:nd|rd|th))\b", re.IGNORECASE)
                 for n, w in enumerate(_ORDINALS, start=2)}


def unsaid_ordinal(analysis: QuestionAnalysis, text: str) -> str | None:
    """The ordinal past 'first' the question gives ('his second visit') when the sentence does not say it (as a
    word or as '2nd'), else None: a sentence on 'a visit' does not say which the second one was. 'First' is left
    out: it is often said another way ('for the first time', 'a debut')."""
    for c in analysis.constraints:
        word = c.text.lower()
        if c.label == "ORDINAL" and word in _ORDINAL_SAID and not _ORDINAL_SAID[word].search(text):
            return c.text
    return None


def dated_by(asked: str, published: str, text: str) -> bool:
    """Whether a date the question gives ('2019', 'in September 2019') is met by the year of the article's
    publication date (ISO) for a sentence that gives no period of its own: the article reports its own time."""
    wanted = periods.periods(asked)
    return bool(wanted) and not periods.periods(text) and published[:4].isdigit() and all(
        lo <= int(published[:4]) <= hi for lo, hi in wanted) and not _MONTH_WORD.search(asked)


_MONTH_WORD = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_AHEAD = re.compile(r"\b(?:will|would|shall|next|plans?|planned|expected|upcoming|future|later)\b", re.IGNORECASE)


def _bounds(question: str, at: int) -> bool:
    """Whether the words before ``at`` bound a period ('before the 2019 talks', 'since 2012')."""
    words = [w for w in re.findall(r"\w+", question[:at].lower()) if w not in ("the", "a", "an")]
    return bool(words) and words[-1] in BOUNDING_WORDS
