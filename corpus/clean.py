"""Boilerplate removal: drop whole lines that are page furniture, never rewrite the words of a kept line.

Web pages saved as text carry navigation, share buttons, ad-blocker notices, cross-links to other
stories and "related content" lists. Left in, they end up in chunks and can be quoted as if they were the
article. The rules here are patterns (not per-file fixes) and deliberately conservative: a line is removed
only when it matches a known kind of furniture, so a normal article passes through unchanged apart from
whitespace normalisation (line endings to ``\\n``, trailing spaces stripped, runs of blank lines
collapsed to one, leading and trailing blank lines removed).
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_FLAGS = re.IGNORECASE

# Whole lines that are page furniture (matched against the stripped line).
_FURNITURE = [
    re.compile(p, _FLAGS)
    for p in (
        r"ad ?-?block(?:er)? detected!?",
        r"please (?:consider )?(?:supporting us by )?(?:disabling|turning off|disable|turn off) your ad ?-?blocker.*",
        r"(?:show|read|load|see|view) (?:more|less)\W*",
        r"(?:related|recommended|more|popular|trending|latest) (?:articles|posts|stories|news|content|reads)\W*",
        r"you (?:may|might) also (?:like|be interested in)\W*",
        r"back to top(?: button)?\W*",
        r"(?:like this (?:story|article)\? )?share (?:it|this(?: (?:story|article|post))?) with (?:a|your) friends?!?",
        r"share (?:this(?: (?:story|article|post|page))?|on (?:facebook|twitter|x|whatsapp|linkedin|email))\W*",
        r"(?:subscribe|sign up) (?:to|for) our newsletter\W*",
        r"(?:advertisement|sponsored content|skip to (?:main )?content)\W*",
    )
]
# All of them in one pattern: one regex call per line instead of ten (many-line files clean in linear time anyway,
# but a 5 MB file of one-word lines has 2.5 million lines).
_ANY_FURNITURE = re.compile("|".join(f"(?:{p.pattern})" for p in _FURNITURE), _FLAGS)
# Navigation: "View All Reports View All Articles & Multimedia" (case-sensitive: every word capitalised).
_VIEW_ALL = re.compile(r"View All(?: (?:[A-Z][\w-]*|&))+")
# Cross-links to other stories: a label, then a headline. Only short lines, so prose is never touched.
_CROSS_LINK = re.compile(
    r"(?:(?:also (?:read|see)|read (?:also|more)|see also|recommended|related(?: articles?| stories| reading)?"
    r"|more on this(?: story| topic)?)\s*:|also on [\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\s)\s*\S.*",
    _FLAGS,
)
_CROSS_LINK_MAX_WORDS = 30
# A run of icon-font names scraped from an SVG sprite: "icon bookmark-bicon bookmarkicon camera…".
_ICON = re.compile(r"icon", _FLAGS)
_ICON_MIN = 5
_TIMESTAMP = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_MEDIA_LABEL = re.compile(r"(?:podcasts?|listen(?: now)?|audio|video|episodes?|play)\W*", _FLAGS)
_BULLET = re.compile(r"\s*[•·▪‣◦●○■□*+-]\s+(.*)")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_ONLY = re.compile(
    rf"(?:{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTHS},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
    r"(?:,?\s+\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)?",
    _FLAGS,
)


def clean_text(raw: str) -> str:
    """Remove web boilerplate from an article's text; the result is the text citeqa stores and cites.

    Only whole lines (or blocks of lines) are dropped; the words of kept lines are never changed.

    Removed: icon-name runs, ad-blocker notices, "Show More" / "Related Articles" / "Back to top" /
    share prompts, cross-links ("Also read: …", "Also on rt.com …", "Recommended: …"), podcast or video
    players reduced to timestamps, a trailing list of links to other reports (bulleted cards with dates,
    "By …" lines and "View All …"), and a headline repeated on consecutive lines.

    Args:
        raw: the article's text as read (any line endings).

    Returns:
        The cleaned text: ``\\n`` line endings, no trailing spaces, at most one blank line in a row,
        no leading or trailing blank lines. Idempotent: ``clean_text(clean_text(t)) == clean_text(t)``.

    Example:
        >>> clean_text("Title\\r\\n\\r\\n\\r\\nBody text.  \\nShow More\\n")
        'Title\\n\\nBody text.'
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = _drop_furniture(lines)
    lines = _drop_media_blocks(lines)
    lines = _drop_link_list_tail(lines)
    lines = _drop_repeated_lines(lines)
    return _join(lines)


def _join(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


def is_furniture(line: str) -> bool:
    """Whether one line (on its own) is page furniture that :func:`clean_text` removes."""
    stripped = line.strip()
    if not stripped:
        return False
    if _ANY_FURNITURE.fullmatch(stripped) or _VIEW_ALL.fullmatch(stripped):
        return True
    if _CROSS_LINK.fullmatch(stripped) and len(stripped.split()) <= _CROSS_LINK_MAX_WORDS:
        return True
    icons = len(_ICON.findall(stripped))
    # Icon names come densely packed and without punctuation; prose mentioning icons has both.
    return icons >= _ICON_MIN and 3 * icons >= len(stripped.split()) and not re.search(r"[.!?,;:]", stripped)


def _drop_furniture(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        if is_furniture(line):
            logger.debug("clean: dropped furniture line %r", line[:80])
            continue
        kept.append(line)
    return kept


def _drop_media_blocks(lines: list[str]) -> list[str]:
    """Drop runs of two or more timestamp-only lines, with a media label ("Podcasts") just before them."""
    drop: set[int] = set()
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and (_TIMESTAMP.fullmatch(lines[j].strip()) or (j > i and not lines[j].strip())):
            j += 1
        stamps = sum(1 for k in range(i, j) if lines[k].strip())
        if stamps >= 2:
            drop.update(range(i, j))
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            if k >= 0 and _MEDIA_LABEL.fullmatch(lines[k].strip()):
                drop.update(range(k, i))
            i = j
        else:
            i += 1
    return [line for n, line in enumerate(lines) if n not in drop]


def _is_date_bullet(line: str) -> bool:
    match = _BULLET.fullmatch(line)
    return match is not None and _DATE_ONLY.fullmatch(match.group(1).strip()) is not None


def _drop_link_list_tail(lines: list[str]) -> list[str]:
    """Drop a trailing list of links to other reports: bulleted cards (category, date) with indented
    headline, teaser and "By …" lines. Body text is flush left, so the list starts after the last
    flush-left, non-bullet line; it is removed only when it holds at least two dated cards."""
    start = len(lines)
    for n in range(len(lines) - 1, -1, -1):
        line = lines[n]
        if not line or line[0].isspace() or _BULLET.match(line) or line.startswith("By "):
            start = n
            continue
        break
    while start < len(lines) and not _BULLET.match(lines[start]):
        start += 1  # the list begins with a bullet; keep anything indented before it
    tail = lines[start:]
    if sum(1 for line in tail if _is_date_bullet(line)) >= 2:
        logger.debug("clean: dropped a trailing list of %d link lines", len(tail))
        return lines[:start]
    return lines


def _drop_repeated_lines(lines: list[str]) -> list[str]:
    """Drop a line of two or more words that repeats the previous non-blank line (a duplicated headline)."""
    kept: list[str] = []
    previous = ""
    for line in lines:
        stripped = line.strip()
        if stripped and stripped == previous and len(stripped.split()) >= 2:
            logger.debug("clean: dropped repeated line %r", stripped[:80])
            continue
        if stripped:
            previous = stripped
        kept.append(line)
    return kept
