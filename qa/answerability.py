"""Answerability: does a retrieved sentence hold what the question asks for, and which words of it are the answer?

A question that expects an entity (a person, place, organisation, date, number or a name of another kind; see
``qa.analysis``) is answered only from a sentence that holds a *candidate*: an entity of an expected label that
the question does not already give (``qa.analysis.candidates``). Among the best-scored sentences (within
``margin`` of the best) the best one with a candidate wins; the candidate becomes the short answer. Because the
small model's labels are often wrong, a sentence whose only candidates carry another name label (or, for a date,
a bare year) counts too, at a lower score. For "the name of X" / "what is X called" the candidate must also be
tied to X through the sentence's parse (X's own noun phrase, an apposition, "named"/"called" X). When no sentence
qualifies, the question is refused with what is missing and the closest sentence quoted.

Questions whose answer is a clause (why, how, describe, yes/no, compare) are left to the similarity threshold,
and so are those the analysis cannot type reliably (:func:`can_refuse`): a sentence without a candidate does not
refuse them, though a sentence with one still gives the short answer.

Beyond the recogniser's entities, a sentence offers candidates the small model often misses or mislabels, all
found loosely: dates written as geologists and historians write them ("about 13,000 BP", "the 6th century BC",
"in 911"), numbers in digits and ordinals ("300th"), quoted terms ("the 'Rhine knee'") and runs of capitalised
words ("Sankt Goarshausen").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qa import lexical
from qa.analysis import Entity, QuestionAnalysis, analyze_question, candidates, load_pipeline
from qa.answer_types import DATE, NAME_LABELS, NUMBER, ORGANISATION, PERSON, PLACE, THING, TYPE_LABELS
from qa.evidence import Evidence, Sentence

if TYPE_CHECKING:
    from spacy.tokens import Token

LOOSE_PENALTY = 0.08  # a candidate found only by the loose labels (another name label, a bare year) ranks lower
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})s?$")
_SHORT_YEAR = re.compile(r"^[1-9][0-9]{2}$")  # "in 911": a year only after a word that places it in time
_YEAR_WORDS = frozenset("in by since from until around circa about of year".split())
_ERA_DATE = re.compile(
    r"(?:(?:~|about |around |circa |c\. ?|ca\. ?)?\b\d[\d,.]*(?:\s*[–-]\s*\d[\d,.]*)?\s*(?:(?:yr|years?)\s*)?"
    r"(?:BP|BC|BCE|AD|CE|ago)\b)"
    r"|(?:\b\d{1,2}(?:st|nd|rd|th)(?:\s*[–-]\s*\d{1,2}(?:st|nd|rd|th))?\s+[Cc]entur(?:y|ies)(?:\s+(?:BC|AD))?)")
_DIGITS = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:%|st|nd|rd|th)?(?!\w)")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,60})[”\"]")
_CAPITALISED = re.compile(
    r"[A-Z][\w’'\-]+(?:\s+(?:(?:de|aan|am|an|von|van|der|den|du|la|le|of|the)\s+)*[A-Z][\w’'\-]+)*")
_PERIOD_NOUNS = frozenset("period era age time epoch".split())  # "what period": the Miocene, the Jurassic Period
_MAX_POOL = 8  # sentences looked at, best first
_TIE_DISTANCE = 2  # edges between the focus noun and a "name of X" candidate in the sentence's parse


@dataclass(frozen=True)
class Found:
    """A sentence that answers and the words of it that are the answer (offsets into the sentence's text)."""

    index: int  # position of the sentence in the scored list
    entity: Entity
    score: float  # the sentence's score, less LOOSE_PENALTY for a loose candidate


def analyze(question: str) -> QuestionAnalysis:
    """The question's analysis (``qa.analysis.analyze_question``)."""
    return analyze_question(question)


def can_refuse(analysis: QuestionAnalysis) -> bool:
    """Whether a question may be refused for want of a candidate: not when the analysis cannot type it reliably.

    A comparison or a choice between named alternatives, "how many/much" over a counted noun (the count is often
    a word, a list or a total the sentence does not state as one number), and a nested question (two hops, or
    context before the question: the answer hangs off something the question only describes) are answered or
    refused by the similarity threshold alone.
    """
    counted = analysis.wh_word in ("how many", "how much") and bool(analysis.focus_head)
    return analysis.expects_entity and not (analysis.is_comparison or counted or analysis.is_nested)


def warm_up() -> None:
    """Load the spaCy pipeline now (a QA built for serving answers fast pays it once, up front)."""
    load_pipeline()


def find_answer(
    analysis: QuestionAnalysis,
    sentences: Sequence[Sentence],
    scores: Sequence[float],
    evidence: Evidence,
    *,
    margin: float,
) -> Found | None:
    """The best of ``sentences`` (ranked by ``scores``, best first) holding a candidate answer, or None.

    Only sentences scoring within ``margin`` of the best (at most ``_MAX_POOL``) are looked at.
    """
    if not sentences or not analysis.expects_entity:
        return None
    pool = [i for i in range(min(len(sentences), _MAX_POOL)) if scores[i] >= scores[0] - margin]
    ents = evidence.entities([sentences[i] for i in pool])
    best: Found | None = None
    for i, entities in zip(pool, ents, strict=True):
        found = _pick(analysis, sentences[i], entities)
        if found is None:
            continue
        entity, loose = found
        score = scores[i] - (LOOSE_PENALTY if loose else 0.0)
        if best is None or score > best.score:
            best = Found(i, entity, score)
    return best


def _pick(analysis: QuestionAnalysis, sentence: Sentence, entities: Sequence[Entity]) -> tuple[Entity, bool] | None:
    """The candidate of a sentence closest to what the question mentions, and whether it was found loosely."""
    analysis = _without_type_noun(analysis)
    found = _fitting(analysis, sentence, candidates(analysis, entities))
    is_loose = not found
    if is_loose:  # a bare number answers a date question only when it is a year
        extra = _extra(analysis, sentence.text, entities)
        found = _fitting(analysis, sentence, [
            e for e in candidates(_loosened(analysis), [*entities, *extra])
            if not (analysis.answer_type == DATE and e.label == "CARDINAL" and not _is_year(sentence.text, e))])
    if not found:
        return None
    return _nearest(analysis, sentence.text, found), is_loose


def _fitting(analysis: QuestionAnalysis, sentence: Sentence, found: list[Entity]) -> list[Entity]:
    """The candidates that fit what is asked: a date that places something in time, a name of the thing asked
    about (a quoted term, or one tied to it in the parse)."""
    found = _dated(analysis, sentence.text, found)
    if found and _asks_name_of(analysis):
        return [e for e in found if e.label == "QUOTE"] or _tied_to_focus(analysis, sentence, found)
    return found


def _dated(analysis: QuestionAnalysis, text: str, found: list[Entity]) -> list[Entity]:
    """For a date question, the candidates that place something in time: "until 2012" bounds a period, "the
    intervening years" places nothing; an event ("the end of World War I") dates too."""
    if analysis.answer_type != DATE:
        return found
    return [e for e in found if _word_before(text, e.start) not in _BOUNDING_WORDS
            and (lexical.has_date(e.text) or any(ch.isdigit() for ch in e.text) or e.label in NAME_LABELS)]


def _without_type_noun(analysis: QuestionAnalysis) -> QuestionAnalysis:
    """'... with what Lake?': the capitalised type noun is what is asked for, not a name the question gives."""
    kept = tuple(c for c in analysis.constraints if c.text.lower() != analysis.focus_head)
    return analysis if len(kept) == len(analysis.constraints) else replace(analysis, constraints=kept)


def _is_year(text: str, e: Entity) -> bool:
    return bool(_YEAR.match(e.text)) or (bool(_SHORT_YEAR.match(e.text))
                                         and _word_before(text, e.start) in _YEAR_WORDS)


def _extra(analysis: QuestionAnalysis, text: str, entities: Sequence[Entity]) -> list[Entity]:
    """Candidates the recogniser missed, by their form: era dates, digits, quoted terms, capitalised runs."""
    def free(start: int, end: int, labels: frozenset[str] | None = None) -> bool:
        return not any(e.start <= start and end <= e.end for e in entities if labels is None or e.label in labels)

    out: list[Entity] = []
    if analysis.answer_type == DATE:
        out += [Entity(m.group(0), m.start(), m.end(), "DATE") for m in _ERA_DATE.finditer(text)]
    if analysis.answer_type == NUMBER:
        out += [Entity(m.group(0), m.start(), m.end(), "CARDINAL") for m in _DIGITS.finditer(text)
                if free(m.start(), m.end(), TYPE_LABELS[NUMBER] | TYPE_LABELS[DATE])]
    if analysis.expected_labels & NAME_LABELS:
        out += [Entity(m.group(1), m.start(1), m.end(1), "QUOTE") for m in _QUOTED.finditer(text)]
        for m in _CAPITALISED.finditer(text):
            start, first = m.start(), m.group(0).split()[0]
            if first.lower() in _OPENERS:  # capitalised as a sentence's (or a clause's) first word
                rest = m.group(0)[len(first):]
                if not rest.strip():
                    continue
                start = m.end() - len(rest.lstrip())
            if not any(e.start < m.end() and start < e.end for e in entities):  # the recogniser missed it
                out.append(Entity(text[start:m.end()], start, m.end(), "PROPN"))
    return out


_OPENERS = lexical.STOPWORDS | {"near", "since", "during", "at"}
_BOUNDING_WORDS = frozenset("until till before after".split())


def _word_before(text: str, at: int) -> str:
    words = re.findall(r"\w+", text[max(0, at - 30):at])
    return words[-1].lower() if words else ""


def _loosened(analysis: QuestionAnalysis) -> QuestionAnalysis:
    """The analysis with the labels the small model confuses: any name label for a name, numbers for a date."""
    labels = analysis.expected_labels
    if labels & NAME_LABELS:
        labels = labels | NAME_LABELS | {"QUOTE", "PROPN"}
    if analysis.answer_type == DATE:
        labels = labels | {"CARDINAL"}
        labels = labels | {"EVENT"}
        if analysis.focus_head in _PERIOD_NOUNS:
            labels = labels | NAME_LABELS | {"PROPN"}
    if analysis.answer_type == NUMBER:
        labels = labels | {"CARDINAL", "ORDINAL"}
    return replace(analysis, expected_labels=labels)


def _asks_name_of(analysis: QuestionAnalysis) -> bool:
    """'What was the name of the puppy', 'what is the dog called': a name of a thing the question names."""
    return analysis.answer_type == THING and analysis.expected_labels == NAME_LABELS and bool(analysis.focus_head)


def _tied_to_focus(analysis: QuestionAnalysis, sentence: Sentence, found: Sequence[Entity]) -> list[Entity]:
    """The candidates within ``_TIE_DISTANCE`` parse edges of a mention of the focus noun in the sentence."""
    doc = load_pipeline()(sentence.text)
    focus = [t for t in doc if t.lemma_.lower() == analysis.focus_head]
    if not focus:
        return []
    tied = []
    for e in found:
        span = doc.char_span(e.start, e.end, alignment_mode="expand")
        if span is not None and any(_distance(span.root, f) <= _TIE_DISTANCE for f in focus):
            tied.append(e)
    return tied


def _distance(a: Token, b: Token) -> int:
    """Edges between two tokens of one parse."""
    up_a = [a, *a.ancestors]
    up_b = [b, *b.ancestors]
    for i, t in enumerate(up_a):
        if t in up_b:
            return i + up_b.index(t)
    return 99


def _nearest(analysis: QuestionAnalysis, text: str, found: Sequence[Entity]) -> Entity:
    """The candidate nearest to a word of the question's focus or constraints in the sentence (the first when the
    sentence mentions none); a year for a date question only when nothing better is there."""
    words = set()
    for piece in [analysis.focus.text if analysis.focus else "", *(c.text for c in analysis.constraints)]:
        words |= {w.lower() for w in re.findall(r"\w{3,}", piece)}
    at = [m.start() for m in re.finditer(r"\w+", text) if m.group(0).lower() in words]

    primary = TYPE_LABELS.get(analysis.answer_type, analysis.expected_labels)

    def key(e: Entity) -> tuple[int, int]:  # "who": a PERSON before a nationality
        return (0 if e.label in primary else 1, min((abs(e.start - p) for p in at), default=e.start))

    return min(found, key=key)


def missing(analysis: QuestionAnalysis) -> str:
    """What the articles don't say, in words: 'what the puppy was called', 'when …', 'who …'."""
    focus = analysis.focus.text if analysis.focus is not None else ""
    if _asks_name_of(analysis) and focus:
        return f"the name of {_with_article(focus)}"
    if analysis.answer_type == DATE:
        return f"the date asked for{f' ({focus})' if focus else ''}"
    if analysis.answer_type == NUMBER:
        return f"the number asked for{f' ({focus})' if focus else ''}"
    if analysis.answer_type in (PERSON, ORGANISATION, PLACE):
        what = {PERSON: "person", ORGANISATION: "organisation", PLACE: "place"}[analysis.answer_type]
        return f"which {what}{f' ({focus})' if focus else ''}"
    return f"what the question asks{f' about {focus}' if focus else ''}"


def _with_article(noun_phrase: str) -> str:
    determined = noun_phrase.lower().startswith(("the ", "a ", "an ", "this ", "that "))
    return noun_phrase if determined else f"the {noun_phrase}"
