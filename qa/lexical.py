"""Lexical evidence shared by the extractive generator, the support check and the follow-up rewrite.

Pure functions over strings: content words, numbers, dates and proper names. No models here (the demonym rule
reads WordNet's pertainyms, a small file shipped in qa/data).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from qa import wordnet

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


@lru_cache(maxsize=50_000)  # the answer path folds the same sentences over and over (a pure function of its text)
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


# --- demonyms: an adjectival form counts as the place it derives from ("French" as France) ---------------------

_VOWELS = frozenset("aeiouy")
# Endings of adjectival and demonym forms ("Russian", "Chinese", "Spanish", "French", "Israeli"); only a word with
# one of them is read as the form of another name, never the other way round.
_ADJECTIVAL = ("ians", "ian", "ans", "an", "ese", "ish", "ch", "i")
# Endings of place names that their adjectival form drops ("England" -> "English", "Britain" -> "British"). Tried
# only when the shortened name keeps a stem of three consonants, so "Poland" or "Ireland" stay whole.
_PLACE_ENDINGS = ("land", "ain")
# "Afghanistan" -> "Afghan", "Kazakhstan" -> "Kazakh": the adjectival form is the name without this ending.
_STAN = ("istan", "stan")


def _skeleton(word: str) -> str:
    """The word's consonants after its first letter, lower case: France "frnc", French "frnch", Russia "rss"."""
    w = word.lower()
    return w[:1] + "".join(ch for ch in w[1:] if ch.isalpha() and ch not in _VOWELS)


def _stems(name: str) -> list[str]:
    """The consonant stems a name's adjectival form may start with: its own, and its own less an ending the
    adjective drops ("England": "englnd", "eng")."""
    out = [_skeleton(name)]
    low = name.lower()
    for end in _PLACE_ENDINGS:
        if low.endswith(end) and len(short := _skeleton(name[: -len(end)])) >= 3:
            out.append(short)
    return out


def adjectival_base(word: str, names: Sequence[str]) -> str | None:
    """The name of ``names`` that ``word`` is the adjectival or demonym form of, or None.

    A deterministic rule on the shared stem, not a list: ``word`` ends like an adjective ("-an", "-ese", "-ish",
    "-ch", "-i") and the consonants of a name (at least three) begin its own: French -> France, Chinese -> China,
    Spanish -> Spain, Parisian -> Paris, European -> Europe. A name may first lose an ending its adjective drops
    ("-land", "-ain": English -> England, Scottish -> Scotland, British -> Britain), and a "-stan" name's adjective is
    the name without it (Afghan -> Afghanistan, Kazakh -> Kazakhstan). The longest such name wins; a word is never
    its own base.

    What no such rule reaches (forms on another stem: Dutch/Netherlands, Swiss/Switzerland, Danish/Denmark,
    Welsh/Wales; endings outside the list: Greek/Greece, Thai/Thailand; stems under three consonants: Irish/Ireland,
    Polish/Poland) WordNet's pertainyms give (``qa.wordnet.places``): a name the word pertains to there is its
    base first. And when WordNet knows the word's place and the rule leads there too, the rule's other names are
    passed over: Persian is Persia's, not Paris's.
    """
    known = wordnet.places(word)
    listed = [n for n in names if n.lower() != word.lower() and fold(n) in known]
    if listed:
        return max(listed, key=len)
    best = _rule_base(word, names)
    if best is not None and known and fold(best) not in known and _rule_base(word, sorted(known)) is not None:
        return None
    return best


def _rule_base(word: str, names: Sequence[str]) -> str | None:
    """``adjectival_base`` by the consonant rule alone."""
    low = word.lower()
    best: str | None = None
    best_len = -1
    for name in names:
        if name.lower() == low:
            continue
        if any(name.lower() == low + end for end in _STAN) and len(_skeleton(word)) >= 3:
            base_len = len(_skeleton(word))
        elif low.endswith(_ADJECTIVAL):
            sk = _skeleton(word)
            fits = [len(b) for b in _stems(name) if 3 <= len(b) <= len(sk) and sk.startswith(b)]
            if not fits:
                continue
            base_len = max(fits)
        else:
            continue
        if base_len > best_len:
            best, best_len = name, base_len
    return best


def same_place(a: str, b: str) -> bool:
    """Whether one word is the other's adjectival or demonym form ('french'/'france', 'chinese'/'china'), by
    ``adjectival_base``; case does not matter."""
    return adjectival_base(a, [b]) is not None or adjectival_base(b, [a]) is not None
