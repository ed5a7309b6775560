"""A 'when' question answered by an event instead of a date: 'At the end of World War I, the Rhineland was subject
to the Treaty of Versailles.' answers 'When was Rhineland subject to the Treaty of Versailles?'.

The date recogniser finds no date there, and the cosine of a question and a sentence that adds only the time falls
just below the refusal threshold. The sentence still answers when it restates the question whole (every stemmed
word of the question is in it) and its only new part, opened by a preposition of time, names an event
('World War I', 'the Thirty Years' War'). The answer is that time phrase without its preposition ('the end of World
War I'). It must pass the checks :func:`qa.stated.stated_answer` applies (names, dates and quoted terms met, no
contradicted year, no swap found by ``qa.relations``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa import relations, stated
from qa.analysis import Entity, QuestionAnalysis
from qa.answer_types import DATE
from qa.constraints import contradicts, terms
from qa.evidence import Evidence, Sentence
from qa.ties import parse

__all__ = ["event_answer"]

# a preposition of time, with the part of the event it may name ('at the end of', 'in the aftermath of')
_TIME = re.compile(r"\b(?:during|after|before|following|(?:at|by|towards?|in)\s+the\s+(?:end|start|beginning|"
                   r"outbreak|close|height|aftermath|wake|middle|course)\s+of)\s+$", re.IGNORECASE)
_CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"})
_OPENING = re.compile(r"(?:during|after|before|following|at|by|towards?|in)\s+", re.IGNORECASE)


def event_answer(analysis: QuestionAnalysis, sentence: Sentence, evidence: Evidence,
                 entities: Sequence[Entity] | None = None) -> Entity | None:
    """The time phrase naming an event that answers a 'when' question the sentence restates whole, or None.

    Args:
        analysis: the question's analysis.
        sentence: its best sentence.
        evidence: the articles (the sentence's article's author and outlet meet a name the question gives).
        entities: the sentence's entities (``qa.analysis.sentence_entities``); by default the evidence's.

    Returns:
        An Entity labelled DATE spanning the time phrase ('the end of World War I', 'after the Second World War'),
        when the question asks when, every stemmed word of the question is in the sentence, the event is not one the
        question names, and the sentence passes ``qa.stated``'s checks; else None.
    """
    if (analysis.answer_type != DATE or not analysis.expects_entity or analysis.is_comparison
            or analysis.is_nested or analysis.is_list):
        return None
    text = sentence.text
    asked = _restated(analysis.question, text)
    if asked is None:
        return None
    for e in evidence.entities([sentence])[0] if entities is None else entities:
        if e.label != "EVENT" or terms(e.text) & asked:
            continue
        before = text[:e.start]
        lead = _TIME.search(before)
        if lead is None:
            continue
        opening = _OPENING.match(text, lead.start())
        start = lead.start() if opening is None else opening.end()  # 'the end of World War I', 'World War I'
        if lead.group(0).lower().startswith(("after", "before", "following")):
            start = lead.start()  # 'after the Second World War': the preposition is part of the answer
        answer = Entity(text[start:e.end], start, e.end, DATE)
        if (contradicts(analysis, text) or stated.unmet_in(analysis, sentence, evidence, answer)
                or relations.mismatch(analysis.question, text) is not None
                or relations.answers_nothing(analysis, text)):
            return None
        return answer
    return None


def _restated(question: str, text: str) -> set[str] | None:
    """The stemmed words of the question when the sentence says every content word of it (by stem or by lemma:
    'lost' says 'lose'), else None."""
    have_terms = terms(stated.unglued(text))
    have_lemmas = {w for t in parse(text) for w in (t.lemma_.lower(), t.lower_)}
    words = [t for t in parse(question) if t.pos_ in _CONTENT and not t.is_stop and t.lower_ != "when"]
    if not words:
        return None
    for t in words:
        if t.lemma_.lower() not in have_lemmas and not terms(t.text) <= have_terms:
            return None
    return terms(question)
