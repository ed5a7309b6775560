"""What an answer says when the articles give different values for the same thing, in a form the support check
verifies value by value.

The extractive answer opens with one sentence naming every value, each cited to the article that gives it::

    The articles differ: one says the Palace of Versailles [1]; another says Paris [2].

The framing words ("the articles differ", "one says") are not in any source, so the sentence cannot be checked like
other claims (its words against one quote). ``qa.cite`` reads it with :func:`values` instead: the claim holds only
when the values differ from one another and each value stands verbatim in the quote its own marker cites, from
different articles. Nothing else in the sentence is asserted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qa import lexical

if TYPE_CHECKING:
    from qa.evidence import Sentence

OPENING = "The articles differ: "
_PART = re.compile(r"(?:one|another) says (?P<value>[^;\[\]]+?) \[(?P<n>\d+)\]")


def sentence(values: Sequence[tuple[str, int]]) -> str:
    """The sentence stating the values, each with its marker: 'The articles differ: one says A [1]; another says
    B [2].' (``values`` is (value, marker number) pairs, at least two, in the order to state them)."""
    if len(values) < 2:
        raise ValueError("a disagreement needs at least two values")
    parts = [f"{'one' if i == 0 else 'another'} says {v.strip()} [{n}]" for i, (v, n) in enumerate(values)]
    return OPENING + "; ".join(parts) + "."


def values(raw_claim: str) -> dict[int, str] | None:
    """Marker number → value of a disagreement sentence as :func:`sentence` writes it (with its markers), or None
    when ``raw_claim`` is not one: not that form, fewer than two values, a marker used twice, or two values that are
    the same words (then the articles do not differ)."""
    text = raw_claim.strip()
    if not text.startswith(OPENING):
        return None
    body = text[len(OPENING):].rstrip(".").rstrip()
    pieces = [p.strip() for p in body.split(";")]
    found: dict[int, str] = {}
    for piece in pieces:
        m = _PART.fullmatch(piece)
        if m is None or int(m.group("n")) in found:
            return None
        found[int(m.group("n"))] = m.group("value")
    folded = {" ".join(lexical.words(v)) for v in found.values()}
    return found if len(found) >= 2 and len(folded) == len(found) else None


def checked_values(raw_claim: str, doc_of: Callable[[int], str | None]) -> dict[int, str] | None:
    """For a claim in the disagreement form (``OPENING``): marker number → value when :func:`values` reads it and
    its markers cite different articles (``doc_of``: marker → the cited chunk's article, None when out of range);
    an empty dict when it has the form but not that (nothing then supports it); None for any other claim."""
    if not raw_claim.strip().startswith(OPENING):
        return None
    found = values(raw_claim)
    if found is None:
        return {}
    docs = [doc_of(n) for n in found]
    return found if None not in docs and len(set(docs)) == len(docs) else {}


def quote_for(value: str | None, cands: Sequence[Sentence], preferred: Sequence[int], fallback: int
              ) -> tuple[int, bool]:
    """Which of a cited chunk's candidate quotes backs one value of a disagreement sentence, and whether it does:
    a quote that holds the value verbatim, the one a later claim citing the same chunk is quoted from when it holds
    it (``preferred``: candidate indices), else the first that does. ``fallback`` (not supported) when none does."""
    if not value:
        return fallback, False
    said = " ".join(value.split())
    holding = [k for k, c in enumerate(cands) if said in " ".join(c.text.split())]
    for k in preferred:
        if k in holding:
            return k, True
    return (holding[0], True) if holding else (fallback, False)
