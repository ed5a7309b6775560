"""Title, author, outlet and date as the article states them. Nothing is guessed: None when not stated.

Where each field comes from:

* **title**: the first headline-like line at the top of the cleaned text (a short line without final
  sentence punctuation, before the first paragraph of prose; datelines and bylines are skipped). Without
  one, a title derived from the first sentence (:func:`derive_title`): its main clause (a subordinate clause,
  an attribution or a second clause after ``;``/``:``/a dash is dropped), a leading appositive folded into the
  name it describes, a trailing date dropped, and at most :data:`DERIVED_TITLE_MAX_CHARS` characters, cut
  before a phrase or on a word boundary. Deterministic: the same text always gets the same title.
* **author**: a byline at the top (``By Julianne Smith``); else a signature at the very end: a bulleted or dashed
  name (``• Tatiana Stanovaya``) or a byline as the last line, or a name alone above a closing bio that opens with
  it (``Abdul Ruff`` / ``Dr. Abdul Ruff is an independent analyst …``).
* **date**: a dateline at the top (``November 23, 2015``, ``9 Sep, 2019 09:12``, ``2015-11-23``), as ISO
  ``YYYY-MM-DD``. Dates inside sentences are events, not publication dates, and are ignored.
* **outlet**: an explicit statement anywhere in the text, including in furniture that cleaning removes
  (``…the position of Russia Direct or its staff``, ``Also on rt.com …``, ``© 2019 Outlet``,
  ``originally published in Outlet``). Pass the raw text to keep that evidence.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import PurePosixPath

from corpus.clean import clean_text
from corpus.sentences import split_sentences
from corpus.types import ArticleMeta

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 120
DERIVED_TITLE_MAX_CHARS = 90
_HEAD_MAX_PARAGRAPHS = 8
_HEADLINE_MAX_WORDS = 25
_HEADLINE_MAX_CHARS = 200

_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<{g}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_TIME = r"(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s+[A-Z]{2,5}|\s*[+-]\d{2}:?\d{2})?)?"
_DATE = (
    rf"(?:{_MONTH.format(g='m1')}\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{{4}})"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH.format(g='m2')},?\s+(?P<y2>\d{{4}})"
    rf"|(?P<y3>\d{{4}})-(?P<m3>\d{{2}})-(?P<d3>\d{{2}}))"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_LABEL = r"(?:(?:published|updated|posted|last updated|first published)(?:\s+on)?\s*:?\s*)?"
_DATELINE = re.compile(rf"{_LABEL}{_WEEKDAY}{_DATE}{_TIME}", re.IGNORECASE)

# A personal name: capitalised words, initials and the usual particles; "&"/"and" join co-authors.
_NAME_WORD = r"(?:[A-Z][\w'’.-]*|(?:de|del|della|der|van|von|da|du|la|le|bin|ibn|al|el|y|and)\b|&|al-[A-Z][\w'’-]*)"
_NAME = rf"[A-Z][\w'’.-]*(?:\s+{_NAME_WORD}){{0,7}}"
_BYLINE = re.compile(rf"(?i:by|written by|author:|words by)\s+(?P<name>{_NAME})(?:\s*(?:,|\||·|—|–)\s*(?P<rest>.*))?")
_SIGNATURE = re.compile(rf"\s*[•·▪—–-]\s*(?P<name>{_NAME})")

_OUTLET_NAME = r"[A-Z][\w.&'’-]*(?:\s+(?:[A-Z][\w.&'’-]*|of|the|and|&)){0,5}"
_OUTLET_PATTERNS = [
    re.compile(
        rf"(?:position|views?|opinions?|policy) of (?:the )?(?P<o>{_OUTLET_NAME}),? (?:or|and) (?:its|their) "
        r"(?:staff|editors|editorial|management|owners|employees)"
    ),
    re.compile(rf"^[^\S\n]*(?:©|\(c\)|copyright)\s*(?:\d{{4}}(?:\s*[-–]\s*\d{{4}})?\s*)?(?P<o>{_OUTLET_NAME})", re.M),
    re.compile(rf"(?:originally|first) (?:published|appeared) (?:in|on|by) (?:the )?(?P<o>{_OUTLET_NAME})"),
    re.compile(r"^[^\S\n]*Also on (?P<o>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})\s", re.M | re.IGNORECASE),
]
_TRAILING_SMALL_WORDS = re.compile(r"(?:\s+(?:of|the|and|&))+$")


def extract_metadata(text: str, *, doc_id: str) -> tuple[str, ArticleMeta]:
    """Read the title, author, outlet and date that an article states about itself.

    Args:
        text: the article's text, ideally *before* cleaning (some evidence, e.g. ``Also on rt.com``
            cross-links, lives in lines that :func:`corpus.clean.clean_text` removes). Cleaned text works
            too; the title and dateline are always read from the cleaned form.
        doc_id: the article's id, used as the title only when the text has no words at all.

    Returns:
        ``(title, meta)``. Every field of ``meta`` is None unless the text clearly states it.

    Example:
        >>> text = "November 23, 2015\\n\\nA Headline\\n\\nBy Jo Smith\\n\\nBody."
        >>> title, meta = extract_metadata(text, doc_id="a.txt")
        >>> title, meta.author, meta.date
        ('A Headline', 'Jo Smith', '2015-11-23')
    """
    cleaned = clean_text(text)
    head = _head(cleaned)
    first = _first_sentence(cleaned)
    title = _stated_title(head) or (derive_title(first) if first else None) or PurePosixPath(doc_id).stem
    meta = ArticleMeta(
        author=_byline(head) or _signature(cleaned),
        outlet=_outlet(text),
        date=_dateline(head),
    )
    return title, meta


def _head(cleaned: str) -> list[str]:
    """The short one-line paragraphs at the top of the text, before the first paragraph of prose."""
    head: list[str] = []
    for paragraph in re.split(r"\n\s*\n", cleaned)[:_HEAD_MAX_PARAGRAPHS]:
        lines = [line.strip() for line in paragraph.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) > 1 or not _is_headline_like(lines[0]):
            break
        head.append(lines[0])
    return head


def _is_headline_like(line: str) -> bool:
    words = line.split()
    if not words or len(words) > _HEADLINE_MAX_WORDS or len(line) > _HEADLINE_MAX_CHARS:
        return False
    if re.search(r"[.,;:][\"”’)]*$", line) or re.search(r"[a-z]{2}\.[\"”’)]*\s+[A-Z]", line):
        return False  # ends like a sentence, or holds a sentence break ("… 2015. Photo: AP")
    return any(ch.isalnum() for ch in line)


def _stated_title(head: list[str]) -> str | None:
    for line in head:
        line = line.lstrip("#").strip()
        if not line or _DATELINE.fullmatch(line) or _BYLINE.fullmatch(line) or re.fullmatch(r"[=\-_*]+", line):
            continue
        if _SIGNATURE.fullmatch(line) or not any(ch.isalpha() for ch in line):
            continue
        return line
    return None


def _first_sentence(cleaned: str) -> str | None:
    spans = split_sentences(cleaned)
    if not spans:
        return None
    start, end = spans[0]
    sentence = " ".join(cleaned[start:end].split()).lstrip("•·▪#*- ").strip()
    return sentence or None


# "France's new president, Emmanuel Macron, hosted …": a description, then the name it describes, then the verb.
_APPOSITIVE_SUBJECT = re.compile(
    r"(?P<np>[^,]{3,60}), (?P<name>[A-Z][\w’'.-]*(?: [A-Z][\w’'.-]*){0,3}), (?P<rest>[a-z].*)"
)
# Where the main clause ends: a subordinate clause, an attribution, a second clause.
_CLAUSE_BREAK = re.compile(
    r"\s+(?:because|which|who|whom|whose|although|though|while|whereas|unless|so that|in order to)\s"
    r"|[,;:]\s+(?:and|but|or|yet|so|said|says|according to|as)\s"
    r"|\s*[;:]\s|\s+[—–]\s|\s+-\s"
)
_TRAILING_WHEN = re.compile(
    rf"(?:,?\s+(?:on|in|at|during|since|by)?\s*(?:{_WEEKDAY}{_DATE}|(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|\d{4}|(?:last|this|next) (?:week|month|year)|yesterday|today))+$",
    re.IGNORECASE,
)
_PHRASE_START = re.compile(r",\s|\s(?=(?:at|in|on|for|with|from|during|after|before|to|by|as|over|under|about)\s)")


def derive_title(sentence: str, *, max_chars: int = DERIVED_TITLE_MAX_CHARS) -> str:
    """A headline-like title from an article's first sentence, for articles that state none.

    The main clause of ``sentence``: a leading appositive folds into its name ("France's new president,
    Emmanuel Macron, hosted …" → "Emmanuel Macron hosted …"), the text from the first clause break on
    ("because …", ", said …", "; …", " — …") and a trailing date ("on May 29, 2017") are dropped. Beyond
    ``max_chars`` it is cut before the last phrase that fits (" at …", ", …"), or on a word boundary with "…".
    Pure and deterministic.

    Example:
        >>> derive_title("The visit is important because it embodies diplomacy.")
        'The visit is important'
    """
    text = " ".join(sentence.split()).rstrip(". ")
    apposed = _APPOSITIVE_SUBJECT.fullmatch(text)
    if apposed:
        text = f"{apposed.group('name')} {apposed.group('rest')}"
    for brk in _CLAUSE_BREAK.finditer(text):
        if len(text[: brk.start()].split()) >= 3:  # never cut down to a stub
            text = text[: brk.start()]
            break
    dated = _TRAILING_WHEN.search(text)
    if dated and len(text[: dated.start()].split()) >= 3:
        text = text[: dated.start()]
    text = text.rstrip(" ,;:—–-")
    if len(text) <= max_chars:
        return text
    fits = [m.start() for m in _PHRASE_START.finditer(text) if m.start() <= max_chars]
    fits = [i for i in fits if len(text[:i].split()) >= 4]
    if fits:
        return text[: fits[-1]].rstrip(" ,;:—–-")
    cut = text[: max_chars - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:—–-") + "…"


def _byline(head: list[str]) -> str | None:
    for line in head:
        match = _BYLINE.fullmatch(line.title() if line.isupper() else line)  # also "BY JOHN SMITH"
        if match:
            return _clean_name(match.group("name"))
    return None


def _signature(cleaned: str) -> str | None:
    """The author signed at the very end: a bulleted or dashed name ('• Tatiana Stanovaya'), a byline ('By Anna
    Holm') as the last line, or a name alone on the line above a bio that opens with it ('Abdul Ruff' / 'Dr. Abdul
    Ruff is an independent analyst; …')."""
    lines = [line.strip() for line in cleaned.split("\n") if line.strip()]
    if not lines:
        return None
    match = _SIGNATURE.fullmatch(lines[-1]) or _BYLINE.fullmatch(lines[-1])
    if match and 2 <= len(match.group("name").split()) <= 5:
        return _clean_name(match.group("name"))
    if len(lines) >= 2 and (named := re.fullmatch(_NAME, lines[-2])) and 2 <= len(named.group().split()) <= 5:
        name = _clean_name(named.group())
        if _HONORIFIC.sub("", lines[-1], count=1).startswith(name + " "):  # 'Dr. Abdul Ruff is …'
            return name
    return None


_HONORIFIC = re.compile(r"^(?:Dr|Prof|Mr|Mrs|Ms|Sir)\.?\s+")


def _clean_name(name: str) -> str:
    return _TRAILING_SMALL_WORDS.sub("", " ".join(name.split())).rstrip(".,")


def _dateline(head: list[str]) -> str | None:
    for line in head:
        candidates = [line]
        byline = _BYLINE.fullmatch(line)
        if byline and byline.group("rest"):
            candidates.append(byline.group("rest").strip())
        for candidate in candidates:
            match = _DATELINE.fullmatch(candidate)
            if match:
                iso = _iso_date(match)
                if iso:
                    return iso
    return None


def _iso_date(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    try:
        if groups["y1"]:
            day = dt.date(int(groups["y1"]), _MONTH_NUMBERS[groups["m1"][:3].lower()], int(groups["d1"]))
        elif groups["y2"]:
            day = dt.date(int(groups["y2"]), _MONTH_NUMBERS[groups["m2"][:3].lower()], int(groups["d2"]))
        else:
            day = dt.date(int(groups["y3"]), int(groups["m3"]), int(groups["d3"]))
    except ValueError:
        logger.debug("meta: %r looks like a date but is not one", match.group())
        return None
    return day.isoformat()


def _outlet(text: str) -> str | None:
    for pattern in _OUTLET_PATTERNS:
        match = pattern.search(text)
        if match:
            outlet = _TRAILING_SMALL_WORDS.sub("", match.group("o")).rstrip(".,;:")
            if outlet:
                return outlet
    return None
