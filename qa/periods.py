"""The periods a text dates things by, as spans of years, and whether a text's periods contradict a question's.

A period is a year ('in 1072'), a span of years ('from 1421 to 1904', '1939-45'), a decade or a century written
with digits ('the 1990s', 'the 1100s') or an ordinal century ('the 11th century', 'the 11–13th century AD').
Centuries BC and dates before Present are not periods here: they are not compared with years AD.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_YEAR = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})(?!\d|,\d)")
_YEAR_RANGE = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})\s*(?:[–-]|to)\s*(1[0-9]{3}|20[0-9]{2}|[0-9]{2})(?!\d|,\d)")
_HUNDREDS = re.compile(r"(?<![\d,.])(1[0-9]{3}|20[0-9]{2})s\b")  # 'the 1100s' (a century), 'the 1990s' (a decade)
_CENTURY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s*[–-]\s*(\d{1,2}))?(?:st|nd|rd|th)\s+[Cc]entur(?:y|ies)"
                      r"(?!\s+B\.?C)")


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
    return out


def contradicts(asked: Iterable[str], text: str) -> bool:
    """Whether the text dates things only by periods that do not meet any of the periods of ``asked`` (the question's
    dates): 'in the 10th century' asked, '... in 1072' said. False when either side gives no period."""
    wanted = [p for a in asked for p in periods(a)]
    said = periods(text) if wanted else []
    return bool(said) and not any(lo <= hi2 and lo2 <= hi for lo, hi in wanted for lo2, hi2 in said)
