"""Records of the generation stage: what ``answer()`` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from embeddings.types import Hit


@dataclass(frozen=True)
class Citation:
    """Marker ``[n]`` in ``Answer.text``: an exact span of a source article.

    ``article.text[start:end] == quote`` always holds. ``supported`` is True when the claim it backs passed
    the support check, False when it failed, None when not checked.
    """

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    supported: bool | None = None


@dataclass(frozen=True)
class ShortAnswer:
    """The answer in a few words (a name, number, date or place): an exact span of a source article.

    ``article.text[start:end] == text``; it lies inside the quote of the citation its marker in ``Answer.text``
    names.
    """

    text: str
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """An answer grounded in retrieved chunks.

    Attributes:
        text: the answer with inline markers [1], [2] … indexing ``citations`` (1-based ``n``).
        citations: one per marker.
        chunks: retrieved chunks in rank order.
        refused: True when the articles do not contain the answer; ``text`` then says so.
        query: the standalone query actually searched.
        backend: which generator answered ('extractive', 'openai').
        question: the question as asked.
        unsupported: number of claims whose citation failed the support check or that cite nothing.
        timings_ms: time spent per stage.
        short_answer: the answer in a few words with its exact offsets, stated first in ``text``; None when the
            answer is not a short span (or refused).
        confidence: the generator's score for answering, which it compares with its refusal threshold (None when
            the generator reports none); refusals for want of an answer of the asked kind report the score too.
    """

    text: str
    citations: list[Citation]
    chunks: list[Hit]
    refused: bool
    query: str
    backend: str
    question: str = ""
    unsupported: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    short_answer: ShortAnswer | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Retrieved:
    """An event of ``QA.events``: retrieval is done, before the generator writes anything.

    Attributes:
        query: the standalone query that was searched.
        hits: the retrieved chunks in rank order (``[n]`` in the answer will mean ``hits[n - 1]``).
    """

    query: str
    hits: list[Hit]
