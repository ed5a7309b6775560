"""The periods a text dates things by, as spans of years, and whether a text's periods contradict a question's.

A period is a year ('in 1072'), a span of years ('from 1421 to 1904', '1939-45'), a decade or a century written
with digits ('the 1990s', 'the 1100s', "the 1000's") or an ordinal century ('the 11th century', 'the 11–13th century
AD', each of 'the 10th and 11th centuries', and 'between the 10th and 13th centuries' as one span).
Centuries BC and dates before Present are not periods here: they are not compared with years AD.

An ordinal century's bounds are counted both ways (the 11th century is 1000-1099 or 1001-1100), so two periods of
many years that share only one year at a bound do not meet: 'the 1100s' (the 12th century) is not 'the 11th
century'. A single year at the bound does meet it ('in 1100' and 'the 11th century').
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_YEAR = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?!\d|,\d|['’]?s\b)")  # not the 1990 of 'the 1990s'
_YEAR_RANGE = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})\s*(?:[–-]|to)\s*(1[0-9]{3}|20[0-9]{2}|[0-9]{2})(?!\d|,\d)")
_HUNDREDS = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})['’]?s\b")  # 'the 1100s' (a century), "the 1990's" (a decade)
_CENTURY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s*[–-]\s*(\d{1,2}))?(?:st|nd|rd|th)\s+[Cc]entur(?:y|ies)"
                      r"(?!\s+B\.?C)")
# 'the 10th and 11th centuries', 'the 10th, 11th and 12th centuries', 'between the 10th and 13th centuries'
_CENTURIES = re.compile(r"\b(between\s+(?:the\s+)?)?((?:\d{1,2}(?:st|nd|rd|th)\s*,\s*)*\d{1,2}(?:st|nd|rd|th))\s+"
                        r"(and|or|to)\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\s+[Cc]enturies(?!\s+B\.?C)")


def periods(text: str) -> list[tuple[int, int]]:
    """The spans of years (first, last) the text dates things by, in the order found by kind.

    Example::

        periods("William invaded Scotland in 1072.")  # [(1072, 1072)]
        periods("in the 10th century")  # [(900, 1000)]: a century's bounds are counted both ways
    """
    out = [(int(m.group(1)), int(m.group(1))) for m in _YEAR.finditer(text)]
    for m in _YEAR_RANGE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        out.append((lo, hi if hi >= 100 else lo // 100 * 100 + hi))
    for m in _HUNDREDS.finditer(text):
        y = int(m.group(1))
        out.append((y, y + (99 if y % 100 == 0 else 9)))
    for m in _CENTURY.finditer(text):
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        out.append(((first - 1) * 100, last * 100))
    for m in _CENTURIES.finditer(text):  # the last one of the list is a match of _CENTURY already
        listed = [int(n) for n in re.findall(r"\d{1,2}", m.group(2))]
        if m.group(1) or m.group(3) == "to":  # 'between the 10th and 13th centuries': one span
            out.append(((listed[0] - 1) * 100, int(m.group(4)) * 100))
        else:
            out += [((n - 1) * 100, n * 100) for n in listed]
    return out


def meet(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two periods share a year, not counting a single shared year at the bound of two periods of many
    years (an ordinal century's bounds are counted both ways: 'the 1100s' does not meet 'the 11th century')."""
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return lo < hi or (lo == hi and (a[0] == a[1] or b[0] == b[1]))


def contradicts(asked: Iterable[str], text: str, *, each: Iterable[str] = ()) -> bool:
    """Whether the text dates things only by periods that do not meet (:func:`meet`) any of the periods of
    ``asked`` (the question's dates): 'in the 10th century' asked, '... in 1072' said; or, for dates the question
    joins ('in the 1000s and 1100s', given in ``each``), one of them meets none of the text's periods. False when
    the text gives no period, or the question none."""
    wanted = [p for a in asked for p in periods(a)]
    every = [p for a in each for p in periods(a)]
    said = periods(text) if wanted or every else []
    if not said:
        return False
    return (bool(wanted) and not any(meet(w, s) for w in wanted for s in said)) or any(
        not any(meet(w, s) for s in said) for w in every)
