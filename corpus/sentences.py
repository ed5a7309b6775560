"""Sentence splitting by rules (no NLP model): spans into the text, so every sentence is citable verbatim.

The splitter works in two passes:

1. *Hard breaks* that always end a sentence: a blank line, the end of a heading-like line (a short line
   without terminal punctuation followed by a line that starts a new thought), and the start of a bullet.
2. *Soft breaks* inside each block: terminal punctuation (``. ! ? …``), optionally followed by closing
   quotes or brackets and footnote markers, then whitespace and a character that can start a sentence.
   A period never ends a sentence after a title (``Dr.``, ``Gen.``), ``e.g.``/``i.e.``, or a month before a
   number (``Nov. 26``). After a single initial (``J. Smith``), a dotted acronym (``U.S.``) or a company or
   name suffix (``Inc.``, ``Jr.``) it ends one only when a typical sentence opener follows (``the U.S. The``).

Every non-whitespace character of the text belongs to exactly one sentence, so the gaps between
consecutive spans are whitespace only. No sentence is longer than :data:`MAX_SENTENCE_CHARS`: a longer run
without a sentence end (a table flattened to one line, a file of dots) is cut at its last whitespace before
the limit, or at the limit when there is none, so that everything downstream (token counting, chunking,
quoting) handles pieces of bounded size, in time linear in the text.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

# Abbreviations (lower case, without the final period).
# Titles and name prefixes: the next word is a name, so the period never ends a sentence.
_TITLES = frozenset(
    "mr mrs ms messrs mme mlle dr prof gen gens col lt sgt capt cmdr cdr adm maj brig gov sen sens rep reps "
    "rev hon pres supt insp st ste mt ft fr sra srta".split()
)
# Often inside a sentence ("Apple Inc. said"), but can end one: a break only before a typical opener.
_AMBIGUOUS = frozenset("jr sr inc ltd co corp bros plc llc".split())
# Never the last word of a sentence.
_NEVER_FINAL = frozenset("e.g i.e cf vs viz approx ca esp incl".split())
# Abbreviations usually followed by a number: ``Nov. 26``, ``No. 5``, ``pp. 12``.
_BEFORE_NUMBER = frozenset(
    "jan feb mar apr jun jul aug sep sept oct nov dec no nos vol vols fig figs p pp ch chap sec art para op".split()
)
# Words that typically open a sentence; after an ambiguous abbreviation (``U.S.``) they signal a break.
_OPENERS = frozenset(
    "a an the this that these those it its he she they we i you his her their our my there here "
    "but and or so yet however meanwhile moreover still then thus therefore in on at as after before "
    "when while if since although though because for from with by to what who why how where which "
    "some many most all no not one two three several each both".split()
)

_TERMINAL = re.compile(r"(?:\.{2,}|…|[.!?])+")
_CLOSERS = "\"'”’»)]}"
_FOOTNOTE = re.compile(r"(?:\[\d{1,3}\])+")
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")
_BULLET = re.compile(r"[^\S\n]*(?:[•·▪‣◦●○■□*+-]|\d{1,3}[.)])[^\S\n]+")
_LEADING_PUNCT = "([{“\"'‘«"
_LOOK_BACK = 80
_LINE_END_PUNCT = ".!?…:;,"
_OPENING_CHARS = "“\"‘'([«¿¡#"
_SPACE_RUN = re.compile(r"\s+")

MAX_SENTENCE_CHARS = 2000
"""Longest sentence span (characters). Real sentences stay far below it (the bundled articles' longest is
under 500); a longer run is cut, preferably at whitespace in the second half of the window."""


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentences.

    Args:
        text: any text (normally an article's cleaned text).

    Returns:
        ``(start, end)`` character spans into ``text``, in order, non-overlapping, each trimmed of
        surrounding whitespace, non-empty and at most :data:`MAX_SENTENCE_CHARS` long. Together they
        cover every non-whitespace character.

    Example:
        >>> t = "U.S. President Barack Obama spoke on Nov. 26. Then he left."
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['U.S. President Barack Obama spoke on Nov. 26.', 'Then he left.']
    """
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        cut = block_start
        for boundary in _soft_breaks(text, block_start, block_end):
            _append_trimmed(text, cut, boundary, spans)
            cut = boundary
        _append_trimmed(text, cut, block_end, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE_CHARS:  # too long for a sentence: cut (see MAX_SENTENCE_CHARS)
        limit = start + MAX_SENTENCE_CHARS
        runs = list(_SPACE_RUN.finditer(text, start + MAX_SENTENCE_CHARS // 2, limit + 1))
        space = runs[-1] if runs else None  # the last whitespace run that starts within the window
        if space is not None:
            cut = space.start()
            while text[cut - 1].isspace():  # the run may have begun before the window
                cut -= 1
            spans.append((start, cut))
            start = space.end()
            while text[start].isspace():  # ... or go on after it
                start += 1
        else:
            spans.append((start, limit))
            start = limit
    if start < end:
        spans.append((start, end))


def _blocks(text: str) -> list[tuple[int, int]]:
    """Stretches of text separated by hard breaks (blank lines, heading-like line ends, bullets)."""
    blocks: list[tuple[int, int]] = []
    pos = 0
    for match in _BLANK_LINE.finditer(text):
        blocks.extend(_line_blocks(text, pos, match.start()))
        pos = match.end()
    blocks.extend(_line_blocks(text, pos, len(text)))
    return blocks


def _line_blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one paragraph at the line ends that close a sentence even without punctuation."""
    lines: list[tuple[int, int]] = []
    pos = start
    while pos <= end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        lines.append((pos, stop))
        if nl < 0:
            break
        pos = nl + 1
    if len(lines) == 1:
        return [(start, end)]
    longest = max(len(text[a:b].strip()) for a, b in lines)
    blocks: list[tuple[int, int]] = []
    block_start = start
    for (a, b), (next_a, next_b) in zip(lines, lines[1:], strict=False):
        if _is_line_break(text[a:b], text[next_a:next_b], longest):
            blocks.append((block_start, b))
            block_start = next_a
    blocks.append((block_start, end))
    return blocks


def _is_line_break(line: str, next_line: str, longest: int) -> bool:
    """Whether the single newline between ``line`` and ``next_line`` ends a sentence."""
    if _BULLET.match(next_line) or next_line.lstrip().startswith("#"):
        return True
    stripped = line.strip()
    if not stripped:
        return True
    if stripped.startswith("#"):  # a Markdown heading
        return True
    if stripped.rstrip(_CLOSERS).endswith(tuple(_LINE_END_PUNCT)) or stripped.endswith(("-", "–", "—", "&", "(")):
        # Terminal punctuation is handled by the soft-break rules; the others continue on the next line.
        return False
    first = next_line.lstrip()[:1]
    if not first or not (first.isupper() or first.isdigit() or first in _OPENING_CHARS):
        return False
    # Heading-like: clearly shorter than the paragraph's full lines (hard-wrapped prose fills its lines).
    return len(stripped) <= max(40, 0.6 * longest) and len(stripped.split()) <= 15


def _soft_breaks(text: str, start: int, end: int) -> list[int]:
    """Offsets inside ``text[start:end]`` where one sentence ends and the next begins."""
    breaks: list[int] = []
    for match in _TERMINAL.finditer(text, start, end):
        pos = match.end()
        while pos < end and text[pos] in _CLOSERS:
            pos += 1
        footnote = _FOOTNOTE.match(text, pos, end)
        if footnote:
            pos = footnote.end()
        if pos >= end or not text[pos].isspace():
            continue  # "3.5", "U.S.", "Daesh…”," — no whitespace, no break
        nxt = pos
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt >= end:
            continue
        if _ends_sentence(text, start, match, text[nxt : min(end, nxt + _LOOK_BACK)]):
            breaks.append(pos)
    return breaks


def _ends_sentence(text: str, block_start: int, match: re.Match[str], following: str) -> bool:
    """Decide a candidate boundary at ``match`` (terminal punctuation) given the text that follows."""
    first = following[0]
    if first.islower() or first in ",;:)]}%":
        return False
    punct = match.group()
    if punct != ".":
        return True  # ? ! … and "..." before a capital
    # Only the word before the period matters; a bounded look-back keeps long blocks linear.
    look_from = max(block_start, match.start() - _LOOK_BACK)
    before = text[look_from : match.start()]
    token = before.rsplit(None, 1)[-1] if before.strip() else ""
    if before[-1:].isspace():
        token = ""  # a period after a space, e.g. " ." — not an abbreviation
    word = token.lstrip(_LEADING_PUNCT)
    lower = word.lower()
    if lower in _TITLES or lower in _NEVER_FINAL:
        return False
    if lower in _BEFORE_NUMBER and first.isdigit():
        return False
    if (len(word) == 1 and word.isupper()) or _DOTTED_ACRONYM.match(word) or lower in _AMBIGUOUS:
        # "J. Smith", "U.S. President", "Apple Inc. said" — but "World War I. It ended", "the U.S. The move"
        next_word = re.match(r"[\w’']+", following)
        return next_word is not None and next_word.group().lower() in _OPENERS
    prefix = before[: len(before) - len(token)]
    at_line_start = ("\n" in prefix or look_from == block_start) and not prefix.rsplit("\n", 1)[-1].strip()
    if word.isdigit() and len(word) <= 3 and at_line_start and not _FOOTNOTE.match(following):
        return False  # list numbering at the start of a line: "1. First point" (not "28. [1]", a cited number)
    return True
