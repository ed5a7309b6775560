"""Where the chat marks an answer's unsupported claims, and the markup of those marks and of a disagreement notice.

Pure functions, no Gradio. ``ui.render.render_answer`` splits the answer text at the end of every claim that
``Answer.claims`` says nothing supports and puts ``UNSUPPORTED_MARK`` there, so the "N claims are not supported
(marked ⚠)" line counts exactly the marks shown. While the answer streams, ``streaming_marks`` places the ⚠ of
each claim as soon as its verdict (a ``qa.CitedClaim`` event) arrives.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.cite import split_claims

NOT_SUPPORTED_LABEL = "not supported by the retrieved passages"

# role="img" with an aria-label: screen readers announce the label instead of "warning sign".
UNSUPPORTED_MARK = (
    f'<span class="cq-claim-unsupported" role="img" aria-label="{NOT_SUPPORTED_LABEL}" '
    f'title="{NOT_SUPPORTED_LABEL}">\u26a0</span>'
)


class _ClaimLike(Protocol):
    @property
    def end(self) -> int: ...
    @property
    def supported(self) -> bool: ...


def split_at_unsupported(text: str, claims: Sequence[_ClaimLike] | None) -> list[tuple[str, bool]]:
    """``text`` cut after every unsupported claim: ``(segment, marked)`` pairs whose segments join to ``text``.

    ``marked`` is True when a ⚠ goes right after that segment. Claim ends outside ``text`` are ignored (a claim
    list that does not belong to this text marks nothing rather than the wrong place).
    """
    ends = sorted({c.end for c in claims or () if not c.supported and 0 < c.end <= len(text)})
    out: list[tuple[str, bool]] = []
    pos = 0
    for end in ends:
        out.append((text[pos:end], True))
        pos = end
    if pos < len(text) or not out:
        out.append((text[pos:], False))
    return out


class _CheckedLike(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def supported(self) -> bool: ...


@dataclass(frozen=True)
class StreamMark:
    """Where a claim of an answer still being written ends in its text, and its verdict (a ``_ClaimLike``)."""

    end: int
    supported: bool


def streaming_marks(text: str, checked: Sequence[_CheckedLike]) -> list[StreamMark]:
    """The claims of ``text`` (an answer still streaming, the model's markers in it) that ``checked`` (the
    ``qa.CitedClaim`` events so far) gave a verdict, with their ends in ``text``: ``split_at_unsupported`` then puts
    a ⚠ after each unsupported one as soon as its verdict arrives.

    Event ``index`` i is claim i of the text (``qa.cite.split_claims``, the split the answer path checks); a
    verdict whose claim is not (or no longer) in the text marks nothing.
    """
    claims = split_claims(text)
    return [StreamMark(claims[c.index].end, c.supported) for c in checked if 0 <= c.index < len(claims)]


def disagreement_note(said: str) -> str:
    """The notice shown when the model refused although a retrieved sentence answers (``Answer.disagreement``)."""
    quoted = html.escape(said.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), quote=True)
    return (
        '<div class="cq-disagreement-note" role="note">\u26a0 The model said \u201c'
        f"{quoted}\u201d, although a retrieved sentence appears to answer: the evidence is shown with its source."
        "</div>"
    )
