"""Measures: does a sentence give a measure of the dimension a "how wide / how long" question asks for?

"How wide is the Rhine?" asks for a length and "How long did the Ice Ages last?" for a span of time: a sentence
answers them only with a number and a unit of that dimension ("up to 40 km wide", "lasted three centuries"). A
sentence whose only numbers count something else ("three bodies of water" for "How long is Lake Constance?"),
give a date ("September 1944" for "How long is the bridge?") or place a point in time ("11,600 years ago" for "How
long did the Ice Ages last?", "from 22,000 years ago" for "How many years did it take?") gives no such measure, so
it answers nothing (``qa.relations.mismatch`` says so). The dimensions are read from the question's words alone:

- "how wide / high / tall / deep / far": a length ("4,274 m", "760 mi", "a mile", "two kilometres"), not one the
  sentence says is of another dimension ("30 km downstream" for "how wide", "a 400 m wide river" for "how long");
- "how long is X": a length or a span of time; "how long did/has/does ... (last, take)": a span of time;
- "how many years / days / centuries ...": a span of time, not a point ("ago", "BP", "before present"), or a range
  of years ("from 1421 to 1904").

"How many N" asks for a count of N: a sentence with no count at all ("many quaint villages", "the upland areas",
only a year like "since 1932") answers nothing, nor one that never says N and counts only other things ("eight
legions in five bases" for "How many wars did the Romans have?"). Not asked of "how long ago" (a date), nor of "how
big/large/old/much" (an area, a count or a founding date all answer them).
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.ties import parse

__all__ = ["COUNT", "LENGTH", "TIME", "asked_dimension", "counted", "unmeasured"]

LENGTH = "length"
TIME = "span of time"
COUNT = "count"

_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion dozen dozens half a an several few many some couple")
_NUMBER = (r"(?:\d[\d,.]*(?:\s*[–-]\s*\d[\d,.]*)?|(?:" + "|".join(_NUMBER_WORDS.split()) + r"))"
           r"(?:[\s-]+(?:hundred|thousand|million|billion|and a half|or so|of))*")
_LENGTH_UNITS = (r"(?:k?m|cm|mm|mi|ft|yd|nmi|(?:kilo|centi|milli)?met(?:re|er)s?|miles?|feet|foot|inch(?:es)?"
                 r"|yards?|leagues?|light[\s-]years?)")
_TIME_UNITS = r"(?:years?|yrs?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|millenni(?:a|um))"
_LENGTH = re.compile(rf"(?<![\w.]){_NUMBER}[\s-]*{_LENGTH_UNITS}(?![\w²³])", re.IGNORECASE)
_SPAN = re.compile(rf"(?<![\w.]){_NUMBER}[\s-]*{_TIME_UNITS}\b(?!\s*(?:ago|old|BP|before\s+present|B\.?C))",
                   re.IGNORECASE)
# A span said without a number: 'for centuries', 'over many decades', 'for generations' (not 'since 2012')
_BARE_SPAN = re.compile(r"\b(?:for|over|across|through(?:out)?)\s+(?:(?:several|many|long|countless)\s+)?"
                        r"(?:centuries|decades|years|months|weeks|generations|ages|millennia)\b", re.IGNORECASE)
_YEAR = r"(?:\d{3,4}|\d{1,2}(?:st|nd|rd|th)\s+century)(?:\s*(?:BC|AD|BCE|CE))?"
_RANGE = re.compile(rf"\b(?:from|between)\s+(?:about\s+|around\s+)?{_YEAR}\s+(?:to|until|till|and)\s+{_YEAR}"
                    rf"|(?<![\w.])\d{{3,4}}\s*[–-]\s*\d{{2,4}}(?![\w.])", re.IGNORECASE)
_ASKED = re.compile(r"\bhow\s+(wide|high|tall|deep|far|long)\b(?!\s+ago\b)(?P<rest>.*)", re.IGNORECASE)
_SPAN_ASKED = re.compile(r"\bhow\s+many\s+(years|months|weeks|days|hours|minutes|decades|centuries)\b"
                         r"(?!\s+ago\b|\s+(?:old|later|earlier|before|after)\b)", re.IGNORECASE)
_DOING = re.compile(r"^\s*(?:did|does|do|has|have|had|will|would|can|could)\b", re.IGNORECASE)
_DIMENSION_NAMES = {LENGTH: "length", TIME: "span of time"}
# the word after a length that says what it measures ('40 km wide', '30 km downstream of', '4,274 m (14,022 ft)
# summit'), conversions in brackets passed over: a length of another dimension does not answer 'how wide'
_NEXT_WORD = re.compile(r"(?:\s*\([^)]{0,40}\))?[\s,-]*([A-Za-z]+)")
_AFTER = {
    **{w: "width" for w in ("wide", "width", "broad", "across")},
    **{w: "height" for w in ("high", "tall", "height", "elevation", "altitude", "summit", "peak")},
    **{w: "depth" for w in ("deep", "depth")},
    **{w: "length" for w in ("long", "length")},
    **{w: "distance" for w in ("downstream", "upstream", "away", "off", "north", "south", "east", "west",
                                "northeast", "northwest", "southeast", "southwest", "far")},
}
_HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_COUNT_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen "
    "nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands million "
    "millions billion billions dozen dozens half both single".split())
_A_YEAR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})s?$")


@lru_cache(maxsize=4096)
def asked_dimension(question: str) -> frozenset[str]:
    """The dimensions a question's answer must measure (:data:`LENGTH`, :data:`TIME`), empty when it asks for no
    measure this module checks. 'How long is the Rhine?' -> length or time; 'How long did it last?' -> time."""
    m = _ASKED.search(question)
    if m is not None:
        adjective = m.group(1).lower()
        if adjective != "long":
            return frozenset({LENGTH})
        return frozenset({TIME}) if _DOING.match(m.group("rest")) else frozenset({LENGTH, TIME})
    return frozenset({TIME}) if _SPAN_ASKED.search(question) else frozenset()


@lru_cache(maxsize=8192)
def unmeasured(question: str, sentence: str) -> tuple[str, str] | None:
    """When the question asks for a measure (:func:`asked_dimension`) and the sentence gives none of that
    dimension: (what the question asks, e.g. 'how wide', and what the sentence gives instead, e.g. 'no length');
    for 'how many N', :func:`counted`'s; else None.

    A length is a number with a unit of length; a span of time a number with a unit of time that does not place a
    point ('11,600 years ago', '~3000 yr BP' do not), a range of years ('from 1421 to 1904', '1038–40'), or a
    plural unit after 'for'/'over' ('for centuries'; 'since 2012' is a point)."""
    dims = asked_dimension(question)
    if not dims:
        return counted(question, sentence)
    m = _ASKED.search(question) or _SPAN_ASKED.search(question)
    asked = " ".join(question[m.start():m.end(1)].split()).lower() if m is not None else "how much"
    if TIME in dims and (_SPAN.search(sentence) or _RANGE.search(sentence) or _BARE_SPAN.search(sentence)):
        return None
    if LENGTH in dims and (lengths := [x for x in _LENGTH.finditer(sentence)
                                       if not sentence[:x.start()].rstrip().endswith("(")]):  # not a conversion
        said = [_AFTER.get(w.group(1).lower()) if (w := _NEXT_WORD.match(sentence, x.end())) else None
                for x in lengths]
        want = _AFTER[asked.split()[-1]]
        if None in said or want in said:
            return None
        return asked, f"a {said[0]}, no {want}"  # '30 km downstream' for 'how wide', '4,274 m (…) summit'
    return asked, "no " + " or ".join(_DIMENSION_NAMES[d] for d in sorted(dims))


def _counted_noun(question: str) -> tuple[str, str] | None:
    """The noun 'how many' counts, as written and as its lemma ('How many bodies of water ...' -> 'bodies',
    'body'), or None."""
    if _HOW_MANY.search(question) is None:
        return None
    for t in parse(question):
        if t.lower_ == "many" and t.i > 0 and t.doc[t.i - 1].lower_ == "how" and t.head.pos_ == "NOUN":
            return t.head.lower_, t.head.lemma_.lower()
    return None


def _is_count(token: object) -> bool:
    """A word or figure that counts ('three', '40', '1,050,000'), not a year ('1932', '1990s')."""
    text = str(token).lower()
    if text in _COUNT_WORDS:
        return True
    return text[:1].isdigit() and not _A_YEAR.match(text) and not text.endswith(("st", "nd", "rd", "th"))


@lru_cache(maxsize=8192)
def counted(question: str, sentence: str) -> tuple[str, str] | None:
    """For 'how many N': ('how many N', 'count') when the sentence gives no count of N: it has no count at all
    (a year is none: 'since 1932'), or it never says N and each of its counts counts another noun ('eight legions
    in five bases' for 'How many wars ...?'); else None."""
    counted_noun = _counted_noun(question)
    if counted_noun is None:
        return None
    written, noun = counted_noun
    doc = parse(sentence)
    counts = [t for t in doc if _is_count(t)]
    asked = f"how many {written}"
    if not counts:
        return asked, f"no {COUNT}"
    if any(t.lemma_.lower() == noun or t.lower_.endswith(written) for t in doc):
        return None  # said, or glued to a word before it ('30 NATOallies')
    heads = [t.head for t in counts if t.dep_ == "nummod"]
    if len(heads) == len(counts) and all(h.pos_ == "NOUN" and h.lemma_.lower() != noun for h in heads):
        return asked, f"a {COUNT} of {heads[0].text} instead"
    return None
