"""A detail finer than what a candidate gives: the time of day, the day, a count of people.

A question can ask for a finer detail than a loosely related sentence holds, and the candidate of the right label
is then no answer:

- "At what time did the talks begin?" (or "what time of day", "at what hour") asks for a time of day (a clock time,
  "noon", "in the morning"): a year or a date ("since 2012", "on Monday") is none; a bare "What time did …?" often
  means "when" and is left alone;
- "On what day …?", or "what date" when the question gives the year or month, asks for a day (a day of the month, a
  weekday, "yesterday"): "in August 2015" or "2010" is none;
- "How many people were surveyed?" asks for a count: a percentage ("25% of French people") is a share, not a count,
  unless the question counts percentages or points.

``coarse`` tells ``qa.answerability`` which candidates are too coarse; ``finer_than_dated`` tells it that a sentence
pinned to a date (or the article's dateline) does not answer either, so the question is refused rather than
answered with the dated sentence: a time of day, or a day when the question already gives its month ("On what day
in August 2015 …?").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa import lexical

if TYPE_CHECKING:
    from qa.analysis import Entity, QuestionAnalysis

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|" \
         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
# 'At what time …?', 'What time of day …?', 'At what hour …?'; a bare 'What time did a river system develop?' is 'when'
_TIME_ASKED = re.compile(r"\bat\s+(?:what|which)\s+(?:time|hour)\b"
                         r"|\b(?:what|which)\s+(?:time\s+of\s+(?:the\s+)?day|hour)\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\b\d{1,2}:\d{2}\b|o[’']clock|\b(?:morning|"
                    r"afternoon|evening|night|noon|midday|midnight|dawn|dusk|sunrise|sunset|nightfall|daybreak)\b",
                    re.IGNORECASE)
_DAY_ASKED = re.compile(r"\b(?:what|which)\s+(?:day|date)\b(?!\s+of\s+the\s+week)", re.IGNORECASE)
_DAY = re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?!\w)|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
                  r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(?:today|yesterday|tomorrow|eve)\b"
                  r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b", re.IGNORECASE)
_GIVEN_MONTH = re.compile(rf"\b(?:in|of|during)\s+(?:early\s+|late\s+|mid-?)?{_MONTH}(?!\w)", re.IGNORECASE)
_DAY_WORD = re.compile(r"\b(?:what|which)\s+day\b", re.IGNORECASE)
_GIVEN_YEAR = re.compile(r"\b(?:in|of|during)\s+(?:1[0-9]{3}|20[0-9]{2})\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d\s*(?:%|per\s*cent\b|percent\b)", re.IGNORECASE)
_SHARE_NOUNS = frozenset("percent percentage percentages share shares proportion point points cent".split())
_HOW_MANY = re.compile(r"\bhow\s+many\s+(?P<noun>[a-z]+)", re.IGNORECASE)


def coarse(analysis: QuestionAnalysis, candidate: Entity) -> bool:
    """Whether ``candidate`` is coarser than the detail the question asks for: no time of day for 'what time', no
    day for 'what day/date', a percentage for 'how many N' (N not a share)."""
    question, text = analysis.question, candidate.text
    if _TIME_ASKED.search(question):
        return not _CLOCK.search(text)
    if _DAY_ASKED.search(question) and (_DAY_WORD.search(question) or _GIVEN_MONTH.search(question)
                                        or _GIVEN_YEAR.search(question)):
        return not _DAY.search(text)  # 'what date' alone may be answered by a year ('met in 2012')
    counted = _HOW_MANY.search(question)
    return bool(counted and lexical.fold(counted.group("noun")) not in _SHARE_NOUNS and _PERCENT.search(text))


def finer_than_dated(analysis: QuestionAnalysis) -> bool:
    """Whether a sentence pinned to a date does not answer the question by its date: it asks for the time of day, or
    for the day of a month it gives ('On what day in August 2015 …?')."""
    question = analysis.question
    return bool(_TIME_ASKED.search(question) or (_DAY_ASKED.search(question) and _GIVEN_MONTH.search(question)))
