"""Sentence-aware chunking: whole sentences packed up to a token budget, with whole-sentence overlap.

Token counts come from the caller (the embedding model's tokenizer, special tokens included), and are
taken once per sentence and added up: a chunk of sentences ``s1 … sn`` costs
``special + Σ (count(si) - special)`` where ``special = count_tokens("")`` (e.g. 2 for [CLS] and [SEP]).
Because a chunk may never exceed the model limit (the model would silently truncate it, and the cut-off
words could never be retrieved), every finished chunk is counted once more exactly and split further in
the rare case that the estimate was short.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from corpus.sentences import MAX_SENTENCE_CHARS, split_sentences
from corpus.types import Article, Chunk

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\S+")

MAX_CHUNK_CHARS = 4 * MAX_SENTENCE_CHARS
"""Longest chunk span (characters), whatever its token count: text the tokenizer reduces to almost nothing
(runs of combining marks, words it maps to one unknown token, long whitespace gaps) must not pile up into one
huge chunk, which would be counted and stored in full. Prose reaches the token budget long before."""
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def chunk_article(
    article: Article,
    *,
    count_tokens: Callable[[str], int],
    size: int,
    overlap: int,
    max_tokens: int,
) -> list[Chunk]:
    """Cut an article into overlapping chunks of whole sentences.

    Sentences are packed into a chunk while it stays within ``size`` tokens. A new chunk starts early at a
    paragraph boundary once the current one is at least half full. Consecutive chunks share whole trailing
    sentences worth at most ``overlap`` tokens. A sentence longer than ``max_tokens`` is split at word
    boundaries (a single word longer than that, at characters) into pieces of at most ``size`` tokens.
    A chunk spans at most :data:`MAX_CHUNK_CHARS` characters. Time is linear in the text and every string
    handed to ``count_tokens`` is bounded (sentences are at most ``MAX_SENTENCE_CHARS`` long), so any
    input, e.g. megabytes of ``"."``, chunks in seconds and in bounded memory.

    Args:
        article: the article; offsets index ``article.text``.
        count_tokens: the embedding tokenizer's token count of a string, special tokens included.
            Called about once per sentence plus once per chunk (results are cached).
        size: target chunk size in tokens (at most ``max_tokens`` is used).
        overlap: tokens of whole sentences repeated from the end of one chunk at the start of the next.
        max_tokens: hard limit per chunk (the model's maximum sequence length, 256 for all-MiniLM-L6-v2).

    Returns:
        Chunks in text order. Each satisfies ``article.text[c.start:c.end] == c.text``, has no leading or
        trailing whitespace and counts at most ``max_tokens``; together they cover every sentence.

    Raises:
        ValueError: for a non-positive ``size``, a negative ``overlap``, or a ``max_tokens`` that leaves no
            room beside the tokenizer's special tokens.

    Example:
        >>> art = Article(doc_id="a.txt", title="A", text="One two. Three four. Five six.")
        >>> [c.text for c in chunk_article(art, count_tokens=lambda s: len(s.split()), size=4, overlap=2,
        ...                                max_tokens=8)]
        ['One two. Three four.', 'Three four. Five six.']
    """
    cache: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in cache:
            cache[text] = count_tokens(text)
        return cache[text]

    special = count("")
    if size < 1 or overlap < 0:
        raise ValueError(f"chunk size must be >= 1 and overlap >= 0, got size={size}, overlap={overlap}")
    if max_tokens <= special:
        raise ValueError(f"max_tokens={max_tokens} leaves no room beside {special} special tokens")
    budget = max(min(size, max_tokens), special + 1)
    text = article.text

    units: list[tuple[int, int]] = []
    costs: list[int] = []
    for start, end in split_sentences(text):
        if count(text[start:end]) <= max_tokens:
            pieces = [(start, end)]
        else:
            pieces = _split_span(text, start, end, budget, count)
            logger.debug("chunk: %s: split a %d-char sentence into %d pieces", article.doc_id, end - start, len(pieces))
        for piece in pieces:
            units.append(piece)
            costs.append(max(count(text[piece[0] : piece[1]]) - special, 0))
    if not units:
        return []
    para_break = [False] + [bool(_BLANK_LINE.search(text, units[k - 1][1], units[k][0])) for k in range(1, len(units))]

    chunks: list[Chunk] = []
    for first, last in _pack(units, costs, para_break, budget=budget, overlap=overlap, special=special):
        spans = [(units[first][0], units[last - 1][1])]
        if count(text[spans[0][0] : spans[0][1]]) > max_tokens:  # the per-sentence estimate fell short
            spans = _refit(text, units[first:last], max_tokens, count)
            logger.debug("chunk: %s: re-split an over-long chunk into %d", article.doc_id, len(spans))
        chunks.extend(Chunk(doc_id=article.doc_id, start=s, end=e, text=text[s:e]) for s, e in spans)
    # A re-split chunk can reach past the start of the next (overlapping) one: keep text order, no repeats.
    return sorted(set(chunks), key=lambda c: (c.start, c.end))


def _pack(
    units: list[tuple[int, int]], costs: list[int], para_break: list[bool], *, budget: int, overlap: int, special: int
) -> list[tuple[int, int]]:
    """Group units into ``[first, last)`` index ranges (see :func:`chunk_article` for the rules); a range
    spans at most :data:`MAX_CHUNK_CHARS` characters unless its first new unit alone is longer."""
    ranges: list[tuple[int, int]] = []
    first, must = 0, 0  # ``must``: the first unit not yet in any chunk; every chunk takes it
    n = len(costs)
    remaining = [0] * (n + 1)  # remaining[k]: cost of units k… to the end
    for k in range(n - 1, -1, -1):
        remaining[k] = remaining[k + 1] + costs[k]
    while first < n:
        last, total = first, special
        while last < n:
            if last > must:
                if total + costs[last] > budget or units[last][1] - units[first][0] > MAX_CHUNK_CHARS:
                    break
                if para_break[last] and 2 * (total - special) >= budget - special and total + remaining[last] > budget:
                    break  # at least half full: start the next chunk at this paragraph (unless the rest fits here)
            total += costs[last]
            last += 1
        ranges.append((first, last))
        if last >= n:
            break
        # Whole trailing sentences of this chunk open the next one, leaving room for its first new unit.
        start, carried = last, 0
        while (
            start - 1 > first
            and carried + costs[start - 1] <= overlap
            and special + carried + costs[start - 1] + costs[last] <= budget
            and units[last][1] - units[start - 1][0] <= MAX_CHUNK_CHARS
        ):
            start -= 1
            carried += costs[start]
        first, must = start, last
    return ranges


def _refit(text: str, units: list[tuple[int, int]], limit: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Regroup consecutive units so that each group's exact count is within ``limit`` (every single unit
    already fits). The search starts from all remaining units: a chunk is re-split only when its estimate fell
    a little short, so the first group is usually all of it but a unit or two."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        first = units[i][0]
        take = _longest_fit(
            lambda k: count(text[first : units[i + k - 1][1]]) <= limit,  # noqa: B023 — called right here
            most=len(units) - i,
            guess=len(units) - i,
        )
        spans.append((first, units[i + take - 1][1]))
        i += take
    return spans


def _split_span(text: str, start: int, end: int, limit: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` at word boundaries into pieces counting at most ``limit`` each (each piece as
    long as the search finds); a single word over the limit is split between characters.

    Every probe counts only the piece being grown, and the search starts from the previous piece's length,
    so the work is proportional to the span (not to its square) whatever the text: a run of one-character
    tokens (``"....."``) costs a few tokenizer calls per piece.
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    pieces: list[tuple[int, int]] = []
    w, guess = 0, 1
    while w < len(words):
        if count(text[words[w][0] : words[w][1]]) > limit:
            pieces.extend(_split_word(text, *words[w], limit, count))
            w += 1
            continue
        first = words[w][0]
        take = _longest_fit(
            lambda k: count(text[first : words[w + k - 1][1]]) <= limit,  # noqa: B023 — called right here
            most=min(len(words) - w, limit),  # a word costs at least one token
            guess=guess,
        )
        pieces.append((first, words[w + take - 1][1]))
        w += take
        guess = take
    return pieces


def _split_word(text: str, start: int, end: int, limit: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Split one word between characters into pieces counting at most ``limit`` each."""
    pieces: list[tuple[int, int]] = []
    guess = 1
    while start < end:
        first = start
        take = _longest_fit(lambda k: count(text[first : first + k]) <= limit, most=end - start, guess=guess)  # noqa: B023
        pieces.append((start, start + take))
        start += take
        guess = take
    return pieces


def _longest_fit(fits: Callable[[int], bool], *, most: int, guess: int) -> int:
    """The largest ``k`` in ``1..most`` found with ``fits(k)`` true (``fits(1)`` is taken as true): the one
    search behind every split of this module (words of a sentence, characters of a word, units of a chunk).

    Exponential search from ``guess`` (up while it fits, down while it does not), then bisection between the
    last size that fitted and the first that did not. With a guess near the answer this costs a couple of
    probes; at worst ``O(log k)`` probes, each no larger than twice the answer (plus the guess), so growing
    pieces one after another over a long span stays linear in its length.
    """
    if most <= 1:
        return 1
    k = min(max(guess, 1), most)
    if k > 1 and not fits(k):
        hi, step = k, 1  # hi: known not to fit
        lo = 1
        while True:
            probe = k - step
            if probe <= 1:
                break
            if fits(probe):
                lo = probe
                break
            hi, step = probe, step * 2
    else:
        lo, step = k, 1  # lo: known to fit
        hi = most + 1
        while lo < most:
            probe = min(lo + step, most)
            if not fits(probe):
                hi = probe
                break
            lo, step = probe, step * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo
