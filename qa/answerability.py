"""Answerability: does a retrieved sentence hold what the question asks for, and which words of it are the answer?

A question that expects an entity (a person, place, organisation, date, number or a name of another kind; see
``qa.analysis``) is answered only from a sentence that holds a *candidate*: an entity of an expected label that
the question does not already give (``qa.analysis.candidates``). Among the best-scored sentences (within
``margin`` of the best) the best one with a candidate wins; the candidate becomes the short answer. Because the
small model's labels are often wrong, a sentence whose only candidates carry another name label (or, for a date,
a bare year) counts too, at a lower score. For "the name of X" / "what is X called" the candidate must also be
tied to X through the sentence's parse (X's own noun phrase, an apposition, "named"/"called" X). When no sentence
qualifies, the question is refused with what is missing and the closest sentence quoted.

Questions whose answer is a clause (why, how, describe, yes/no, compare) are left to the similarity threshold.
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
    strict = candidates(analysis, entities)
    loose: list[Entity] = []
    if not strict:  # a bare number answers a date question only when it is a year
        loose = [e for e in candidates(_loosened(analysis), entities)
                 if not (analysis.answer_type == DATE and e.label == "CARDINAL" and not _YEAR.match(e.text))]
    found, is_loose = (strict, False) if strict else (loose, True)
    if analysis.answer_type == DATE:  # "since 2012" bounds a period, "the intervening years" places nothing
        found = [e for e in found if _word_before(sentence.text, e.start) not in _BOUNDING_WORDS
                 and (lexical.has_date(e.text) or any(ch.isdigit() for ch in e.text))]
    if not found:
        return None
    if _asks_name_of(analysis):
        tied = _tied_to_focus(analysis, sentence, found)
        if not tied:
            return None
        found = tied
    return _nearest(analysis, sentence.text, found), is_loose


_BOUNDING_WORDS = frozenset("since until till before after by".split())


def _word_before(text: str, at: int) -> str:
    words = re.findall(r"\w+", text[max(0, at - 30):at])
    return words[-1].lower() if words else ""


def _loosened(analysis: QuestionAnalysis) -> QuestionAnalysis:
    """The analysis with the labels the small model confuses: any name label for a name, numbers for a date."""
    labels = analysis.expected_labels
    if labels & NAME_LABELS:
        labels = labels | NAME_LABELS
    if analysis.answer_type == DATE:
        labels = labels | {"CARDINAL"}
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
