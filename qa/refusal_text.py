"""What a refusal says the articles leave out, in words: "the name of the puppy", "which person (Russian
ambassador)", "the date asked for (…): what they say does not mention 2019"."""

from __future__ import annotations

from collections.abc import Sequence

from qa.analysis import QuestionAnalysis
from qa.answer_types import DATE, NUMBER, ORGANISATION, PERSON, PLACE
from qa.ties import asks_name_of


def missing(analysis: QuestionAnalysis, *, unmet: Sequence[str] = ()) -> str:
    """What the articles don't say, in words: 'the name of the puppy', 'the date asked for (…)', 'which person
    (…)'; with ``unmet``, the constraints the closest sentences leave out: '…: what they say does not mention
    2019'."""
    focus = analysis.focus.text if analysis.focus is not None else ""
    if asks_name_of(analysis) and focus:
        what = f"the name of {_with_article(focus)}"
    elif analysis.answer_type == DATE:
        what = f"the date asked for{f' ({focus})' if focus else ''}"
    elif analysis.answer_type == NUMBER:
        what = f"the number asked for{f' ({focus})' if focus else ''}"
    elif analysis.answer_type in (PERSON, ORGANISATION, PLACE):
        kind = {PERSON: "person", ORGANISATION: "organisation", PLACE: "place"}[analysis.answer_type]
        what = f"which {kind}{f' ({focus})' if focus else ''}"
    else:
        what = f"what the question asks{f' about {focus}' if focus else ''}"
    if unmet:
        named = ", ".join(unmet[:-1]) + (" or " if len(unmet) > 1 else "") + unmet[-1]
        what += f": what they say does not mention {named}"
    return what


def _with_article(noun_phrase: str) -> str:
    determined = noun_phrase.lower().startswith(("the ", "a ", "an ", "this ", "that "))
    return noun_phrase if determined else f"the {noun_phrase}"
