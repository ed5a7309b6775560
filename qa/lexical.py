"""Lexical evidence shared by the extractive generator, the support check and the follow-up rewrite.

Pure functions over strings: content words, numbers, dates and proper names. No models here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can could did didn't do does doesn't doing don't down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is isn't it its
    itself just let me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that that's the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves said say says according did do does done make made
    many much one two tell told us s t""".split()
)

QUESTION_WORDS = frozenset("what when where which who whom whose why how".split())

MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()

_WORD = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'’\-]*|\d+(?:[.,]\d+)*%?")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:%|st|nd|rd|th)?(?![\w])")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "forty": "40", "fifty": "50",
    "hundred": "100", "thousand": "1000", "million": "1000000",
}  # fmt: skip
_MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r")\.?\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_CAP_SEQ = re.compile(
    r"(?<![\w’'])((?:[A-Z][\w\u00C0-\u024F’'\-]*\.?)(?:\s+(?:of|de|al-|the|von|van|la|le)?\s*[A-Z][\w\u00C0-\u024F’'\-]*)*)"
)


def fold(text: str) -> str:
    """Lower-case, strip accents, straighten quotes: 'François’s' → "francois's"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').lower()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """A light English stemmer: enough to match 'sanctions'/'sanction', 'visited'/'visit'."""
    w = word
    for suffix, min_len in (("ies", 5), ("ing", 6), ("ed", 5), ("es", 5), ("s", 4), ("'s", 3)):
        if w.endswith(suffix) and len(w) >= min_len:
            w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return w


def words(text: str) -> list[str]:
    """All word tokens, folded."""
    return [m.group(0).strip("'’-") for m in _WORD.finditer(fold(text))]


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stopwords and question words removed), in order, duplicates kept."""
    return [stem(w) for w in words(text) if w and w not in STOPWORDS and w not in QUESTION_WORDS and len(w) > 1]


def numbers(text: str) -> set[str]:
    """Numbers stated in the text, normalised ('1,000' → '1000', 'forty' → '40', '26th' → '26')."""
    found = set()
    for m in _NUMBER.finditer(text):
        raw = re.sub(r"(st|nd|rd|th)$", "", m.group(0)).rstrip("%").replace(",", "")
        found.add(raw)
    for w in words(text):
        if w in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[w])
    return found


def has_date(text: str) -> bool:
    """True when the text states a month, a year or a weekday."""
    return bool(
        _MONTH_RE.search(text)
        or _YEAR_RE.search(text)
        or re.search(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", text, re.IGNORECASE)
    )


# Words after which a date bounds a period instead of placing an event: "for the first time since 2012".
_BOUNDING_WORDS = frozenset("since until till before after by".split())
_DATE_FILLERS = frozenset("the of early mid late end beginning start".split())
_MODAL_MONTHS = frozenset({"may", "march"})  # also verbs: a month only next to a number ("May 29", "29 March")
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_CLOCK_WORDS = frozenset("am pm gmt utc cet msk est edt bst".split())


def pins_date(text: str) -> bool:
    """True when the text places something at a month or a year, not only bounds a period by one.

    'met on May 29, 2017' and 'in August 1891' pin a date; 'for the first time since 2012' and 'on Monday'
    do not (the first bounds a period, the second needs a calendar to place it).
    """
    for m in [*_MONTH_RE.finditer(text), *_YEAR_RE.finditer(text)]:
        word = fold(m.group(1))
        if word in _MODAL_MONTHS and not (
            re.match(r"\.?\s+\d", text[m.end() :]) or re.search(r"\d(?:st|nd|rd|th)?\s+$", text[: m.start()])
        ):
            continue
        before = [w for w in words(text[max(0, m.start() - 40) : m.start()]) if not w.isdigit()]
        while before and (before[-1] in _DATE_FILLERS or before[-1] in MONTHS):
            before.pop()
        if not before or before[-1] not in _BOUNDING_WORDS:
            return True
    return False


def is_date_only(text: str) -> bool:
    """True when the text states a date and nothing else: '9 Sep, 2019 09:12', 'November 23, 2015'."""
    tokens = [t for t in words(text) if t]
    return bool(tokens) and pins_date(text) and all(
        t.isdigit() or t in MONTHS or t in _WEEKDAYS or t in _CLOCK_WORDS or t in ("on", "at") for t in tokens
    )


def has_number(text: str) -> bool:
    return bool(numbers(text))


def proper_names(text: str) -> set[str]:
    """Capitalised word sequences that are not merely sentence-initial function words, folded.

    'French President François Hollande met Putin.' → {'french president francois hollande', 'putin'}.
    Single capitalised words at a sentence start are kept only if they are not stopwords.
    """
    names = set()
    for m in _CAP_SEQ.finditer(text):
        name = m.group(1).strip().rstrip(".")
        parts = [p for p in name.split() if fold(p) not in STOPWORDS]
        if not parts:
            continue
        folded = fold(" ".join(parts))
        if folded in QUESTION_WORDS or len(folded) < 2:
            continue
        names.add(folded)
    return names


def name_tokens(text: str) -> set[str]:
    """Individual folded words of the proper names in the text, minus months and weekdays."""
    out = set()
    for name in proper_names(text):
        for tok in re.findall(r"[a-z0-9]+", name):
            if tok not in MONTHS and tok not in STOPWORDS and not tok.isdigit() and len(tok) > 1:
                out.add(stem(tok))
    return out


def plain_tokens(text: str) -> set[str]:
    """Stemmed alphanumeric runs of the folded text: 'then-President' → {'then', 'president'}, 'G7' → {'g7'}."""
    return {stem(t) for t in re.findall(r"[a-z0-9]+", fold(text))}


def question_type(question: str) -> str:
    """Coarse expected answer type: 'date', 'number', 'person', 'place', 'reason' or 'other'."""
    q = fold(question)
    if re.search(r"\b(when|what year|which year|what date|what day|which day|what month)\b", q):
        return "date"
    if re.search(r"\b(how many|how much|what percentage|what share|what number|what proportion)\b", q):
        return "number"
    if re.search(r"\b(who|whom|whose)\b", q):
        return "person"
    if re.search(r"\b(where|which city|which country|what city|what country)\b", q):
        return "place"
    if re.search(r"\b(why|for what reason|how come)\b", q):
        return "reason"
    return "other"
